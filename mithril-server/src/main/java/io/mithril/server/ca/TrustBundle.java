package io.mithril.server.ca;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mithril.spiffe.id.TrustDomain;
import java.math.BigInteger;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.Arrays;
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
            ObjectNode k = jwk(c.getPublicKey());
            k.put("use", "x509-svid");
            try {
                k.putArray("x5c").add(b64.encodeToString(c.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
            keys.add(k);
        }
        for (JwtAuthority a : jwtAuthorities) {
            ObjectNode k = jwk(a.publicKey());
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

    private static ObjectNode jwk(PublicKey key) {
        ObjectNode k = JSON.createObjectNode();
        Base64.Encoder url = Base64.getUrlEncoder().withoutPadding();
        if (key instanceof ECPublicKey ec) {
            int size = (ec.getParams().getCurve().getField().getFieldSize() + 7) / 8;
            k.put("kty", "EC");
            k.put("crv", size == 32 ? "P-256" : size == 48 ? "P-384" : "P-521");
            k.put("x", url.encodeToString(unsigned(ec.getW().getAffineX(), size)));
            k.put("y", url.encodeToString(unsigned(ec.getW().getAffineY(), size)));
        } else if (key instanceof RSAPublicKey rsa) {
            k.put("kty", "RSA");
            k.put("n", url.encodeToString(unsigned(rsa.getModulus(), (rsa.getModulus().bitLength() + 7) / 8)));
            k.put("e", url.encodeToString(unsigned(rsa.getPublicExponent(), (rsa.getPublicExponent().bitLength() + 7) / 8)));
        } else {
            throw new IllegalArgumentException("unsupported key algorithm " + key.getAlgorithm());
        }
        return k;
    }

    static byte[] unsigned(BigInteger v, int size) {
        byte[] b = v.toByteArray();
        if (b.length == size) {
            return b;
        }
        if (b.length > size) {
            return Arrays.copyOfRange(b, b.length - size, b.length);
        }
        byte[] out = new byte[size];
        System.arraycopy(b, 0, out, size - b.length, b.length);
        return out;
    }
}
