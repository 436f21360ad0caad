package io.mithril.controlplane;

import io.mithril.api.workload.client.X509Context;
import io.mithril.api.workload.client.X509Source;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.BundleSource;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509Svid;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Where a control plane or a proxy gets its TLS identity: its current X509-SVID (Envoy's {@code
 * default} secret) and the X.509 bundles it validates peers with ({@code ROOTCA}). Both are read at
 * every TLS handshake, so rotations apply to new connections.
 */
public interface IdentitySource {

    /** The current SVID, or null when there is none (yet). */
    X509Svid svid();

    /** A live view of the bundles, own trust domain and federated ones. */
    BundleSource<X509Bundle> bundles();

    /** A fixed identity (tests, or files read once). */
    static IdentitySource of(X509Svid svid, X509BundleSet bundles) {
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

    /**
     * The default SVID and the bundles of a Workload API {@link X509Source}, always the latest the
     * agent sent.
     */
    static IdentitySource fromWorkloadApi(X509Source source) {
        return fromWorkloadApi(source, null);
    }

    /**
     * The SVID with ID {@code wanted} (the default SVID when {@code wanted} is null; null when the
     * agent does not send that ID) and the bundles of a Workload API {@link X509Source}, always the
     * latest the agent sent.
     */
    static IdentitySource fromWorkloadApi(X509Source source, io.mithril.spiffe.id.SpiffeId wanted) {
        Objects.requireNonNull(source, "source");
        return new IdentitySource() {
            @Override
            public X509Svid svid() {
                X509Context ctx = source.current();
                if (ctx == null) {
                    return null;
                }
                X509Context.Svid s =
                        wanted == null
                                ? ctx.defaultSvid()
                                : ctx.svids().stream()
                                        .filter(x -> x.spiffeId().equals(wanted))
                                        .findFirst()
                                        .orElse(null);
                return s == null ? null : X509Svid.of(s.chain(), s.privateKey(), s.hint());
            }

            @Override
            public BundleSource<X509Bundle> bundles() {
                return td -> {
                    X509Context ctx = source.current();
                    if (ctx == null) {
                        throw new BundleNotFoundException(td);
                    }
                    return bundleSet(ctx).bundleFor(td);
                };
            }
        };
    }

    private static X509BundleSet bundleSet(X509Context ctx) {
        List<X509Bundle> bundles = new ArrayList<>();
        for (Map.Entry<TrustDomain, List<java.security.cert.X509Certificate>> e :
                ctx.bundles().entrySet()) {
            bundles.add(X509Bundle.of(e.getKey(), e.getValue()));
        }
        return X509BundleSet.of(bundles);
    }
}
