package io.mithril.server.ca;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mithril.pki.CryptoProvider;
import io.mithril.spiffe.id.SpiffeId;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.time.Instant;
import java.util.Base64;
import java.util.List;

/**
 * Signs JWT-SVIDs (JWS compact serialisation): header {@code alg} (ES256/ES384 for EC keys, RS256
 * for RSA keys), {@code kid} and {@code typ: JWT}; claims {@code sub}, {@code aud}, {@code exp},
 * {@code iat} and, when configured, {@code iss}. ECDSA signatures are in JOSE form (R||S).
 */
public final class JwtSigner {

    private static final ObjectMapper JSON = new ObjectMapper();

    private JwtSigner() {
    }

    public static String sign(SpiffeId subject, List<String> audience, Instant issuedAt, Instant expiresAt, String issuer,
                              String keyId, PrivateKey key, CryptoProvider crypto) {
        if (audience.isEmpty()) {
            throw new IllegalArgumentException("a JWT-SVID needs at least one audience");
        }
        String alg;
        String jca;
        int partLen = 0;
        if (key instanceof ECPrivateKey ec) {
            int bits = ec.getParams().getCurve().getField().getFieldSize();
            partLen = (bits + 7) / 8;
            alg = bits <= 256 ? "ES256" : bits <= 384 ? "ES384" : "ES512";
            jca = bits <= 256 ? "SHA256withECDSA" : bits <= 384 ? "SHA384withECDSA" : "SHA512withECDSA";
        } else if (key instanceof RSAPrivateKey) {
            alg = "RS256";
            jca = "SHA256withRSA";
        } else {
            throw new IllegalArgumentException("cannot sign a JWT with a " + key.getAlgorithm() + " key");
        }
        ObjectNode header = JSON.createObjectNode().put("alg", alg).put("kid", keyId).put("typ", "JWT");
        ObjectNode claims = JSON.createObjectNode();
        claims.put("sub", subject.toString());
        if (audience.size() == 1) {
            claims.put("aud", audience.get(0));
        } else {
            audience.forEach(claims.putArray("aud")::add);
        }
        claims.put("exp", expiresAt.getEpochSecond());
        claims.put("iat", issuedAt.getEpochSecond());
        if (issuer != null && !issuer.isEmpty()) {
            claims.put("iss", issuer);
        }
        Base64.Encoder url = Base64.getUrlEncoder().withoutPadding();
        String signingInput = url.encodeToString(header.toString().getBytes(StandardCharsets.UTF_8)) + "."
                + url.encodeToString(claims.toString().getBytes(StandardCharsets.UTF_8));
        try {
            Signature s = crypto.signature(jca);
            s.initSign(key);
            s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            byte[] sig = s.sign();
            if (partLen > 0) {
                sig = derToJose(sig, partLen);
            }
            return signingInput + "." + url.encodeToString(sig);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("signing JWT-SVID for " + subject + ": " + e.getMessage(), e);
        }
    }

    /** ASN.1 SEQUENCE { INTEGER r, INTEGER s } to fixed-width r||s. */
    static byte[] derToJose(byte[] der, int partLen) {
        int i = 2;
        if ((der[1] & 0x80) != 0) {
            i = 2 + (der[1] & 0x7f);
        }
        int rLen = der[i + 1];
        byte[] r = java.util.Arrays.copyOfRange(der, i + 2, i + 2 + rLen);
        i = i + 2 + rLen;
        int sLen = der[i + 1];
        byte[] s = java.util.Arrays.copyOfRange(der, i + 2, i + 2 + sLen);
        byte[] out = new byte[partLen * 2];
        System.arraycopy(TrustBundle.unsigned(new BigInteger(1, r), partLen), 0, out, 0, partLen);
        System.arraycopy(TrustBundle.unsigned(new BigInteger(1, s), partLen), 0, out, partLen, partLen);
        return out;
    }
}
