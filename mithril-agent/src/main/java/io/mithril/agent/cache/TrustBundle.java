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

/** The trust bundle of one trust domain: its X.509 roots and JWT signing keys. Immutable. */
public record TrustBundle(
        TrustDomain trustDomain,
        List<X509Certificate> x509Authorities,
        List<JwtAuthority> jwtAuthorities,
        long sequenceNumber,
        long refreshHint) {

    public TrustBundle {
        x509Authorities = List.copyOf(x509Authorities);
        jwtAuthorities = List.copyOf(jwtAuthorities);
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
