package io.mithril.agent.cache;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;

/**
 * Which authorities of the own trust domain's bundle the server marked tainted (SPIRE's {@code
 * tainted} on bundle authorities): still trusted, but whatever they signed is to be replaced before
 * they are revoked. The bundle itself is a {@link io.mithril.spiffe.bundle.SpiffeBundle}, which the
 * SPIFFE bundle format gives no place for these marks; they travel beside it.
 *
 * @param x509Authorities tainted X.509 roots
 * @param jwtKeyIds key IDs of tainted JWT signing keys
 */
public record Taints(List<X509Certificate> x509Authorities, Set<String> jwtKeyIds) {

    /** Nothing tainted. */
    public static final Taints NONE = new Taints(List.of(), Set.of());

    public Taints {
        x509Authorities = List.copyOf(x509Authorities);
        jwtKeyIds = Set.copyOf(jwtKeyIds);
    }

    /**
     * Whether {@code chain} (leaf first, then intermediates) was signed by a tainted X.509
     * authority: one of its certificates is a tainted authority or was issued by one (checked by
     * its signature), as SPIRE's agent checks with {@code IsSignedByRoot}.
     */
    public boolean signedByTaintedAuthority(List<X509Certificate> chain) {
        for (X509Certificate tainted : x509Authorities) {
            for (X509Certificate c : chain) {
                if (c.equals(tainted)) {
                    return true;
                }
                if (c.getIssuerX500Principal().equals(tainted.getSubjectX500Principal())) {
                    try {
                        c.verify(tainted.getPublicKey());
                        return true;
                    } catch (java.security.GeneralSecurityException e) {
                        // same name, another key: not signed by this one
                    }
                }
            }
        }
        return false;
    }
}
