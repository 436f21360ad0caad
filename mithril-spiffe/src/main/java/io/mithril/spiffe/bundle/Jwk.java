package io.mithril.spiffe.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECFieldFp;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.EllipticCurve;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * Public keys as JSON Web Keys (RFC 7517/7518): EC P-256/P-384/P-521 ({@code kty} EC, {@code crv},
 * {@code x}, {@code y}), RSA ({@code n}, {@code e}) and Ed25519 ({@code kty} OKP). The one JWK
 * encoder of the project: SPIFFE bundles, the server's bundle JSON and the agent's JWT bundles all
 * write keys through {@link #toJwk(PublicKey)}.
 */
public final class Jwk {
    private Jwk() {}

    /** A named curve: JWK name, JDK name, coordinate length in bytes. */
    enum Curve {
        P256("P-256", "secp256r1", 32),
        P384("P-384", "secp384r1", 48),
        P521("P-521", "secp521r1", 66);

        final String jwkName;
        final String jdkName;
        final int size;
        private ECParameterSpec spec;

        Curve(String jwkName, String jdkName, int size) {
            this.jwkName = jwkName;
            this.jdkName = jdkName;
            this.size = size;
        }

        synchronized ECParameterSpec spec() {
            if (spec == null) {
                try {
                    AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
                    params.init(new ECGenParameterSpec(jdkName));
                    spec = params.getParameterSpec(ECParameterSpec.class);
                } catch (GeneralSecurityException e) {
                    throw new IllegalStateException("the JDK does not support curve " + jdkName, e);
                }
            }
            return spec;
        }

        static Curve byJwkName(String name) {
            for (Curve c : values()) {
                if (c.jwkName.equals(name)) {
                    return c;
                }
            }
            return null;
        }

        /** The named curve of an EC key, or null if it is not one of the three. */
        static Curve of(ECParameterSpec params) {
            for (Curve c : values()) {
                ECParameterSpec s = c.spec();
                if (s.getCurve().equals(params.getCurve())
                        && s.getGenerator().equals(params.getGenerator())
                        && s.getOrder().equals(params.getOrder())) {
                    return c;
                }
            }
            return null;
        }
    }

    private static final byte[] ED25519_SPKI_PREFIX = {
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
    };

    /**
     * The key's JWK members ({@code kty}, then {@code crv}/{@code x}/{@code y} or {@code n}/{@code
     * e}); the caller adds {@code kid} and {@code use}.
     *
     * @throws BundleException if the key is not EC on P-256/P-384/P-521, RSA or Ed25519
     */
    public static ObjectNode toJwk(PublicKey key) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        if (key instanceof ECPublicKey ec) {
            Curve curve = Curve.of(ec.getParams());
            if (curve == null) {
                throw new BundleException(
                        "EC public key is not on P-256, P-384 or P-521; it cannot be written as a JWK");
            }
            node.put("kty", "EC");
            node.put("crv", curve.jwkName);
            node.put("x", b64(fixed(ec.getW().getAffineX(), curve.size)));
            node.put("y", b64(fixed(ec.getW().getAffineY(), curve.size)));
        } else if (key instanceof RSAPublicKey rsa) {
            node.put("kty", "RSA");
            node.put("n", b64(unsigned(rsa.getModulus())));
            node.put("e", b64(unsigned(rsa.getPublicExponent())));
        } else if ("Ed25519".equals(key.getAlgorithm()) || "EdDSA".equals(key.getAlgorithm())) {
            byte[] spki = key.getEncoded();
            if (spki.length != 44 || !Arrays.equals(spki, 0, 12, ED25519_SPKI_PREFIX, 0, 12)) {
                throw new BundleException(
                        "EdDSA public key is not Ed25519; it cannot be written as a JWK");
            }
            node.put("kty", "OKP");
            node.put("crv", "Ed25519");
            node.put("x", b64(Arrays.copyOfRange(spki, 12, 44)));
        } else {
            throw new BundleException(
                    "public key algorithm \""
                            + key.getAlgorithm()
                            + "\" cannot be written as a JWK");
        }
        return node;
    }

    /** The public key of a JWK; {@code where} names the entry in error messages. */
    static PublicKey fromJwk(JsonNode jwk, String where) {
        String kty = text(jwk, "kty", where);
        try {
            switch (kty) {
                case "EC":
                    {
                        String crv = text(jwk, "crv", where);
                        Curve curve = Curve.byJwkName(crv);
                        if (curve == null) {
                            throw new BundleException(
                                    where
                                            + ": unsupported EC curve \"crv\": \""
                                            + crv
                                            + "\" (expected P-256, P-384 or P-521)");
                        }
                        BigInteger x = coordinate(jwk, "x", curve, where);
                        BigInteger y = coordinate(jwk, "y", curve, where);
                        ECParameterSpec spec = curve.spec();
                        if (!onCurve(spec.getCurve(), x, y)) {
                            throw new BundleException(
                                    where + ": EC point (x, y) is not on curve " + crv);
                        }
                        return KeyFactory.getInstance("EC")
                                .generatePublic(new ECPublicKeySpec(new ECPoint(x, y), spec));
                    }
                case "RSA":
                    {
                        BigInteger n = new BigInteger(1, b64Decode(jwk, "n", where));
                        BigInteger e = new BigInteger(1, b64Decode(jwk, "e", where));
                        if (n.signum() == 0 || e.signum() == 0) {
                            throw new BundleException(
                                    where + ": RSA \"n\" and \"e\" must be non-zero");
                        }
                        return KeyFactory.getInstance("RSA")
                                .generatePublic(new RSAPublicKeySpec(n, e));
                    }
                case "OKP":
                    {
                        String crv = text(jwk, "crv", where);
                        if (!"Ed25519".equals(crv)) {
                            throw new BundleException(
                                    where
                                            + ": unsupported OKP curve \"crv\": \""
                                            + crv
                                            + "\" (expected Ed25519)");
                        }
                        byte[] x = b64Decode(jwk, "x", where);
                        if (x.length != 32) {
                            throw new BundleException(
                                    where + ": Ed25519 \"x\" must be 32 bytes, found " + x.length);
                        }
                        byte[] spki = Arrays.copyOf(ED25519_SPKI_PREFIX, 44);
                        System.arraycopy(x, 0, spki, 12, 32);
                        return KeyFactory.getInstance("Ed25519")
                                .generatePublic(new X509EncodedKeySpec(spki));
                    }
                default:
                    throw new BundleException(
                            where
                                    + ": unsupported key type \"kty\": \""
                                    + kty
                                    + "\" (expected EC, RSA or OKP)");
            }
        } catch (GeneralSecurityException e) {
            throw new BundleException(
                    where + ": " + kty + " key cannot be built: " + e.getMessage(), e);
        }
    }

    private static BigInteger coordinate(JsonNode jwk, String name, Curve curve, String where) {
        byte[] bytes = b64Decode(jwk, name, where);
        // RFC 7518 6.2.1.2: the coordinate is the full size of the field, leading zeros kept.
        if (bytes.length != curve.size) {
            throw new BundleException(
                    where
                            + ": EC \""
                            + name
                            + "\" must be "
                            + curve.size
                            + " bytes for "
                            + curve.jwkName
                            + ", found "
                            + bytes.length);
        }
        return new BigInteger(1, bytes);
    }

    private static boolean onCurve(EllipticCurve curve, BigInteger x, BigInteger y) {
        BigInteger p = ((ECFieldFp) curve.getField()).getP();
        if (x.compareTo(p) >= 0 || y.compareTo(p) >= 0) {
            return false;
        }
        BigInteger lhs = y.multiply(y).mod(p);
        BigInteger rhs = x.pow(3).add(curve.getA().multiply(x)).add(curve.getB()).mod(p);
        return lhs.equals(rhs);
    }

    static String text(JsonNode node, String member, String where) {
        JsonNode v = node.get(member);
        if (v == null || v.isNull()) {
            throw new BundleException(where + ": member \"" + member + "\" is missing");
        }
        if (!v.isTextual()) {
            throw new BundleException(
                    where + ": member \"" + member + "\" must be a string, found " + v);
        }
        return v.textValue();
    }

    private static byte[] b64Decode(JsonNode node, String member, String where) {
        String s = text(node, member, where);
        if (s.isEmpty() || s.indexOf('=') >= 0) {
            throw new BundleException(
                    where + ": member \"" + member + "\" must be unpadded, non-empty base64url");
        }
        try {
            return Base64.getUrlDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw new BundleException(
                    where + ": member \"" + member + "\" is not base64url: " + e.getMessage(), e);
        }
    }

    static String b64(byte[] bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    static byte[] unsigned(BigInteger v) {
        byte[] b = v.toByteArray();
        if (b.length > 1 && b[0] == 0) {
            return Arrays.copyOfRange(b, 1, b.length);
        }
        return b;
    }

    static byte[] fixed(BigInteger v, int size) {
        byte[] b = unsigned(v);
        if (b.length > size) {
            throw new BundleException("EC coordinate longer than " + size + " bytes");
        }
        byte[] out = new byte[size];
        System.arraycopy(b, 0, out, size - b.length, b.length);
        return out;
    }
}
