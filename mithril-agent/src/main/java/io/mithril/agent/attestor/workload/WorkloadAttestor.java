package io.mithril.agent.attestor.workload;

import io.mithril.api.selector.Selector;
import java.util.List;

/** Describes a Workload API caller with selectors, from facts the caller cannot forge. */
public interface WorkloadAttestor {

    /** The selector type this attestor produces ({@code unix}). */
    String type();

    /**
     * The caller's selectors.
     *
     * @throws WorkloadAttestationException if the caller's process cannot be examined, or is no
     *     longer the process that opened the connection
     */
    List<Selector> attest(Caller caller) throws WorkloadAttestationException;
}
