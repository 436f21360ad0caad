package io.mithril.pki;

import com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider;
import com.amazon.corretto.crypto.provider.SelfTestStatus;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSASSAPSSparams;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.ContentVerifier;
import org.bouncycastle.operator.ContentVerifierProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.conscrypt.Conscrypt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JCA provider Mithril signs and generates keys with, chosen once per process.
 *
 * <p>The JDK's own ECDSA is slow (about 1k signs/s on JDK 17); the native-backed providers are 15
 * to 40 times faster. {@link #get()} therefore picks, in order of measured speed (see {@code
 * mithril bench pki}): the Amazon Corretto Crypto Provider if its native library loads and passes
 * its self-test on this platform, else Conscrypt if it loads, else the JDK's providers. Each
 * candidate must also generate an EC P-256 key, sign and have the JDK verify the signature before
 * it is used. One log line says which provider was chosen and why.
 *
 * <p>The system property {@value #PROPERTY} ({@code jdk}, {@code accp} or {@code conscrypt}) forces
 * one; if the forced provider does not work here, {@link #get()} throws {@link CryptoException}
 * rather than silently running on another.
 *
 * <p>Native providers are never installed in the global JCA provider list, so TLS and other
 * libraries in the process keep their defaults; Mithril passes the provider explicitly. When a
 * provider lacks an algorithm, the JDK's is used for that algorithm.
 */
public final class CryptoProvider {

    /** System property that forces a provider: {@code jdk}, {@code accp} or {@code conscrypt}. */
    public static final String PROPERTY = "mithril.crypto.provider";

    /** Provider ids, fastest first (the default order of preference). */
    public static final List<String> IDS = List.of("accp", "conscrypt", "jdk");

    private static final Logger log = LoggerFactory.getLogger(CryptoProvider.class);
    private static final Map<String, Object> LOADED = new LinkedHashMap<>();

    private final String id;
    private final String name;
    private final Provider provider; // null: the JDK's default provider lookup

    private CryptoProvider(String id, String name, Provider provider) {
        this.id = id;
        this.name = name;
        this.provider = provider;
    }

    private static volatile CryptoProvider chosen;
    private static CryptoException chooseFailure;

    /**
     * The process-wide provider, chosen on first use.
     *
     * @throws CryptoException if {@value #PROPERTY} names a provider that does not work here (on
     *     every call, so the failure is never hidden behind a class-initialisation error)
     */
    public static CryptoProvider get() {
        CryptoProvider p = chosen;
        if (p != null) {
            return p;
        }
        synchronized (CryptoProvider.class) {
            if (chosen == null) {
                if (chooseFailure != null) {
                    throw new CryptoException(chooseFailure.getMessage(), chooseFailure);
                }
                try {
                    chosen = choose();
                } catch (CryptoException e) {
                    chooseFailure = e;
                    throw e;
                }
            }
            return chosen;
        }
    }

    /** The JDK's providers (always available). */
    public static CryptoProvider jdk() {
        return of("jdk");
    }

    /**
     * The provider with the given id ({@code jdk}, {@code accp}, {@code conscrypt}), loaded and
     * self-tested once per process.
     *
     * @throws IllegalArgumentException for an unknown id
     * @throws CryptoException if that provider does not load or fails its self-test here
     */
    public static CryptoProvider of(String id) {
        Object r = load(normalise(id));
        if (r instanceof CryptoProvider p) {
            return p;
        }
        throw new CryptoException(
                "crypto provider " + id + " is not usable on this platform: " + r);
    }

    /** The provider with that id, if it loads and passes its self-test here. */
    public static Optional<CryptoProvider> find(String id) {
        Object r = load(normalise(id));
        return r instanceof CryptoProvider p ? Optional.of(p) : Optional.empty();
    }

    /** Every provider that works here, fastest first; always ends with the JDK's. */
    public static List<CryptoProvider> available() {
        List<CryptoProvider> out = new ArrayList<>();
        for (String id : IDS) {
            find(id).ifPresent(out::add);
        }
        return out;
    }

    /** Why the provider with that id is not usable here, or empty if it is. */
    public static Optional<String> unavailableReason(String id) {
        Object r = load(normalise(id));
        return r instanceof String s ? Optional.of(s) : Optional.empty();
    }

    private static String normalise(String id) {
        String v = id == null ? "" : id.trim().toLowerCase(Locale.ROOT);
        if (!IDS.contains(v)) {
            throw new IllegalArgumentException(
                    "unknown crypto provider \""
                            + id
                            + "\": allowed values are jdk, accp, conscrypt");
        }
        return v;
    }

    private static CryptoProvider choose() {
        String forced = System.getProperty(PROPERTY);
        if (forced != null && !forced.isBlank()) {
            String id;
            try {
                id = normalise(forced);
            } catch (IllegalArgumentException e) {
                throw new CryptoException(
                        "system property " + PROPERTY + "=" + forced + ": " + e.getMessage());
            }
            Object r = load(id);
            if (r instanceof CryptoProvider p) {
                log.info("crypto provider: {} (forced by -D{}={})", p.name, PROPERTY, forced);
                return p;
            }
            throw new CryptoException(
                    "system property "
                            + PROPERTY
                            + "="
                            + forced
                            + ": "
                            + id
                            + " is not usable on this platform: "
                            + r);
        }
        List<String> skipped = new ArrayList<>();
        for (String id : IDS) {
            Object r = load(id);
            if (r instanceof CryptoProvider p) {
                log.info(
                        "crypto provider: {}{}",
                        p.name,
                        skipped.isEmpty() ? "" : " (" + String.join("; ", skipped) + ")");
                return p;
            }
            skipped.add(id + " unavailable: " + r);
        }
        throw new IllegalStateException("unreachable: the JDK provider always loads");
    }

    /** Loads and self-tests a provider once; the result is the provider or the reason it failed. */
    private static synchronized Object load(String id) {
        return LOADED.computeIfAbsent(id, CryptoProvider::tryLoad);
    }

    private static Object tryLoad(String id) {
        try {
            CryptoProvider p;
            switch (id) {
                case "accp":
                    {
                        AmazonCorrettoCryptoProvider accp = AmazonCorrettoCryptoProvider.INSTANCE;
                        if (accp.getLoadingError() != null) {
                            return "native library did not load: " + accp.getLoadingError();
                        }
                        SelfTestStatus status = accp.runSelfTests();
                        if (status != SelfTestStatus.PASSED) {
                            return "self-test " + status;
                        }
                        accp.assertHealthy();
                        String awsLc = accp.getAwsLcVersionStr();
                        p =
                                new CryptoProvider(
                                        "accp",
                                        "ACCP "
                                                + accp.getVersionStr()
                                                + (awsLc == null || awsLc.isBlank()
                                                        ? ""
                                                        : " (" + awsLc + ")"),
                                        accp);
                        break;
                    }
                case "conscrypt":
                    {
                        if (!Conscrypt.isAvailable()) {
                            return "native library did not load";
                        }
                        Conscrypt.Version v = Conscrypt.version();
                        p =
                                new CryptoProvider(
                                        "conscrypt",
                                        "Conscrypt "
                                                + v.major()
                                                + "."
                                                + v.minor()
                                                + "."
                                                + v.patch(),
                                        Conscrypt.newProvider());
                        break;
                    }
                default:
                    p =
                            new CryptoProvider(
                                    "jdk", "JDK " + System.getProperty("java.version"), null);
            }
            p.selfTest();
            return p;
        } catch (Throwable e) { // LinkageError from a native library is the common case here
            return e.toString();
        }
    }

    /** Generate, sign, and have the JDK verify: the provider must agree with the reference. */
    private void selfTest() throws GeneralSecurityException {
        KeyPairGenerator g = keyPairGenerator("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair kp = g.generateKeyPair();
        byte[] msg = "mithril crypto provider self-test".getBytes(StandardCharsets.UTF_8);
        Signature s = signature("SHA256withECDSA");
        s.initSign(kp.getPrivate());
        s.update(msg);
        byte[] sig = s.sign();
        Signature v = Signature.getInstance("SHA256withECDSA");
        v.initVerify(
                KeyFactory.getInstance("EC")
                        .generatePublic(
                                new java.security.spec.X509EncodedKeySpec(
                                        kp.getPublic().getEncoded())));
        v.update(msg);
        if (!v.verify(sig)) {
            throw new GeneralSecurityException(
                    "ECDSA P-256 signature does not verify with the JDK");
        }
    }

    /** Short id: {@code jdk}, {@code accp} or {@code conscrypt}. */
    public String id() {
        return id;
    }

    /** Human-readable name with version, e.g. {@code ACCP 2.5.0 (AWS-LC 1.x)}. */
    public String name() {
        return name;
    }

    /** The JCA provider, or empty for the JDK's default lookup. */
    public Optional<Provider> provider() {
        return Optional.ofNullable(provider);
    }

    /**
     * A {@link Signature} for the algorithm (e.g. {@code SHA256withECDSA}).
     *
     * @throws CryptoException if neither this provider nor the JDK has it
     */
    public Signature signature(String alg) {
        try {
            if (provider != null) {
                try {
                    return Signature.getInstance(alg, provider);
                } catch (NoSuchAlgorithmException e) {
                    // fall through to the JDK
                }
            }
            return Signature.getInstance(alg);
        } catch (NoSuchAlgorithmException e) {
            throw new CryptoException(
                    "signature algorithm " + alg + " is not available: " + e.getMessage(), e);
        }
    }

    /**
     * A {@link KeyPairGenerator} for {@code EC} or {@code RSA}.
     *
     * @throws CryptoException if neither this provider nor the JDK has it
     */
    public KeyPairGenerator keyPairGenerator(String alg) {
        try {
            if (provider != null) {
                try {
                    return KeyPairGenerator.getInstance(alg, provider);
                } catch (NoSuchAlgorithmException e) {
                    // fall through to the JDK
                }
            }
            return KeyPairGenerator.getInstance(alg);
        } catch (NoSuchAlgorithmException e) {
            throw new CryptoException(
                    "key algorithm " + alg + " is not available: " + e.getMessage(), e);
        }
    }

    /**
     * A {@link KeyFactory} for {@code EC} or {@code RSA}.
     *
     * @throws CryptoException if neither this provider nor the JDK has it
     */
    public KeyFactory keyFactory(String alg) {
        try {
            if (provider != null) {
                try {
                    return KeyFactory.getInstance(alg, provider);
                } catch (NoSuchAlgorithmException e) {
                    // fall through to the JDK
                }
            }
            return KeyFactory.getInstance(alg);
        } catch (NoSuchAlgorithmException e) {
            throw new CryptoException(
                    "key algorithm " + alg + " is not available: " + e.getMessage(), e);
        }
    }

    /**
     * The key as this provider's own key object. Native providers sign about twice as fast with
     * their own key objects as with the JDK's (which they re-import on every signature), so
     * long-lived signing keys (a CA's) are worth importing once. Returns the key unchanged for the
     * JDK provider, or if this provider cannot import it.
     */
    public PrivateKey importKey(PrivateKey key) {
        if (provider == null) {
            return key;
        }
        try {
            return (PrivateKey)
                    KeyFactory.getInstance(key.getAlgorithm(), provider).translateKey(key);
        } catch (GeneralSecurityException | RuntimeException e) {
            return key;
        }
    }

    /**
     * A BouncyCastle {@link ContentSigner} that signs with this provider.
     *
     * @throws CryptoException if the key or algorithm is refused
     */
    public ContentSigner contentSigner(PrivateKey key, String alg) {
        try {
            if (provider != null) {
                try {
                    return new JcaContentSignerBuilder(alg).setProvider(provider).build(key);
                } catch (OperatorCreationException e) {
                    if (!(rootCause(e) instanceof NoSuchAlgorithmException)) {
                        throw e;
                    }
                }
            }
            return new JcaContentSignerBuilder(alg).build(key);
        } catch (OperatorCreationException | IllegalArgumentException e) {
            throw new CryptoException(
                    "cannot sign with "
                            + alg
                            + " ("
                            + key.getAlgorithm()
                            + " key) using "
                            + name
                            + ": "
                            + rootCause(e).getMessage(),
                    e);
        }
    }

    /**
     * A BouncyCastle {@link ContentVerifierProvider} that verifies signatures made by the holder of
     * {@code key}, with this provider.
     *
     * <p>Plain algorithms (ECDSA and RSA PKCS#1 v1.5, whose identifiers carry no parameters) are
     * verified with one {@link Signature} of this provider. BouncyCastle's own JCA verifier
     * verifies ECDSA twice (once more through a "raw" signature, for PKCS#11 tokens), which halves
     * the rate at which a server accepts CSRs; it is still used for parameterised algorithms such
     * as RSASSA-PSS.
     *
     * @throws CryptoException if the key is refused
     */
    public ContentVerifierProvider contentVerifierProvider(PublicKey key) {
        ContentVerifierProvider general;
        try {
            JcaContentVerifierProviderBuilder b = new JcaContentVerifierProviderBuilder();
            if (provider != null) {
                b.setProvider(provider);
            }
            general = b.build(key);
        } catch (OperatorCreationException e) {
            throw new CryptoException(
                    "cannot verify signatures of a "
                            + key.getAlgorithm()
                            + " key using "
                            + name
                            + ": "
                            + rootCause(e).getMessage(),
                    e);
        }
        return new ContentVerifierProvider() {
            @Override
            public boolean hasAssociatedCertificate() {
                return false;
            }

            @Override
            public X509CertificateHolder getAssociatedCertificate() {
                return null;
            }

            @Override
            public ContentVerifier get(AlgorithmIdentifier algorithm)
                    throws OperatorCreationException {
                ASN1Encodable params = algorithm.getParameters();
                boolean noParams = params == null || DERNull.INSTANCE.equals(params);
                String jca = PLAIN_SIGNATURES.get(algorithm.getAlgorithm());
                Signature sig;
                try {
                    if (jca != null && noParams) {
                        sig = signature(jca);
                    } else if (PKCSObjectIdentifiers.id_RSASSA_PSS.equals(algorithm.getAlgorithm())
                            && !noParams) {
                        jca = "RSASSA-PSS";
                        sig = signature(jca);
                        sig.setParameter(pssParameters(RSASSAPSSparams.getInstance(params)));
                    } else {
                        return general.get(algorithm);
                    }
                    sig.initVerify(key);
                } catch (GeneralSecurityException | CryptoException | IllegalArgumentException e) {
                    throw new OperatorCreationException(
                            "cannot verify "
                                    + jca
                                    + " with a "
                                    + key.getAlgorithm()
                                    + " key: "
                                    + e.getMessage(),
                            e);
                }
                return new ContentVerifier() {
                    private final OutputStream out = new SignatureOutputStream(sig);

                    @Override
                    public AlgorithmIdentifier getAlgorithmIdentifier() {
                        return algorithm;
                    }

                    @Override
                    public OutputStream getOutputStream() {
                        return out;
                    }

                    @Override
                    public boolean verify(byte[] expected) {
                        try {
                            return sig.verify(expected);
                        } catch (java.security.SignatureException e) {
                            return false; // a malformed signature is a signature that does not
                            // verify
                        }
                    }
                };
            }
        };
    }

    /** RSASSA-PSS parameters as JCA wants them (the JDK does not map the DER form itself). */
    private static PSSParameterSpec pssParameters(RSASSAPSSparams p)
            throws NoSuchAlgorithmException {
        String hash = digestName(p.getHashAlgorithm().getAlgorithm());
        AlgorithmIdentifier mgfHash =
                AlgorithmIdentifier.getInstance(p.getMaskGenAlgorithm().getParameters());
        return new PSSParameterSpec(
                hash,
                "MGF1",
                new MGF1ParameterSpec(digestName(mgfHash.getAlgorithm())),
                p.getSaltLength().intValueExact(),
                p.getTrailerField().intValueExact());
    }

    private static String digestName(ASN1ObjectIdentifier oid) throws NoSuchAlgorithmException {
        if (NISTObjectIdentifiers.id_sha256.equals(oid)) {
            return "SHA-256";
        }
        if (NISTObjectIdentifiers.id_sha384.equals(oid)) {
            return "SHA-384";
        }
        if (NISTObjectIdentifiers.id_sha512.equals(oid)) {
            return "SHA-512";
        }
        throw new NoSuchAlgorithmException(
                "unsupported digest " + oid + " in RSASSA-PSS parameters");
    }

    private static final Map<ASN1ObjectIdentifier, String> PLAIN_SIGNATURES =
            Map.of(
                    X9ObjectIdentifiers.ecdsa_with_SHA256, "SHA256withECDSA",
                    X9ObjectIdentifiers.ecdsa_with_SHA384, "SHA384withECDSA",
                    X9ObjectIdentifiers.ecdsa_with_SHA512, "SHA512withECDSA",
                    PKCSObjectIdentifiers.sha256WithRSAEncryption, "SHA256withRSA",
                    PKCSObjectIdentifiers.sha384WithRSAEncryption, "SHA384withRSA",
                    PKCSObjectIdentifiers.sha512WithRSAEncryption, "SHA512withRSA");

    /** Feeds written bytes into a signature being verified. */
    private static final class SignatureOutputStream extends OutputStream {
        private final Signature sig;

        SignatureOutputStream(Signature sig) {
            this.sig = sig;
        }

        @Override
        public void write(int b) throws IOException {
            try {
                sig.update((byte) b);
            } catch (java.security.SignatureException e) {
                throw new IOException(e);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                sig.update(b, off, len);
            } catch (java.security.SignatureException e) {
                throw new IOException(e);
            }
        }
    }

    private static Throwable rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    @Override
    public String toString() {
        return name;
    }
}
