package io.mithril.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class X509MinterTest {

    static final TrustDomain TD = TrustDomain.of("example.org");
    static final SpiffeId WORKLOAD =
            SpiffeId.parse("spiffe://example.org/ns/default/sa/productpage");
    static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");

    final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    final X509Minter minter = new X509Minter(clock);
    final KeyPair rootKey = KeyType.EC_P256.generate();
    final X509Certificate root =
            minter.selfSignedCa(
                    rootKey, TD, Duration.ofDays(365), new X500Principal("CN=Upstream CA"));
    final SigningAuthority rootAuthority = SigningAuthority.of(root, rootKey.getPrivate());

    @TempDir Path dir;

    // ---- CA profile ----

    @Test
    void selfSignedCaIsACaWithTheTrustDomainIdAndCriticalCaKeyUsage() throws Exception {
        assertThat(root.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        assertThat(root.getCriticalExtensionOIDs())
                .contains(Extension.basicConstraints.getId(), Extension.keyUsage.getId());
        assertThat(keyUsage(root)).containsExactly("keyCertSign", "cRLSign");
        assertThat(Certificates.uriSans(root)).containsExactly("spiffe://example.org");
        assertThat(root.getSubjectX500Principal()).isEqualTo(new X500Principal("CN=Upstream CA"));
        assertThat(root.getIssuerX500Principal()).isEqualTo(root.getSubjectX500Principal());
        assertThat(Certificates.isSelfSigned(root)).isTrue();
        assertThat(root.getNotBefore().toInstant()).isEqualTo(NOW.minusSeconds(10));
        assertThat(root.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(365)));
        assertThat(root.getSigAlgName()).isEqualTo("SHA256withECDSA");
        assertThat(ski(root)).isEqualTo(aki(root));
    }

    @Test
    void selfSignedCaWithoutSubjectUsesSpiresDefaultSubject() {
        X509Certificate ca =
                minter.selfSignedCa(KeyType.EC_P256.generate(), TD, Duration.ofHours(24), null);
        assertThat(ca.getSubjectX500Principal().getName()).isEqualTo("O=SPIFFE,C=US");
    }

    @Test
    void signedCaHasCaProfileAkiOfIssuerAndIssuerSubjectAsIssuerName() throws Exception {
        KeyPair serverKey = KeyType.RSA_2048.generate();
        X509Certificate ca =
                minter.signCa(rootAuthority, serverKey.getPublic(), TD, Duration.ofHours(24), null);
        assertThat(ca.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        assertThat(ca.getCriticalExtensionOIDs())
                .contains(Extension.basicConstraints.getId(), Extension.keyUsage.getId());
        assertThat(keyUsage(ca)).containsExactly("keyCertSign", "cRLSign");
        assertThat(ca.getExtendedKeyUsage()).isNull();
        assertThat(Certificates.uriSans(ca)).containsExactly("spiffe://example.org");
        assertThat(ca.getIssuerX500Principal()).isEqualTo(root.getSubjectX500Principal());
        assertThat(ca.getPublicKey()).isEqualTo(serverKey.getPublic());
        assertThat(aki(ca)).isEqualTo(ski(root));
        assertThat(ski(ca)).isEqualTo(X509Minter.keyIdentifier(serverKey.getPublic()));
        assertThat(ca.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofHours(24)));
        assertThat(ca.getSigAlgName()).isEqualTo("SHA256withECDSA"); // follows the issuer's key
        ca.verify(root.getPublicKey());
    }

    @Test
    void signedCaNeverOutlivesItsIssuer() {
        X509Certificate shortRoot = minter.selfSignedCa(rootKey, TD, Duration.ofHours(2), null);
        X509Certificate ca =
                minter.signCa(
                        SigningAuthority.of(shortRoot, rootKey.getPrivate()),
                        KeyType.EC_P256.generate().getPublic(),
                        TD,
                        Duration.ofDays(30),
                        null);
        assertThat(ca.getNotAfter()).isEqualTo(shortRoot.getNotAfter());
    }

    // ---- X509-SVID profile ----

    @Test
    void x509SvidHasEveryProfileField() throws Exception {
        KeyPair serverKey = KeyType.EC_P256.generate();
        X509Certificate ca =
                minter.signCa(rootAuthority, serverKey.getPublic(), TD, Duration.ofHours(24), null);
        KeyPair leafKey = KeyType.EC_P256.generate();
        X509Certificate leaf =
                minter.signX509Svid(
                        new SigningAuthority(ca, serverKey.getPrivate(), List.of(ca)),
                        leafKey.getPublic(),
                        WORKLOAD,
                        List.of("productpage.default.svc", "productpage"),
                        Duration.ofHours(1));

        assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
        assertThat(leaf.getExtensionValue(Extension.basicConstraints.getId())).isNotNull();
        assertThat(leaf.getCriticalExtensionOIDs())
                .contains(Extension.basicConstraints.getId(), Extension.keyUsage.getId());
        assertThat(keyUsage(leaf))
                .containsExactly("digitalSignature", "keyEncipherment", "keyAgreement");
        assertThat(leaf.getExtendedKeyUsage())
                .containsExactly("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        assertThat(Certificates.uriSans(leaf)).containsExactly(WORKLOAD.toString());
        assertThat(Certificates.dnsSans(leaf))
                .containsExactly("productpage.default.svc", "productpage");
        assertThat(leaf.getSubjectX500Principal().getName())
                .isEqualTo("CN=productpage.default.svc,O=SPIFFE,C=US");
        assertThat(leaf.getIssuerX500Principal()).isEqualTo(ca.getSubjectX500Principal());
        assertThat(leaf.getNotBefore().toInstant()).isEqualTo(NOW.minusSeconds(10));
        assertThat(leaf.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofHours(1)));
        assertThat(leaf.getSerialNumber().signum()).isPositive();
        assertThat(leaf.getSerialNumber().bitLength()).isLessThanOrEqualTo(128);
        assertThat(leaf.getVersion()).isEqualTo(3);
        assertThat(aki(leaf)).isEqualTo(ski(ca));
        assertThat(ski(leaf)).isEqualTo(X509Minter.keyIdentifier(leafKey.getPublic()));
        assertThat(leaf.getPublicKey()).isEqualTo(leafKey.getPublic());
        assertThat(leaf.getSigAlgName()).isEqualTo("SHA256withECDSA");
        leaf.verify(ca.getPublicKey());
    }

    @Test
    void x509SvidWithoutDnsNamesHasSubjectWithoutCnAndOnlyTheUriSan() {
        X509Certificate leaf =
                minter.signX509Svid(
                        rootAuthority,
                        KeyType.EC_P256.generate().getPublic(),
                        WORKLOAD,
                        List.of(),
                        Duration.ofHours(1));
        assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("O=SPIFFE,C=US");
        assertThat(Certificates.uriSans(leaf)).containsExactly(WORKLOAD.toString());
        assertThat(Certificates.dnsSans(leaf)).isEmpty();
    }

    @Test
    void firstDnsNameLongerThan64CharactersStaysOutOfTheCommonName() {
        String longName = "a".repeat(60) + ".example.org";
        X509Certificate leaf =
                minter.signX509Svid(
                        rootAuthority,
                        KeyType.EC_P256.generate().getPublic(),
                        WORKLOAD,
                        List.of(longName),
                        Duration.ofHours(1));
        assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("O=SPIFFE,C=US");
        assertThat(Certificates.dnsSans(leaf)).containsExactly(longName);
    }

    @Test
    void x509SvidNeverOutlivesItsIssuer() {
        X509Certificate shortCa =
                minter.signCa(rootAuthority, rootKey.getPublic(), TD, Duration.ofMinutes(20), null);
        X509Certificate leaf =
                minter.signX509Svid(
                        new SigningAuthority(shortCa, rootKey.getPrivate(), List.of(shortCa, root)),
                        KeyType.EC_P256.generate().getPublic(),
                        WORKLOAD,
                        null,
                        Duration.ofHours(1));
        assertThat(leaf.getNotAfter()).isEqualTo(shortCa.getNotAfter());
    }

    @Test
    void x509SvidSignedByRsaCaUsesSha256WithRsa() throws Exception {
        KeyPair rsa = KeyType.RSA_2048.generate();
        X509Certificate rsaCa =
                minter.signCa(rootAuthority, rsa.getPublic(), TD, Duration.ofHours(24), null);
        X509Certificate leaf =
                minter.signX509Svid(
                        SigningAuthority.of(rsaCa, rsa.getPrivate()),
                        KeyType.EC_P256.generate().getPublic(),
                        WORKLOAD,
                        List.of(),
                        Duration.ofHours(1));
        assertThat(leaf.getSigAlgName()).isEqualTo("SHA256withRSA");
        assertThat(leaf.getPublicKey().getAlgorithm()).isEqualTo("EC");
        leaf.verify(rsa.getPublic());
    }

    @Test
    void p384IssuerSignsWithSha384() {
        KeyPair p384 = KeyType.EC_P384.generate();
        X509Certificate ca = minter.selfSignedCa(p384, TD, Duration.ofHours(1), null);
        assertThat(ca.getSigAlgName()).isEqualTo("SHA384withECDSA");
    }

    @Test
    void serialNumbersAreDistinctPositiveAndUpTo128Bits() {
        Set<BigInteger> serials = new HashSet<>();
        KeyPair leafKey = KeyType.EC_P256.generate();
        for (int i = 0; i < 50; i++) {
            BigInteger s =
                    minter.signX509Svid(
                                    rootAuthority,
                                    leafKey.getPublic(),
                                    WORKLOAD,
                                    List.of(),
                                    Duration.ofHours(1))
                            .getSerialNumber();
            assertThat(s.signum()).isPositive();
            assertThat(s.bitLength()).isLessThanOrEqualTo(128);
            serials.add(s);
        }
        assertThat(serials).hasSize(50);
        // 50 random 128-bit numbers all shorter than 120 bits would mean the generator is broken.
        assertThat(serials.stream().mapToInt(BigInteger::bitLength).max().orElseThrow())
                .isGreaterThan(120);
    }

    @Test
    void x509SvidRejectsATrustDomainIdWithoutPath() {
        assertThatThrownBy(
                        () ->
                                minter.signX509Svid(
                                        rootAuthority,
                                        rootKey.getPublic(),
                                        TD.id(),
                                        List.of(),
                                        Duration.ofHours(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has no path");
    }

    @Test
    void x509SvidRejectsAnIdOfAnotherTrustDomainThanTheIssuers() {
        assertThatThrownBy(
                        () ->
                                minter.signX509Svid(
                                        rootAuthority,
                                        rootKey.getPublic(),
                                        SpiffeId.parse("spiffe://domain.test/web"),
                                        List.of(),
                                        Duration.ofHours(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("spiffe://domain.test/web")
                .hasMessageContaining("example.org");
    }

    @Test
    void nonPositiveTtlIsRejected() {
        assertThatThrownBy(
                        () ->
                                minter.signX509Svid(
                                        rootAuthority,
                                        rootKey.getPublic(),
                                        WORKLOAD,
                                        List.of(),
                                        Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("TTL must be positive");
    }

    @Test
    void expiredIssuerCannotSign() {
        X509Minter later = new X509Minter(Clock.offset(clock, Duration.ofDays(400)));
        assertThatThrownBy(
                        () ->
                                later.signX509Svid(
                                        rootAuthority,
                                        rootKey.getPublic(),
                                        WORKLOAD,
                                        List.of(),
                                        Duration.ofHours(1)))
                .isInstanceOf(X509MintException.class)
                .hasMessageContaining("expired at");
    }

    @Test
    void signingAuthorityChainMustStartWithItsCertificate() {
        X509Certificate other =
                minter.selfSignedCa(
                        KeyType.EC_P256.generate(),
                        TD,
                        Duration.ofHours(1),
                        new X500Principal("CN=Other"));
        assertThatThrownBy(() -> new SigningAuthority(root, rootKey.getPrivate(), List.of(other)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must start with");
        assertThat(new SigningAuthority(root, rootKey.getPrivate(), List.of()).chain())
                .containsExactly(root);
    }

    @Test
    void certificateTimesEncodeExactlyAsBouncyCastleDoesOnBothSidesOf2050() throws Exception {
        java.util.Random r = new java.util.Random(7);
        List<Instant> instants =
                new java.util.ArrayList<>(
                        List.of(
                                Instant.parse("2049-12-31T23:59:59Z"),
                                Instant.parse("2050-01-01T00:00:00Z"),
                                Instant.parse("1999-02-28T01:02:03Z"),
                                NOW));
        for (int i = 0; i < 200; i++) {
            instants.add(
                    Instant.ofEpochSecond(
                            Instant.parse("1950-01-01T00:00:00Z").getEpochSecond()
                                    + (long)
                                            (r.nextDouble()
                                                    * (Instant.parse("2199-01-01T00:00:00Z")
                                                                    .getEpochSecond()
                                                            - Instant.parse("1950-01-01T00:00:00Z")
                                                                    .getEpochSecond()))));
        }
        for (Instant i : instants) {
            assertThat(X509Minter.asn1Time(i).getEncoded())
                    .as(i.toString())
                    .isEqualTo(
                            new org.bouncycastle.asn1.x509.Time(
                                            java.util.Date.from(i), java.util.Locale.ROOT)
                                    .getEncoded());
        }
        assertThat(X509Minter.asn1Time(Instant.parse("2049-12-31T23:59:59Z")).toASN1Primitive())
                .isInstanceOf(org.bouncycastle.asn1.ASN1UTCTime.class);
        assertThat(X509Minter.asn1Time(Instant.parse("2050-01-01T00:00:00Z")).toASN1Primitive())
                .isInstanceOf(org.bouncycastle.asn1.ASN1GeneralizedTime.class);
    }

    @Test
    void caValidUntilAfter2050HasTheRightNotAfter() {
        Duration toward2060 = Duration.between(NOW, Instant.parse("2060-03-04T05:06:07Z"));
        X509Certificate ca = minter.selfSignedCa(rootKey, TD, toward2060, null);
        assertThat(ca.getNotAfter().toInstant()).isEqualTo(Instant.parse("2060-03-04T05:06:07Z"));
    }

    // ---- helpers ----

    static List<String> keyUsage(X509Certificate c) {
        String[] names = {
            "digitalSignature",
            "nonRepudiation",
            "keyEncipherment",
            "dataEncipherment",
            "keyAgreement",
            "keyCertSign",
            "cRLSign",
            "encipherOnly",
            "decipherOnly"
        };
        boolean[] ku = c.getKeyUsage();
        List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i < ku.length; i++) {
            if (ku[i]) {
                out.add(names[i]);
            }
        }
        return out;
    }

    static byte[] ski(X509Certificate c) {
        return SubjectKeyIdentifier.getInstance(
                        ASN1OctetString.getInstance(
                                        c.getExtensionValue(Extension.subjectKeyIdentifier.getId()))
                                .getOctets())
                .getKeyIdentifier();
    }

    static byte[] aki(X509Certificate c) {
        AuthorityKeyIdentifier aki =
                AuthorityKeyIdentifier.getInstance(
                        ASN1OctetString.getInstance(
                                        c.getExtensionValue(
                                                Extension.authorityKeyIdentifier.getId()))
                                .getOctets());
        assertThat(aki.getAuthorityCertIssuer()).isNull();
        assertThat(aki.getAuthorityCertSerialNumber()).isNull();
        return aki.getKeyIdentifier();
    }

    static Instant truncated(Instant i) {
        return i.truncatedTo(ChronoUnit.SECONDS);
    }
}
