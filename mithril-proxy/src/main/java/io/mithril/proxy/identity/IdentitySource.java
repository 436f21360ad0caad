package io.mithril.proxy.identity;

import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.BundleSource;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.svid.X509Svid;
import java.util.function.Consumer;

/**
 * Where a proxy's identity comes from. The real one watches the SPIFFE Workload API; tests build
 * one from certificates they mint. Implementations are thread-safe.
 *
 * <p>It is the SPIFFE library's {@link io.mithril.spiffe.svid.IdentitySource} (the one identity
 * source type; the control plane serves with one) with change listeners on top.
 */
public interface IdentitySource extends io.mithril.spiffe.svid.IdentitySource, AutoCloseable {

    /** The current identity, or null while there is none yet (the proxy is then not ready). */
    Identity current();

    /**
     * Calls {@code listener} with every new identity (rotation, bundle change), and at once with
     * the current one if there is one.
     */
    void addListener(Consumer<Identity> listener);

    /** The current identity's SVID, or null while there is none. */
    @Override
    default X509Svid svid() {
        Identity id = current();
        return id == null ? null : X509Svid.of(id.chain(), id.privateKey());
    }

    /** The current identity's bundles; none while there is no identity. */
    @Override
    default BundleSource<X509Bundle> bundles() {
        return td -> {
            Identity id = current();
            if (id == null) {
                throw new BundleNotFoundException(td);
            }
            return id.x509Bundles().bundleFor(td);
        };
    }

    @Override
    void close();
}
