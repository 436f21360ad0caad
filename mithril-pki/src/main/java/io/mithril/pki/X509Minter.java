package io.mithril.pki;

import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1GeneralizedTime;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1UTCTime;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x509.Time;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;

/**
 * Mints the certificates of a SPIFFE trust domain: CA certificates (self-signed roots and
 * intermediates signed by an upstream) and X509-SVIDs (leaf certificates for workloads).
 *
 * <p>Profiles, as SPIRE issues them and the X509-SVID specification requires:
 *
 * <ul>
 *   <li>CA: {@code cA=true} (critical), KeyUsage keyCertSign|cRLSign (critical), URI SAN = the
 *       trust domain ID {@code spiffe://<td>}, SubjectKeyIdentifier, AuthorityKeyIdentifier.
 *   <li>X509-SVID: {@code cA=false} (critical), KeyUsage
 *       digitalSignature|keyEncipherment|keyAgreement (critical), ExtendedKeyUsage
 *       serverAuth+clientAuth, exactly one URI SAN (the SPIFFE ID), DNS SANs if given, subject
 *       {@code C=US, O=SPIFFE} plus {@code CN=<first DNS name>}, SubjectKeyIdentifier,
 *       AuthorityKeyIdentifier.
 * </ul>
 *
 * NotBefore is backdated by {@link #BACKDATE} to tolerate clock skew; NotAfter is {@code now + ttl}
 * but never later than the NotAfter of any certificate in the issuer's chain, so nothing outlives
 * its signer. Serial numbers are 128-bit positive integers from a CSPRNG. The signature algorithm
 * follows the issuer's key (SHA256withECDSA for P-256, SHA384withECDSA for P-384, SHA256withRSA for
 * RSA).
 *
 * <p>Thread-safe; signing uses the {@link CryptoProvider} given at construction.
 */
public final class X509Minter {

    /** How far NotBefore is set back from now, as SPIRE does. */
    public static final Duration BACKDATE = Duration.ofSeconds(10);

    /** SPIRE's default CA subject, {@code C=US, O=SPIFFE}. */
    public static final X500Principal DEFAULT_CA_SUBJECT = new X500Principal("O=SPIFFE, C=US");

    private static final int MAX_COMMON_NAME = 64;

    private static final ThreadLocal<SecureRandom> RANDOM =
            ThreadLocal.withInitial(SecureRandom::new);

    private final Clock clock;
    private final CryptoProvider crypto;

    /**
     * What the minter derives from the last issuer (its name, key identifier, trust domain,
     * validity cap, and its key imported into {@link #crypto}): a CA signs many certificates in a
     * row, and deriving these per certificate costs as much as the signature itself.
     */
    private volatile IssuerFacts lastIssuer;

    private record IssuerFacts(
            SigningAuthority authority,
            X500Name name,
            byte[] keyId,
            Optional<TrustDomain> trustDomain,
            Instant notBefore,
            Instant notAfterCap,
            PrivateKey signingKey) {}

    private static final ThreadLocal<CertificateFactory> CERTIFICATE_FACTORY =
            ThreadLocal.withInitial(
                    () -> {
                        try {
                            return CertificateFactory.getInstance("X.509");
                        } catch (CertificateException e) {
                            throw new IllegalStateException(
                                    "the JDK has no X.509 certificate factory", e);
                        }
                    });

    /** A minter reading time from {@code clock} and signing with {@link CryptoProvider#get()}. */
    public X509Minter(Clock clock) {
        this(clock, CryptoProvider.get());
    }

    /** A minter reading time from {@code clock} and signing with {@code crypto}. */
    public X509Minter(Clock clock, CryptoProvider crypto) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.crypto = Objects.requireNonNull(crypto, "crypto");
    }

    /** The clock this minter reads. */
    public Clock clock() {
        return clock;
    }

    /** The provider this minter signs with. */
    public CryptoProvider crypto() {
        return crypto;
    }

    /**
     * A self-signed CA certificate (a trust domain root) for the key pair.
     *
     * @param subject the subject (and issuer) name; null means {@link #DEFAULT_CA_SUBJECT}
     * @throws IllegalArgumentException if {@code ttl} is not positive
     */
    public X509Certificate selfSignedCa(
            KeyPair keyPair, TrustDomain trustDomain, Duration ttl, X500Principal subject) {
        Objects.requireNonNull(keyPair, "keyPair");
        Objects.requireNonNull(trustDomain, "trustDomain");
        requirePositive(ttl);
        X500Principal name = subject == null ? DEFAULT_CA_SUBJECT : subject;
        Instant now = now();
        X509v3CertificateBuilder b =
                new X509v3CertificateBuilder(
                        x500Name(name),
                        serial(),
                        asn1Time(now.minus(BACKDATE)),
                        asn1Time(now.plus(ttl)),
                        x500Name(name),
                        spki(keyPair.getPublic()));
        byte[] ski = keyIdentifier(keyPair.getPublic());
        addCaExtensions(b, trustDomain, ski, ski);
        return sign(b, keyPair.getPrivate(), name);
    }

    /**
     * A CA certificate for {@code subjectKey}, signed by {@code issuer}: an intermediate of the
     * trust domain.
     *
     * @param subject the subject name; null means {@link #DEFAULT_CA_SUBJECT}
     * @throws IllegalArgumentException if {@code ttl} is not positive
     * @throws X509MintException if the issuer is expired or not yet valid, or cannot sign
     */
    public X509Certificate signCa(
            SigningAuthority issuer,
            PublicKey subjectKey,
            TrustDomain trustDomain,
            Duration ttl,
            X500Principal subject) {
        Objects.requireNonNull(issuer, "issuer");
        Objects.requireNonNull(subjectKey, "subjectKey");
        Objects.requireNonNull(trustDomain, "trustDomain");
        requirePositive(ttl);
        X500Principal name = subject == null ? DEFAULT_CA_SUBJECT : subject;
        IssuerFacts f = facts(issuer);
        Instant now = now();
        Instant notAfter = notAfter(f, now, ttl);
        X509v3CertificateBuilder b =
                new X509v3CertificateBuilder(
                        f.name,
                        serial(),
                        asn1Time(now.minus(BACKDATE)),
                        asn1Time(notAfter),
                        x500Name(name),
                        spki(subjectKey));
        addCaExtensions(b, trustDomain, keyIdentifier(subjectKey), f.keyId);
        return sign(b, f.signingKey, issuer.certificate().getSubjectX500Principal());
    }

    /**
     * An X509-SVID for {@code subjectKey}, signed by {@code issuer}.
     *
     * @param id the SPIFFE ID (the only URI SAN); must have a path, and be in the issuer's trust
     *     domain if the issuer carries a SPIFFE ID
     * @param dnsNames DNS SANs (may be empty or null); the first also becomes the subject CN (if it
     *     fits the 64 characters X.520 allows)
     * @throws IllegalArgumentException for a non-positive ttl, a trust-domain-only ID, an ID of
     *     another trust domain than the issuer's, or an empty or non-ASCII DNS name
     * @throws X509MintException if the issuer is expired or not yet valid, or cannot sign
     */
    public X509Certificate signX509Svid(
            SigningAuthority issuer,
            PublicKey subjectKey,
            SpiffeId id,
            List<String> dnsNames,
            Duration ttl) {
        Objects.requireNonNull(issuer, "issuer");
        Objects.requireNonNull(subjectKey, "subjectKey");
        Objects.requireNonNull(id, "id");
        requirePositive(ttl);
        if (id.isTrustDomainId()) {
            throw new IllegalArgumentException(
                    "X509-SVID ID " + id + " has no path: a workload's SPIFFE ID needs one");
        }
        IssuerFacts f = facts(issuer);
        if (f.trustDomain.isPresent() && !id.memberOf(f.trustDomain.get())) {
            throw new IllegalArgumentException(
                    "X509-SVID ID "
                            + id
                            + " is not in the issuer's trust domain "
                            + f.trustDomain.get());
        }
        List<String> dns = dnsNames == null ? List.of() : dnsNames;
        for (String d : dns) {
            if (d == null || d.isBlank() || !StandardCharsets.US_ASCII.newEncoder().canEncode(d)) {
                throw new IllegalArgumentException(
                        "invalid DNS name \"" + d + "\" for " + id + ": must be non-empty ASCII");
            }
        }
        X500NameBuilder subject =
                new X500NameBuilder(BCStyle.INSTANCE)
                        .addRDN(BCStyle.C, "US")
                        .addRDN(BCStyle.O, "SPIFFE");
        if (!dns.isEmpty() && dns.get(0).length() <= MAX_COMMON_NAME) {
            // X.520 caps a common name at 64 characters; a longer DNS name stays in the SAN only.
            subject.addRDN(BCStyle.CN, dns.get(0));
        }
        Instant now = now();
        Instant notAfter = notAfter(f, now, ttl);
        SubjectPublicKeyInfo subjectInfo = spki(subjectKey);
        X509v3CertificateBuilder b =
                new X509v3CertificateBuilder(
                        f.name,
                        serial(),
                        asn1Time(now.minus(BACKDATE)),
                        asn1Time(notAfter),
                        subject.build(),
                        subjectInfo);
        List<GeneralName> sans = new ArrayList<>();
        sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString()));
        for (String d : dns) {
            sans.add(new GeneralName(GeneralName.dNSName, d));
        }
        try {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(
                    Extension.keyUsage,
                    true,
                    new KeyUsage(
                            KeyUsage.digitalSignature
                                    | KeyUsage.keyEncipherment
                                    | KeyUsage.keyAgreement));
            b.addExtension(
                    Extension.extendedKeyUsage,
                    false,
                    new ExtendedKeyUsage(
                            new KeyPurposeId[] {
                                KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                            }));
            b.addExtension(
                    Extension.subjectAlternativeName,
                    false,
                    new GeneralNames(sans.toArray(new GeneralName[0])));
            b.addExtension(
                    Extension.subjectKeyIdentifier,
                    false,
                    new SubjectKeyIdentifier(keyIdentifier(subjectInfo)));
            b.addExtension(
                    Extension.authorityKeyIdentifier, false, new AuthorityKeyIdentifier(f.keyId));
        } catch (CertIOException e) {
            throw new X509MintException(
                    "cannot encode X509-SVID extensions for " + id + ": " + e.getMessage(), e);
        }
        return sign(b, f.signingKey, issuer.certificate().getSubjectX500Principal());
    }

    // ---- helpers ---------------------------------------------------------------------

    /** The trust domain of a certificate's SPIFFE URI SAN, if it has exactly one. */
    public static Optional<TrustDomain> trustDomainOf(X509Certificate cert) {
        return Certificates.spiffeId(cert).map(SpiffeId::trustDomain);
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.SECONDS);
    }

    private static void requirePositive(Duration ttl) {
        if (ttl == null || ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("TTL must be positive (got " + ttl + ")");
        }
    }

    private IssuerFacts facts(SigningAuthority issuer) {
        IssuerFacts f = lastIssuer;
        if (f != null && (f.authority == issuer || f.authority.equals(issuer))) {
            return f;
        }
        X509Certificate ca = issuer.certificate();
        Instant cap = ca.getNotAfter().toInstant();
        for (X509Certificate c : issuer.chain()) {
            Instant na = c.getNotAfter().toInstant();
            if (na.isBefore(cap)) {
                cap = na;
            }
        }
        // The exact encoded subject of the issuer, so name chaining matches byte for byte.
        X500Name name = X500Name.getInstance(ca.getSubjectX500Principal().getEncoded());
        f =
                new IssuerFacts(
                        issuer,
                        name,
                        issuerKeyIdentifier(ca),
                        trustDomainOf(ca),
                        ca.getNotBefore().toInstant(),
                        cap,
                        crypto.importKey(issuer.privateKey()));
        lastIssuer = f;
        return f;
    }

    private static Instant notAfter(IssuerFacts f, Instant now, Duration ttl) {
        X509Certificate ca = f.authority.certificate();
        if (now.isBefore(f.notBefore)) {
            throw new X509MintException(
                    "issuer "
                            + ca.getSubjectX500Principal()
                            + " is not valid until "
                            + f.notBefore
                            + " (now "
                            + now
                            + ")");
        }
        if (!now.isBefore(f.notAfterCap)) {
            throw new X509MintException(
                    "issuer "
                            + ca.getSubjectX500Principal()
                            + " (or its chain) expired at "
                            + f.notAfterCap
                            + " (now "
                            + now
                            + ")");
        }
        Instant wanted = now.plus(ttl);
        return wanted.isAfter(f.notAfterCap) ? f.notAfterCap : wanted;
    }

    private void addCaExtensions(
            X509v3CertificateBuilder b, TrustDomain td, byte[] ski, byte[] aki) {
        try {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(
                    Extension.keyUsage,
                    true,
                    new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(
                    Extension.subjectAlternativeName,
                    false,
                    new GeneralNames(
                            new GeneralName(GeneralName.uniformResourceIdentifier, td.idString())));
            b.addExtension(Extension.subjectKeyIdentifier, false, new SubjectKeyIdentifier(ski));
            b.addExtension(
                    Extension.authorityKeyIdentifier, false, new AuthorityKeyIdentifier(aki));
        } catch (CertIOException e) {
            throw new X509MintException("cannot encode CA extensions: " + e.getMessage(), e);
        }
    }

    private X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key, X500Principal issuer) {
        String alg;
        try {
            alg = KeyType.signatureAlgorithmFor(key);
        } catch (IllegalArgumentException e) {
            throw new X509MintException("issuer " + issuer + ": " + e.getMessage(), e);
        }
        byte[] der;
        try {
            der = b.build(crypto.contentSigner(key, alg)).getEncoded();
        } catch (IOException | CryptoException | IllegalStateException e) {
            throw new X509MintException(
                    "issuer " + issuer + " cannot sign (" + alg + "): " + e.getMessage(), e);
        }
        try {
            return (X509Certificate)
                    CERTIFICATE_FACTORY.get().generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException e) {
            throw new X509MintException("minted certificate does not parse: " + e.getMessage(), e);
        }
    }

    /**
     * RFC 5280 time: UTCTime through 2049, GeneralizedTime from 2050, seconds, "Z". Built by hand:
     * BouncyCastle's {@code Time(Date)} formats with a new SimpleDateFormat each call, which cost
     * as much as the ECDSA signature of the certificate.
     */
    static Time asn1Time(Instant instant) {
        java.time.LocalDateTime t =
                java.time.LocalDateTime.ofInstant(instant, java.time.ZoneOffset.UTC);
        int year = t.getYear();
        if (year < 1950 || year > 9999) {
            throw new IllegalArgumentException("certificate time out of range: " + instant);
        }
        boolean utc = year < 2050;
        byte[] der = new byte[utc ? 15 : 17];
        der[0] = (byte) (utc ? 0x17 : 0x18);
        der[1] = (byte) (der.length - 2);
        int i = 2;
        i = digits(der, i, utc ? year % 100 : year, utc ? 2 : 4);
        i = digits(der, i, t.getMonthValue(), 2);
        i = digits(der, i, t.getDayOfMonth(), 2);
        i = digits(der, i, t.getHour(), 2);
        i = digits(der, i, t.getMinute(), 2);
        i = digits(der, i, t.getSecond(), 2);
        der[i] = 'Z';
        return utc
                ? new Time(ASN1UTCTime.getInstance(der))
                : new Time(ASN1GeneralizedTime.getInstance(der));
    }

    private static int digits(byte[] out, int at, int value, int width) {
        for (int k = width - 1; k >= 0; k--) {
            out[at + k] = (byte) ('0' + value % 10);
            value /= 10;
        }
        return at + width;
    }

    private static BigInteger serial() {
        byte[] b = new byte[16];
        BigInteger s;
        do {
            RANDOM.get().nextBytes(b);
            s = new BigInteger(1, b);
        } while (s.signum() == 0);
        return s;
    }

    private static X500Name x500Name(X500Principal p) {
        return X500Name.getInstance(p.getEncoded());
    }

    private static SubjectPublicKeyInfo spki(PublicKey key) {
        return SubjectPublicKeyInfo.getInstance(key.getEncoded());
    }

    /** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits. */
    static byte[] keyIdentifier(PublicKey key) {
        return keyIdentifier(spki(key));
    }

    private static byte[] keyIdentifier(SubjectPublicKeyInfo info) {
        try {
            return MessageDigest.getInstance("SHA-1").digest(info.getPublicKeyData().getBytes());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-1", e);
        }
    }

    /** The issuer's own SubjectKeyIdentifier if it has one (so AKI matches it), else computed. */
    static byte[] issuerKeyIdentifier(X509Certificate issuer) {
        byte[] ext = issuer.getExtensionValue(Extension.subjectKeyIdentifier.getId());
        if (ext != null) {
            try {
                byte[] inner = ASN1OctetString.getInstance(ext).getOctets();
                return SubjectKeyIdentifier.getInstance(inner).getKeyIdentifier();
            } catch (RuntimeException e) {
                // a malformed SKI: fall back to computing it
            }
        }
        return keyIdentifier(issuer.getPublicKey());
    }
}
