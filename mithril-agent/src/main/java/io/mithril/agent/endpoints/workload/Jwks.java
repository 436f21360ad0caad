package io.mithril.agent.endpoints.workload;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mithril.agent.cache.JwtAuthority;
import io.mithril.agent.cache.TrustBundle;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Arrays;
import java.util.Base64;

/** Renders a bundle's JWT authorities as a JWK Set, as {@code FetchJWTBundles} serves them. */
final class Jwks {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Jwks() {
    }

    static byte[] jwtJwks(TrustBundle bundle) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode keys = root.putArray("keys");
        for (JwtAuthority a : bundle.jwtAuthorities()) {
            ObjectNode k = keys.addObject();
            if (a.publicKey() instanceof ECPublicKey ec) {
                int size = (ec.getParams().getCurve().getField().getFieldSize() + 7) / 8;
                k.put("kty", "EC");
                k.put("kid", a.keyId());
                k.put("use", "jwt-svid");
                k.put("crv", size == 32 ? "P-256" : size == 48 ? "P-384" : "P-521");
                k.put("x", b64(unsigned(ec.getW().getAffineX(), size)));
                k.put("y", b64(unsigned(ec.getW().getAffineY(), size)));
            } else if (a.publicKey() instanceof RSAPublicKey rsa) {
                k.put("kty", "RSA");
                k.put("kid", a.keyId());
                k.put("use", "jwt-svid");
                k.put("n", b64(unsigned(rsa.getModulus(), (rsa.getModulus().bitLength() + 7) / 8)));
                k.put("e", b64(unsigned(rsa.getPublicExponent(), (rsa.getPublicExponent().bitLength() + 7) / 8)));
            }
        }
        return root.toString().getBytes(StandardCharsets.UTF_8);
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

    private static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
