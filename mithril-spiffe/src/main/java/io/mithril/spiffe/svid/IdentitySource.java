package io.mithril.spiffe.svid;

import io.mithril.spiffe.bundle.BundleSource;
import io.mithril.spiffe.bundle.X509Bundle;
import java.util.Objects;

/**
 * Where a TLS endpoint gets its identity: its current X509-SVID and the X.509 bundles it validates
 * peers with (its own trust domain's and federated ones), the shape of java-spiffe's {@code
 * X509Source}. Both are read at every handshake, so a rotation applies to the next connection.
 *
 * <p>The one identity source type of the project: the control plane serves with one, the proxies'
 * sources are ones (with change listeners on top), and the Workload API client's {@code X509Source}
 * gives one ({@code X509Source.identity}). Implementations are thread-safe.
 */
public interface IdentitySource {

    /** The current SVID, or null when there is none (yet). */
    X509Svid svid();

    /** A live view of the bundles, own trust domain and federated ones. */
    BundleSource<X509Bundle> bundles();

    /** A fixed identity (tests, or files read once). */
    static IdentitySource of(X509Svid svid, BundleSource<X509Bundle> bundles) {
        Objects.requireNonNull(svid, "svid");
        Objects.requireNonNull(bundles, "bundles");
        return new IdentitySource() {
            @Override
            public X509Svid svid() {
                return svid;
            }

            @Override
            public BundleSource<X509Bundle> bundles() {
                return bundles;
            }
        };
    }
}
