package io.mithril.proxy.identity;

import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;

/**
 * What a proxy proves and trusts: its X509-SVID (Envoy's {@code default} secret: the chain, leaf
 * first, and the key) and the bundles by trust domain (Envoy's {@code ROOTCA}; several with
 * federation).
 */
public record Identity(
        SpiffeId spiffeId,
        List<X509Certificate> chain,
        PrivateKey privateKey,
        Map<TrustDomain, List<X509Certificate>> bundles) {
    public Identity {
        chain = List.copyOf(chain);
        bundles = Map.copyOf(bundles);
        if (chain.isEmpty()) {
            throw new IllegalArgumentException(
                    "SVID " + spiffeId + " has an empty certificate chain");
        }
    }

    /** The leaf certificate. */
    public X509Certificate leaf() {
        return chain.get(0);
    }

    /** The bundles as the SPIFFE library's bundle source, for peer validation. */
    public X509BundleSet x509Bundles() {
        return X509BundleSet.of(
                bundles.entrySet().stream()
                        .map(e -> X509Bundle.of(e.getKey(), e.getValue()))
                        .toList());
    }

    @Override
    public String toString() {
        return spiffeId
                + " (serial "
                + leaf().getSerialNumber().toString(16)
                + ", expires "
                + leaf().getNotAfter().toInstant()
                + ")";
    }
}
