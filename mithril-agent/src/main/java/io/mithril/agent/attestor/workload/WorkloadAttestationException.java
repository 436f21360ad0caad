package io.mithril.agent.attestor.workload;

/** The caller of the Workload API could not be attested; the message says why, with its pid. */
public final class WorkloadAttestationException extends Exception {
    private static final long serialVersionUID = 1L;

    public WorkloadAttestationException(String message) {
        super(message);
    }

    public WorkloadAttestationException(String message, Throwable cause) {
        super(message, cause);
    }
}
