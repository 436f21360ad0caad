package io.mithril.server.ca;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mithril.spiffe.bundle.Jwk;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.TrustDomain;
import java.math.BigInteger;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Base64;
import java.util.List;

/**
 * The trust bundle of one trust domain as the server holds it: X.509 authorities (roots) and
 * JWT authorities (signing keys with their key IDs), with SPIFFE's sequence number and refresh
 * hint.
 *
 * @param trustDomain whose bundle this is
 * @param x509Authorities root certificates, oldest first
 * @param jwtAuthorities JWT-SVID signing keys
 * @param sequenceNumber incremented on every change
 * @param refreshHintSeconds how often consumers should re-fetch
 */
public record TrustBundle(TrustDomain trustDomain, List<X509Certificate> x509Authorities,
                          List<JwtAuthority> jwtAuthorities, long sequenceNumber, long refreshHintSeconds) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public TrustBundle {
        x509Authorities = List.copyOf(x509Authorities);
        jwtAuthorities = List.copyOf(jwtAuthorities);
    }

    /** A JWT-SVID signing key published in the bundle. */
    public record JwtAuthority(String keyId, PublicKey publicKey, Instant expiresAt) {
    }

    /** The X.509 authorities as the SPIFFE library's bundle (a {@code BundleSource} for validators). */
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
            String b64 = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(c.getEncoded());
            return "-----BEGIN CERTIFICATE-----\n" + b64 + "\n-----END CERTIFICATE-----\n";
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The bundle as a SPIFFE bundle (JWKS): {@code x509-svid} keys with one certificate in
     * {@code x5c} and no {@code kid}, {@code jwt-svid} keys with their {@code kid},
     * {@code spiffe_sequence} and {@code spiffe_refresh_hint}.
     */
    public String toJwks() {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode keys = root.putArray("keys");
        Base64.Encoder b64 = Base64.getEncoder();
        for (X509Certificate c : x509Authorities) {
            ObjectNode k = Jwk.toJwk(c.getPublicKey());
            k.put("use", "x509-svid");
            try {
                k.putArray("x5c").add(b64.encodeToString(c.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
            keys.add(k);
        }
        for (JwtAuthority a : jwtAuthorities) {
            ObjectNode k = Jwk.toJwk(a.publicKey());
            k.put("kid", a.keyId());
            k.put("use", "jwt-svid");
            keys.add(k);
        }
        root.put("spiffe_refresh_hint", refreshHintSeconds);
        root.put("spiffe_sequence", sequenceNumber);
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Parses a SPIFFE bundle (JWKS): {@code x509-svid} keys give X.509 authorities (the one
     * certificate of {@code x5c}), {@code jwt-svid} keys (EC P-256/P-384/P-521 or RSA) give JWT
     * authorities; keys with another {@code use} are ignored, as the SPIFFE bundle spec says.
     *
     * @throws IllegalArgumentException saying which key is malformed
     */
    public static TrustBundle fromJwks(TrustDomain td, String json) {
        com.fasterxml.jackson.databind.JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("bundle is not JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.path("keys").isArray()) {
            throw new IllegalArgumentException("bundle is not a JWK Set: no \"keys\" array");
        }
        List<X509Certificate> x509 = new java.util.ArrayList<>();
        List<JwtAuthority> jwt = new java.util.ArrayList<>();
        int i = 0;
        for (com.fasterxml.jackson.databind.JsonNode k : root.path("keys")) {
            String use = k.path("use").asText();
            try {
                if (use.equals("x509-svid")) {
                    if (k.path("x5c").size() != 1) {
                        throw new IllegalArgumentException("x509-svid key must have exactly one certificate in x5c");
                    }
                    x509.add((X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(
                            new java.io.ByteArrayInputStream(Base64.getDecoder().decode(k.path("x5c").get(0).asText()))));
                } else if (use.equals("jwt-svid")) {
                    if (!k.hasNonNull("kid")) {
                        throw new IllegalArgumentException("jwt-svid key has no kid");
                    }
                    jwt.add(new JwtAuthority(k.path("kid").asText(), publicKey(k), null));
                }
            } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
                throw new IllegalArgumentException("bundle key #" + i + ": " + e.getMessage(), e);
            }
            i++;
        }
        return new TrustBundle(td, x509, jwt, root.path("spiffe_sequence").asLong(0), root.path("spiffe_refresh_hint").asLong(0));
    }

    private static PublicKey publicKey(com.fasterxml.jackson.databind.JsonNode k) throws java.security.GeneralSecurityException {
        Base64.Decoder url = Base64.getUrlDecoder();
        String kty = k.path("kty").asText();
        if (kty.equals("RSA")) {
            return java.security.KeyFactory.getInstance("RSA").generatePublic(new java.security.spec.RSAPublicKeySpec(
                    new BigInteger(1, url.decode(k.path("n").asText())), new BigInteger(1, url.decode(k.path("e").asText()))));
        }
        if (kty.equals("EC")) {
            String curve = switch (k.path("crv").asText()) {
                case "P-256" -> "secp256r1";
                case "P-384" -> "secp384r1";
                case "P-521" -> "secp521r1";
                default -> throw new IllegalArgumentException("unsupported curve " + k.path("crv").asText());
            };
            java.security.AlgorithmParameters params = java.security.AlgorithmParameters.getInstance("EC");
            params.init(new java.security.spec.ECGenParameterSpec(curve));
            java.security.spec.ECParameterSpec spec = params.getParameterSpec(java.security.spec.ECParameterSpec.class);
            java.security.spec.ECPoint w = new java.security.spec.ECPoint(new BigInteger(1, url.decode(k.path("x").asText())),
                    new BigInteger(1, url.decode(k.path("y").asText())));
            return java.security.KeyFactory.getInstance("EC").generatePublic(new java.security.spec.ECPublicKeySpec(w, spec));
        }
        throw new IllegalArgumentException("unsupported kty \"" + kty + "\"");
    }
}
