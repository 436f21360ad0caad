package io.mithril.spiffe.testing;

import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.internal.Der;
import io.mithril.spiffe.svid.X509Svid;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate and its private key, for tests: the one certificate fixture of the project's test
 * suites, in the manner of okhttp-tls's {@code HeldCertificate}.
 *
 * <p>A certificate binds a public key to names (a subject, and SANs such as a SPIFFE ID URI or DNS
 * names) for a validity interval, and is signed by an issuer's private key. A chain is a leaf
 * certificate followed by the certificates that signed it, each signed by the next; the last one, a
 * root, signs itself and is trusted because a bundle holds it. An X509-SVID is a leaf whose only
 * URI SAN is a SPIFFE ID, signed (directly or through intermediates) by a root of its trust
 * domain's bundle.
 *
 * <pre>{@code
 * HeldCertificate root = HeldCertificate.builder().commonName("root").spiffeId("spiffe://example.org").ca(1).build();
 * HeldCertificate intermediate = HeldCertificate.builder().spiffeId("spiffe://example.org").ca(0).signedBy(root).build();
 * HeldCertificate leaf = HeldCertificate.builder()
 *         .spiffeId("spiffe://example.org/ns/default/sa/sleep")
 *         .addDnsName("sleep.default.svc")
 *         .clock(clock)
 *         .validFor(Duration.ofHours(1))
 *         .signedBy(intermediate)
 *         .build();
 * X509Svid svid = leaf.x509Svid(); // chain leaf, intermediate; the root stays in the bundle
 * }</pre>
 *
 * <p>Defaults are those of a valid X509-SVID: an EC P-256 key, subject {@code CN=test,O=Mithril
 * test}, {@code cA=false} (critical), key usage digitalSignature|keyEncipherment|keyAgreement
 * (critical), extended key usage serverAuth and clientAuth, valid from an hour before the clock's
 * now for an hour (a CA: for a day), self-signed unless {@link Builder#signedBy} names an issuer.
 * Every rule an X509-SVID validator checks can be broken on purpose ({@link Builder#keyUsage},
 * {@link Builder#noBasicConstraints}, {@link Builder#signatureAlgorithm}, ...), so that tests can
 * perform the attack a validator defends against.
 */
public final class HeldCertificate {

    private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

    /** Key usage bits of an X509-SVID leaf. */
    public static final int LEAF_KEY_USAGE =
            KeyUsage.digitalSignature | KeyUsage.keyEncipherment | KeyUsage.keyAgreement;

    /** Key usage bits of a signing CA. */
    public static final int CA_KEY_USAGE = KeyUsage.keyCertSign | KeyUsage.cRLSign;

    private final X509Certificate certificate;
    private final KeyPair keyPair;
    private final HeldCertificate issuer;

    private HeldCertificate(X509Certificate certificate, KeyPair keyPair, HeldCertificate issuer) {
        this.certificate = certificate;
        this.keyPair = keyPair;
        this.issuer = issuer;
    }

    /** A certificate built elsewhere, held with its key (to sign others with it). */
    public static HeldCertificate of(X509Certificate certificate, KeyPair keyPair) {
        return new HeldCertificate(certificate, keyPair, null);
    }

    public static Builder builder() {
        return new Builder();
    }

    public X509Certificate certificate() {
        return certificate;
    }

    public KeyPair keyPair() {
        return keyPair;
    }

    public PrivateKey privateKey() {
        return keyPair.getPrivate();
    }

    /**
     * The certificate that signed this one, or null for a self-signed one (or one from {@link
     * #of}).
     */
    public HeldCertificate issuer() {
        return issuer;
    }

    /**
     * This certificate followed by its issuers up to, not including, the self-signed root: what a
     * TLS peer or the Workload API sends.
     */
    public List<X509Certificate> chain() {
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(certificate);
        for (HeldCertificate i = issuer; i != null && i.issuer != null; i = i.issuer) {
            chain.add(i.certificate);
        }
        return List.copyOf(chain);
    }

    /** The self-signed root this certificate chains to (itself for a root). */
    public X509Certificate root() {
        HeldCertificate c = this;
        while (c.issuer != null) {
            c = c.issuer;
        }
        return c.certificate;
    }

    /** {@link #chain()} and the private key as an X509-SVID (validated as {@link X509Svid#of}). */
    public X509Svid x509Svid() {
        return X509Svid.of(chain(), privateKey());
    }

    /** The certificate as a PEM {@code CERTIFICATE} block. */
    public String certificatePem() {
        return Der.toPem(List.of(certificate));
    }

    /** The private key as a PEM {@code PRIVATE KEY} block (PKCS#8). */
    public String privateKeyPkcs8Pem() {
        return Der.pemBlock("PRIVATE KEY", privateKey().getEncoded());
    }

    @Override
    public String toString() {
        return certificate.getSubjectX500Principal()
                + " (serial "
                + certificate.getSerialNumber().toString(16)
                + ")";
    }

    /** A new EC key pair on {@code curve} ({@code secp256r1}, {@code secp384r1}, ...). */
    public static KeyPair ecKeyPair(String curve) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec(curve));
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate an EC key on " + curve, e);
        }
    }

    /** A new RSA key pair of {@code bits}. */
    public static KeyPair rsaKeyPair(int bits) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(bits);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate an RSA key of " + bits + " bits", e);
        }
    }

    /** A new Ed25519 key pair. */
    public static KeyPair ed25519KeyPair() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Builds a {@link HeldCertificate}. Each method returns this builder. */
    public static final class Builder {
        private Clock clock = Clock.systemUTC();
        private Instant notBefore;
        private Instant notAfter;
        private Duration validFor;
        private X500Principal subject;
        private String commonName = "test";
        private String organization = "Mithril test";
        private final List<String> uris = new ArrayList<>();
        private final List<String> dnsNames = new ArrayList<>();
        private KeyPair keyPair;
        private String keyAlgorithm = "EC";
        private int keySize = 256;
        private HeldCertificate signedBy;
        private Boolean ca = Boolean.FALSE;
        private int maxPathLen = -1;
        private Integer keyUsage;
        private boolean keyUsageSet;
        private Boolean extendedKeyUsage;
        private String signatureAlgorithm;
        private BigInteger serialNumber;

        private Builder() {}

        /** The clock validity is measured from (default: the system clock). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** An exact validity interval; overrides {@link #validFor}. */
        public Builder validityInterval(Instant notBefore, Instant notAfter) {
            if (!notBefore.isBefore(notAfter)) {
                throw new IllegalArgumentException(
                        "invalid interval: " + notBefore + ".." + notAfter);
            }
            this.notBefore = notBefore;
            this.notAfter = notAfter;
            return this;
        }

        /**
         * Valid from ten seconds before the clock's now (the backdating the identity server uses)
         * for {@code lifetime} after now.
         */
        public Builder validFor(Duration lifetime) {
            if (lifetime.isNegative() || lifetime.isZero()) {
                throw new IllegalArgumentException("invalid lifetime: " + lifetime);
            }
            this.validFor = lifetime;
            return this;
        }

        /** The subject's common name (default {@code test}), with {@code O=Mithril test}. */
        public Builder commonName(String cn) {
            this.commonName = Objects.requireNonNull(cn, "cn");
            return this;
        }

        /** The subject's organization (default {@code Mithril test}); null leaves it out. */
        public Builder organization(String o) {
            this.organization = o;
            return this;
        }

        /** The whole subject; overrides {@link #commonName} and {@link #organization}. */
        public Builder subject(X500Principal subject) {
            this.subject = Objects.requireNonNull(subject, "subject");
            return this;
        }

        /** Adds a SPIFFE ID as a URI SAN (a trust domain's ID for a CA). */
        public Builder spiffeId(SpiffeId id) {
            return uri(id.toString());
        }

        /** Adds {@code uri} as a URI SAN, checked by no one: tests put bad SPIFFE IDs here too. */
        public Builder spiffeId(String uri) {
            return uri(uri);
        }

        /** Adds any URI SAN. */
        public Builder uri(String uri) {
            uris.add(Objects.requireNonNull(uri, "uri"));
            return this;
        }

        /** Adds a DNS SAN. */
        public Builder addDnsName(String dnsName) {
            dnsNames.add(Objects.requireNonNull(dnsName, "dnsName"));
            return this;
        }

        /** Adds DNS SANs. */
        public Builder dnsNames(List<String> names) {
            names.forEach(this::addDnsName);
            return this;
        }

        /** An EC P-256 key (the default). */
        public Builder ecdsa256() {
            return key("EC", 256);
        }

        /** An EC P-384 key. */
        public Builder ecdsa384() {
            return key("EC", 384);
        }

        /** An RSA key of 2048 bits. */
        public Builder rsa2048() {
            return key("RSA", 2048);
        }

        /** An RSA key of {@code bits}. */
        public Builder rsa(int bits) {
            return key("RSA", bits);
        }

        /** An Ed25519 key. */
        public Builder ed25519() {
            return key("Ed25519", 0);
        }

        private Builder key(String algorithm, int size) {
            this.keyAlgorithm = algorithm;
            this.keySize = size;
            this.keyPair = null;
            return this;
        }

        /** Certifies this existing key pair instead of generating one. */
        public Builder keyPair(KeyPair keyPair) {
            this.keyPair = Objects.requireNonNull(keyPair, "keyPair");
            return this;
        }

        /** Signed by {@code issuer}'s key, naming it as issuer (default: self-signed). */
        public Builder signedBy(HeldCertificate issuer) {
            this.signedBy = Objects.requireNonNull(issuer, "issuer");
            return this;
        }

        /**
         * A CA that may sign certificates, with at most {@code maxPathLen} CAs below it ({@code 0}:
         * it signs leaves only): {@code cA=true} with that path length, key usage
         * keyCertSign|cRLSign, no extended key usage, valid a day by default.
         */
        public Builder ca(int maxPathLen) {
            if (maxPathLen < 0) {
                throw new IllegalArgumentException("invalid maxPathLen: " + maxPathLen);
            }
            this.maxPathLen = maxPathLen;
            this.ca = Boolean.TRUE;
            return this;
        }

        /** A CA as {@link #ca(int)}, without a path length constraint. */
        public Builder ca() {
            this.maxPathLen = -1;
            this.ca = Boolean.TRUE;
            return this;
        }

        /** Leaves out the basicConstraints extension (neither CA nor leaf said). */
        public Builder noBasicConstraints() {
            this.ca = null;
            return this;
        }

        /** These key usage bits (BouncyCastle's {@link KeyUsage} constants). */
        public Builder keyUsage(int bits) {
            this.keyUsage = bits;
            this.keyUsageSet = true;
            return this;
        }

        /** Leaves out the keyUsage extension. */
        public Builder noKeyUsage() {
            this.keyUsage = null;
            this.keyUsageSet = true;
            return this;
        }

        /**
         * With or without extended key usage serverAuth and clientAuth (default: a leaf has it).
         */
        public Builder extendedKeyUsage(boolean present) {
            this.extendedKeyUsage = present;
            return this;
        }

        /**
         * The issuer signs with this algorithm (BouncyCastle name, e.g. {@code SHA1withRSA}, from
         * BouncyCastle's provider, which has weak ones too); default SHA-256 with the issuer key's
         * kind.
         */
        public Builder signatureAlgorithm(String algorithm) {
            this.signatureAlgorithm = Objects.requireNonNull(algorithm, "algorithm");
            return this;
        }

        public Builder serialNumber(long serial) {
            this.serialNumber = BigInteger.valueOf(serial);
            return this;
        }

        public HeldCertificate build() {
            KeyPair subjectKeys = keyPair != null ? keyPair : generate();
            Instant now = clock.instant();
            Instant from;
            Instant until;
            if (notBefore != null) {
                from = notBefore;
                until = notAfter;
            } else if (validFor != null) {
                from = now.minusSeconds(10);
                until = now.plus(validFor);
            } else {
                from = now.minus(Duration.ofHours(1));
                until =
                        now.plus(
                                Boolean.TRUE.equals(ca) ? Duration.ofDays(1) : Duration.ofHours(1));
            }
            X500Principal name = subject != null ? subject : principal();
            X509Certificate issuerCert = signedBy == null ? null : signedBy.certificate;
            PrivateKey signingKey =
                    signedBy == null ? subjectKeys.getPrivate() : signedBy.privateKey();
            try {
                X509v3CertificateBuilder b =
                        new JcaX509v3CertificateBuilder(
                                issuerCert == null ? name : issuerCert.getSubjectX500Principal(),
                                serialNumber != null
                                        ? serialNumber
                                        : BigInteger.valueOf(SERIAL.incrementAndGet()),
                                Date.from(from),
                                Date.from(until),
                                name,
                                subjectKeys.getPublic());
                JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
                if (ca != null) {
                    b.addExtension(
                            Extension.basicConstraints,
                            true,
                            ca && maxPathLen >= 0
                                    ? new BasicConstraints(maxPathLen)
                                    : new BasicConstraints(ca));
                }
                Integer usage = keyUsage;
                if (!keyUsageSet) {
                    usage = Boolean.TRUE.equals(ca) ? CA_KEY_USAGE : LEAF_KEY_USAGE;
                }
                if (usage != null) {
                    b.addExtension(Extension.keyUsage, true, new KeyUsage(usage));
                }
                boolean eku =
                        extendedKeyUsage != null ? extendedKeyUsage : !Boolean.TRUE.equals(ca);
                if (eku) {
                    b.addExtension(
                            Extension.extendedKeyUsage,
                            false,
                            new ExtendedKeyUsage(
                                    new KeyPurposeId[] {
                                        KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                                    }));
                }
                List<GeneralName> names = new ArrayList<>();
                uris.forEach(
                        u -> names.add(new GeneralName(GeneralName.uniformResourceIdentifier, u)));
                dnsNames.forEach(d -> names.add(new GeneralName(GeneralName.dNSName, d)));
                if (!names.isEmpty()) {
                    // RFC 5280 4.2.1.6: critical when the subject is empty (as the server mints).
                    b.addExtension(
                            Extension.subjectAlternativeName,
                            name.getName().isEmpty(),
                            new GeneralNames(names.toArray(GeneralName[]::new)));
                }
                b.addExtension(
                        Extension.subjectKeyIdentifier,
                        false,
                        ext.createSubjectKeyIdentifier(subjectKeys.getPublic()));
                if (issuerCert != null) {
                    b.addExtension(
                            Extension.authorityKeyIdentifier,
                            false,
                            ext.createAuthorityKeyIdentifier(issuerCert));
                }
                String alg =
                        signatureAlgorithm != null
                                ? signatureAlgorithm
                                : switch (signingKey.getAlgorithm()) {
                                    case "EC" -> "SHA256withECDSA";
                                    case "RSA" -> "SHA256withRSA";
                                    default -> "Ed25519";
                                };
                JcaContentSignerBuilder signer = new JcaContentSignerBuilder(alg);
                if (signatureAlgorithm != null) {
                    // BouncyCastle's provider has every algorithm, weak and PSS ones included.
                    signer.setProvider(new BouncyCastleProvider());
                }
                X509Certificate cert =
                        new JcaX509CertificateConverter()
                                .getCertificate(b.build(signer.build(signingKey)));
                return new HeldCertificate(cert, subjectKeys, signedBy);
            } catch (Exception e) {
                throw new IllegalStateException(
                        "cannot build test certificate " + name + ": " + e, e);
            }
        }

        private X500Principal principal() {
            String dn = "CN=" + commonName;
            if (organization != null) {
                dn += ",O=" + organization;
            }
            return new X500Principal(dn);
        }

        private KeyPair generate() {
            return switch (keyAlgorithm) {
                case "EC" -> ecKeyPair(keySize == 384 ? "secp384r1" : "secp256r1");
                case "RSA" -> rsaKeyPair(keySize);
                default -> ed25519KeyPair();
            };
        }
    }
}
