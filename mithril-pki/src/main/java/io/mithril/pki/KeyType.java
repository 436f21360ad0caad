package io.mithril.pki;

import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The key types a Mithril CA or SVID can use, named as SPIRE's {@code ca_key_type} and {@code
 * key_type} settings name them ({@code ec-p256}, {@code ec-p384}, {@code rsa-2048}, {@code
 * rsa-4096}).
 */
public enum KeyType {
    EC_P256("ec-p256", "EC", 256, "SHA256withECDSA"),
    EC_P384("ec-p384", "EC", 384, "SHA384withECDSA"),
    RSA_2048("rsa-2048", "RSA", 2048, "SHA256withRSA"),
    RSA_4096("rsa-4096", "RSA", 4096, "SHA256withRSA");

    /** SPIRE's default for {@code ca_key_type} and for workload keys. */
    public static final KeyType DEFAULT = EC_P256;

    private final String configName;
    private final String algorithm;
    private final int bits;
    private final String signatureAlgorithm;

    KeyType(String configName, String algorithm, int bits, String signatureAlgorithm) {
        this.configName = configName;
        this.algorithm = algorithm;
        this.bits = bits;
        this.signatureAlgorithm = signatureAlgorithm;
    }

    /**
     * Parses SPIRE's spelling ({@code ec-p256}, {@code ec-p384}, {@code rsa-2048}, {@code
     * rsa-4096}; case and surrounding spaces are ignored).
     *
     * @throws IllegalArgumentException quoting the value and listing the allowed ones
     */
    public static KeyType fromConfig(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        for (KeyType t : values()) {
            if (t.configName.equals(v)) {
                return t;
            }
        }
        throw new IllegalArgumentException(
                "unknown key type \""
                        + value
                        + "\": allowed values are "
                        + Arrays.stream(values())
                                .map(KeyType::configName)
                                .collect(Collectors.joining(", ")));
    }

    /**
     * The key type of an existing key.
     *
     * @throws IllegalArgumentException if the key is not one of the four supported types
     */
    public static KeyType of(Key key) {
        for (KeyType t : values()) {
            if (t.algorithm.equals(key.getAlgorithm()) && t.bits == keySize(key)) {
                return t;
            }
        }
        throw new IllegalArgumentException(
                "unsupported key: "
                        + key.getAlgorithm()
                        + " "
                        + keySize(key)
                        + " bits (supported: "
                        + Arrays.stream(values())
                                .map(KeyType::configName)
                                .collect(Collectors.joining(", "))
                        + ")");
    }

    /**
     * Why {@code key} is not the private half of {@code publicKey}, or null when it is: signs and
     * verifies a probe, which proves possession whatever the key type.
     */
    public static String mismatch(java.security.PrivateKey key, java.security.PublicKey publicKey) {
        if (!key.getAlgorithm().equals(publicKey.getAlgorithm())) {
            return "the key is "
                    + key.getAlgorithm()
                    + ", the certificate's key is "
                    + publicKey.getAlgorithm();
        }
        try {
            String alg = signatureAlgorithmFor(key);
            byte[] probe =
                    "mithril key pair check".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            java.security.Signature s = CryptoProvider.jdk().signature(alg);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            java.security.Signature v = CryptoProvider.jdk().signature(alg);
            v.initVerify(publicKey);
            v.update(probe);
            return v.verify(sig)
                    ? null
                    : "a signature made with the key does not verify with the certificate's key";
        } catch (GeneralSecurityException | IllegalArgumentException | PkiException e) {
            return e.getMessage();
        }
    }

    /**
     * The signature algorithm a certificate signed by this key uses. Also covers keys outside the
     * four types (an operator's upstream CA may hold EC P-521 or RSA-3072).
     *
     * @throws IllegalArgumentException for a key that cannot sign certificates here
     */
    public static String signatureAlgorithmFor(Key key) {
        switch (key.getAlgorithm()) {
            case "EC":
            case "ECDSA":
                {
                    int size = keySize(key);
                    return size <= 256
                            ? "SHA256withECDSA"
                            : size <= 384 ? "SHA384withECDSA" : "SHA512withECDSA";
                }
            case "RSA":
                return "SHA256withRSA";
            case "Ed25519":
            case "EdDSA":
                return "Ed25519";
            default:
                throw new IllegalArgumentException(
                        "unsupported signing key algorithm "
                                + key.getAlgorithm()
                                + " (use an EC or RSA key)");
        }
    }

    private static int keySize(Key key) {
        if (key instanceof ECKey ec) {
            return ec.getParams().getCurve().getField().getFieldSize();
        }
        if (key instanceof RSAKey rsa) {
            return rsa.getModulus().bitLength();
        }
        return -1;
    }

    /** SPIRE's spelling, e.g. {@code ec-p256}. */
    public String configName() {
        return configName;
    }

    /** The JCA key algorithm, {@code EC} or {@code RSA}. */
    public String algorithm() {
        return algorithm;
    }

    /** Curve size or modulus length in bits. */
    public int bits() {
        return bits;
    }

    /** The JCA signature algorithm for certificates signed with this key type. */
    public String signatureAlgorithm() {
        return signatureAlgorithm;
    }

    /** Generates a fresh key pair with the process's {@link CryptoProvider}. */
    public KeyPair generate() {
        return generate(CryptoProvider.get());
    }

    /** Generates a fresh key pair with the given provider. */
    public KeyPair generate(CryptoProvider provider) {
        try {
            KeyPairGenerator g = provider.keyPairGenerator(algorithm);
            if (algorithm.equals("EC")) {
                g.initialize(new ECGenParameterSpec(bits == 256 ? "secp256r1" : "secp384r1"));
            } else {
                g.initialize(new RSAKeyGenParameterSpec(bits, RSAKeyGenParameterSpec.F4));
            }
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new CryptoException(
                    "cannot generate a " + configName + " key with " + provider.name() + ": " + e,
                    e);
        }
    }

    @Override
    public String toString() {
        return configName;
    }
}
