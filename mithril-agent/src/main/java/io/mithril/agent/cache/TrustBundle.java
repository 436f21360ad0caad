package io.mithril.agent.cache;

import io.mithril.spiffe.id.TrustDomain;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.io.ByteArrayOutputStream;
import java.util.List;

/** The trust bundle of one trust domain: its X.509 roots and JWT signing keys. Immutable. */
public record TrustBundle(TrustDomain trustDomain, List<X509Certificate> x509Authorities,
                          List<JwtAuthority> jwtAuthorities, long sequenceNumber, long refreshHint) {

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
}
