package io.mithril.agent.cache;

import io.mithril.spiffe.bundle.JwtBundle;
import io.mithril.spiffe.id.TrustDomain;
import java.io.ByteArrayOutputStream;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The trust bundle of one trust domain: its X.509 roots and JWT signing keys, and which of them the
 * server marked tainted (still trusted, but whatever they signed is to be replaced). Immutable.
 */
public record TrustBundle(
        TrustDomain trustDomain,
        List<X509Certificate> x509Authorities,
        List<JwtAuthority> jwtAuthorities,
        long sequenceNumber,
        long refreshHint,
        List<X509Certificate> taintedX509Authorities,
        Set<String> taintedJwtKeyIds) {

    public TrustBundle {
        x509Authorities = List.copyOf(x509Authorities);
        jwtAuthorities = List.copyOf(jwtAuthorities);
        taintedX509Authorities = List.copyOf(taintedX509Authorities);
        taintedJwtKeyIds = Set.copyOf(taintedJwtKeyIds);
    }

    /** A bundle with nothing tainted. */
    public TrustBundle(
            TrustDomain trustDomain,
            List<X509Certificate> x509Authorities,
            List<JwtAuthority> jwtAuthorities,
            long sequenceNumber,
            long refreshHint) {
        this(
                trustDomain,
                x509Authorities,
                jwtAuthorities,
                sequenceNumber,
                refreshHint,
                List.of(),
                Set.of());
    }

    /**
     * Whether {@code chain} (leaf first, then intermediates) was signed by a tainted X.509
     * authority: one of its certificates is a tainted authority or was issued by one (checked by
     * its signature), as SPIRE's agent checks with {@code IsSignedByRoot}.
     */
    public boolean signedByTaintedAuthority(List<X509Certificate> chain) {
        for (X509Certificate tainted : taintedX509Authorities) {
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

    /** The X.509 roots as concatenated DER, the Workload API's {@code bundle} encoding. */
    public byte[] x509Der() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (X509Certificate c : x509Authorities) {
            try {
                out.writeBytes(c.getEncoded());
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException("cannot encode a root of " + trustDomain, e);
            }
        }
        return out.toByteArray();
    }

    /**
     * The JWT authorities as the SPIFFE library's bundle, the one {@code JwtSvid} validates
     * against. An authority without a key ID is left out: a SPIFFE bundle cannot carry it.
     */
    public JwtBundle jwtBundle() {
        Map<String, PublicKey> keys = new LinkedHashMap<>();
        for (JwtAuthority a : jwtAuthorities) {
            if (a.keyId() != null && !a.keyId().isEmpty()) {
                keys.put(a.keyId(), a.publicKey());
            }
        }
        return JwtBundle.of(trustDomain, keys);
    }
}
