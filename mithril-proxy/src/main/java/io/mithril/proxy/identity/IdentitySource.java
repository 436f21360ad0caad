package io.mithril.proxy.identity;

import java.util.function.Consumer;

/**
 * Where a proxy's identity comes from. The real one watches the SPIFFE Workload API; tests build
 * one from certificates they mint. Implementations are thread-safe.
 */
public interface IdentitySource extends AutoCloseable {

    /** The current identity, or null while there is none yet (the proxy is then not ready). */
    Identity current();

    /**
     * Calls {@code listener} with every new identity (rotation, bundle change), and at once with
     * the current one if there is one.
     */
    void addListener(Consumer<Identity> listener);

    @Override
    void close();
}
