package io.mithril.server.ca;

import io.mithril.spiffe.bundle.SpiffeBundle;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.TrustDomain;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The trust bundle of one trust domain as the server holds it: X.509 authorities (roots) and JWT
 * authorities (signing keys with their key IDs), with SPIFFE's sequence number and refresh hint.
 *
 * @param trustDomain whose bundle this is
 * @param x509Authorities root certificates, oldest first
 * @param jwtAuthorities JWT-SVID signing keys
 * @param sequenceNumber incremented on every change
 * @param refreshHintSeconds how often consumers should re-fetch
 */
public record TrustBundle(
        TrustDomain trustDomain,
        List<X509Certificate> x509Authorities,
        List<JwtAuthority> jwtAuthorities,
        long sequenceNumber,
        long refreshHintSeconds) {

    public TrustBundle {
        x509Authorities = List.copyOf(x509Authorities);
        jwtAuthorities = List.copyOf(jwtAuthorities);
    }

    /** A JWT-SVID signing key published in the bundle. */
    public record JwtAuthority(String keyId, PublicKey publicKey, Instant expiresAt) {}

    /**
     * The X.509 authorities as the SPIFFE library's bundle (a {@code BundleSource} for validators).
     */
    public X509Bundle x509Bundle() {
        return X509Bundle.of(trustDomain, x509Authorities);
    }

    /** The X.509 authorities as concatenated PEM {@code CERTIFICATE} blocks. */
    public String toPem() {
        StringBuilder sb = new StringBuilder();
        for (X509Certificate c : x509Authorities) {
            sb.append(pem(c));
        }
        return sb.toString();
    }

    /** One certificate as a PEM block. */
    public static String pem(X509Certificate c) {
        try {
            String b64 =
                    Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(c.getEncoded());
            return "-----BEGIN CERTIFICATE-----\n" + b64 + "\n-----END CERTIFICATE-----\n";
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The bundle in the SPIFFE bundle format ({@link SpiffeBundle}): the X.509 and JWT authorities,
     * {@code spiffe_sequence} and {@code spiffe_refresh_hint}.
     */
    public SpiffeBundle toSpiffeBundle() {
        Map<String, PublicKey> jwt = new LinkedHashMap<>();
        for (JwtAuthority a : jwtAuthorities) {
            jwt.put(a.keyId(), a.publicKey());
        }
        return new SpiffeBundle(
                trustDomain,
                new LinkedHashSet<>(x509Authorities),
                jwt,
                OptionalLong.of(sequenceNumber),
                Optional.of(Duration.ofSeconds(refreshHintSeconds)));
    }

    /** A bundle from the SPIFFE bundle format; JWT authorities carry no expiry (null). */
    public static TrustBundle fromSpiffeBundle(SpiffeBundle b) {
        List<JwtAuthority> jwt = new ArrayList<>();
        b.jwtAuthorities().forEach((kid, key) -> jwt.add(new JwtAuthority(kid, key, null)));
        return new TrustBundle(
                b.trustDomain(),
                List.copyOf(b.x509Authorities()),
                jwt,
                b.sequenceNumber().orElse(0),
                b.refreshHint().map(Duration::getSeconds).orElse(0L));
    }

    /** {@link #toSpiffeBundle()} as its JSON document (JWKS). */
    public String toJwks() {
        return toSpiffeBundle().toJson();
    }

    /**
     * Parses a SPIFFE bundle (JWKS) with {@link SpiffeBundle#parse}.
     *
     * @throws io.mithril.spiffe.bundle.BundleException saying which key is malformed
     */
    public static TrustBundle fromJwks(TrustDomain td, String json) {
        return fromSpiffeBundle(SpiffeBundle.parse(td, json));
    }
}
