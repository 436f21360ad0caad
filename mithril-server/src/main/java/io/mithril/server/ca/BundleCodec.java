package io.mithril.server.ca;

import com.google.protobuf.ByteString;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.JwtKey;
import io.mithril.pki.Certificates;
import io.mithril.spiffe.id.TrustDomain;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts between the wire/storage form of a bundle ({@code mithril.types.v1.Bundle}) and {@link
 * TrustBundle}.
 */
public final class BundleCodec {

    private BundleCodec() {}

    public static TrustBundle fromProto(Bundle b) {
        List<X509Certificate> roots = new ArrayList<>();
        for (ByteString der : b.getX509AuthoritiesList()) {
            roots.addAll(Certificates.parseDer(der.toByteArray()));
        }
        List<TrustBundle.JwtAuthority> jwt = new ArrayList<>();
        for (JwtKey k : b.getJwtAuthoritiesList()) {
            jwt.add(
                    new TrustBundle.JwtAuthority(
                            k.getKeyId(),
                            publicKey(k.getPublicKey().toByteArray()),
                            Instant.ofEpochSecond(k.getExpiresAt())));
        }
        return new TrustBundle(
                TrustDomain.parse(b.getTrustDomain()),
                roots,
                jwt,
                b.getSequenceNumber(),
                b.getRefreshHint());
    }

    public static Bundle toProto(TrustBundle t) {
        Bundle.Builder b =
                Bundle.newBuilder()
                        .setTrustDomain(t.trustDomain().name())
                        .setSequenceNumber(t.sequenceNumber())
                        .setRefreshHint(t.refreshHintSeconds());
        for (X509Certificate c : t.x509Authorities()) {
            try {
                b.addX509Authorities(ByteString.copyFrom(c.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
        }
        for (TrustBundle.JwtAuthority a : t.jwtAuthorities()) {
            b.addJwtAuthorities(
                    JwtKey.newBuilder()
                            .setKeyId(a.keyId())
                            .setPublicKey(ByteString.copyFrom(a.publicKey().getEncoded()))
                            .setExpiresAt(
                                    a.expiresAt() == null ? 0 : a.expiresAt().getEpochSecond()));
        }
        return b.build();
    }

    /** Parses a PKIX (SubjectPublicKeyInfo) DER public key, EC or RSA. */
    public static PublicKey publicKey(byte[] spki) {
        for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePublic(new X509EncodedKeySpec(spki));
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new IllegalArgumentException(
                "JWT authority public key is not an EC, RSA or Ed25519 SubjectPublicKeyInfo");
    }
}
