package io.mithril.pki.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.pki.Certificates;
import io.mithril.pki.KeyType;
import io.mithril.pki.Openssl;
import io.mithril.pki.Pem;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.pki.upstream.UpstreamAuthority.MintedX509Ca;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.svid.x509svid.X509Svid;
import io.spiffe.svid.x509svid.X509SvidValidator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskUpstreamAuthorityTest {

    static final TrustDomain TD = TrustDomain.of("example.org");
    static final SpiffeId PRODUCTPAGE =
            SpiffeId.parse("spiffe://example.org/ns/default/sa/productpage");
    static final SpiffeId REVIEWS = SpiffeId.parse("spiffe://example.org/ns/default/sa/reviews");

    @TempDir Path dir;

    final Clock clock = Clock.systemUTC(); // openssl verifies against the real time

    Path file(String name) {
        return dir.resolve(name);
    }

    DiskUpstreamAuthority selfSignedDiskCa() {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 365);
        return DiskUpstreamAuthority.load(file("upstream.crt"), file("upstream.key"), null, clock);
    }

    /** A server: its CA key, the intermediate the disk CA minted for it, and a leaf it signs. */
    record Server(KeyPair caKey, MintedX509Ca minted) {
        SigningAuthority authority() {
            return new SigningAuthority(minted.certificate(), caKey.getPrivate(), minted.chain());
        }
    }

    Server server(UpstreamAuthority ua, KeyType caKeyType) {
        KeyPair caKey = caKeyType.generate();
        return new Server(caKey, ua.mintX509Ca(caKey, TD, Duration.ofHours(24), null));
    }

    // ---- minting ----

    @Test
    void mintedIntermediateIsACaForTheServerKeySignedByTheDiskCa() throws Exception {
        DiskUpstreamAuthority ua = selfSignedDiskCa();
        X509Certificate upstream = Pem.readCertificate(file("upstream.crt"));
        Server s = server(ua, KeyType.EC_P256);
        X509Certificate ca = s.minted().certificate();

        assertThat(ua.name()).isEqualTo("disk");
        assertThat(ca.getPublicKey()).isEqualTo(s.caKey().getPublic());
        assertThat(ca.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        assertThat(ca.getKeyUsage()[5]).as("keyCertSign").isTrue();
        assertThat(ca.getKeyUsage()[6]).as("cRLSign").isTrue();
        assertThat(Certificates.uriSans(ca)).containsExactly("spiffe://example.org");
        assertThat(ca.getIssuerX500Principal()).isEqualTo(upstream.getSubjectX500Principal());
        ca.verify(upstream.getPublicKey());
    }

    @Test
    void withoutBundleTheChainIsTheIntermediateAndTheRootIsTheDiskCertificate() {
        DiskUpstreamAuthority ua = selfSignedDiskCa();
        MintedX509Ca minted = server(ua, KeyType.EC_P256).minted();
        assertThat(minted.chain()).hasSize(1);
        assertThat(minted.upstreamRoots())
                .containsExactly(Pem.readCertificate(file("upstream.crt")));
        assertThat(ua.roots()).containsExactly(Pem.readCertificate(file("upstream.crt")));
    }

    @Test
    void leafOfTheMintedIntermediateVerifiesWithOpensslAgainstTheDiskRoot() {
        DiskUpstreamAuthority ua = selfSignedDiskCa();
        Server s = server(ua, KeyType.EC_P256);
        X509Certificate leaf =
                new X509Minter(clock)
                        .signX509Svid(
                                s.authority(),
                                KeyType.EC_P256.generate().getPublic(),
                                PRODUCTPAGE,
                                List.of("productpage.default.svc"),
                                Duration.ofHours(1));

        Openssl.Result r =
                Openssl.verify(dir, s.minted().upstreamRoots(), s.minted().chain(), leaf);
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("leaf.pem: OK");
        for (String purpose : List.of("sslserver", "sslclient")) {
            Openssl.Result strict =
                    Openssl.verify(
                            dir,
                            s.minted().upstreamRoots(),
                            s.minted().chain(),
                            leaf,
                            "-x509_strict",
                            "-purpose",
                            purpose);
            assertThat(strict.exitCode()).as(purpose + ": " + strict.output()).isZero();
        }
    }

    @Test
    void leafOfTheMintedIntermediateIsAValidX509SvidForJavaSpiffe() throws Exception {
        DiskUpstreamAuthority ua = selfSignedDiskCa();
        Server s = server(ua, KeyType.EC_P256);
        KeyPair leafKey = KeyType.EC_P256.generate();
        X509Certificate leaf =
                new X509Minter(clock)
                        .signX509Svid(
                                s.authority(),
                                leafKey.getPublic(),
                                PRODUCTPAGE,
                                List.of(),
                                Duration.ofHours(1));
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(leaf);
        chain.addAll(s.minted().chain());

        X509Svid svid =
                X509Svid.parseRaw(Certificates.concatDer(chain), leafKey.getPrivate().getEncoded());
        assertThat(svid.getSpiffeId().toString()).isEqualTo(PRODUCTPAGE.toString());
        assertThat(svid.getChain()).hasSize(2);
        X509Bundle bundle =
                new X509Bundle(
                        io.spiffe.spiffeid.TrustDomain.parse("example.org"),
                        new HashSet<>(s.minted().upstreamRoots()));
        X509SvidValidator.verifyChain(
                svid.getChain(), bundle); // throws if the chain does not validate
    }

    @Test
    void twoServersOnTheSameDiskCaMintDifferentIntermediatesWhoseLeavesBothVerifyAgainstTheOneRoot()
            throws Exception {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 365);
        DiskUpstreamAuthority cluster1 =
                DiskUpstreamAuthority.load(file("upstream.crt"), file("upstream.key"), null, clock);
        DiskUpstreamAuthority cluster2 =
                DiskUpstreamAuthority.load(file("upstream.crt"), file("upstream.key"), null, clock);
        Server s1 = server(cluster1, KeyType.RSA_2048);
        Server s2 = server(cluster2, KeyType.RSA_2048);
        assertThat(s1.minted().certificate()).isNotEqualTo(s2.minted().certificate());
        assertThat(s1.minted().certificate().getSerialNumber())
                .isNotEqualTo(s2.minted().certificate().getSerialNumber());
        assertThat(s1.minted().upstreamRoots()).isEqualTo(s2.minted().upstreamRoots());

        X509Minter minter = new X509Minter(clock);
        X509Certificate leaf1 =
                minter.signX509Svid(
                        s1.authority(),
                        KeyType.EC_P256.generate().getPublic(),
                        PRODUCTPAGE,
                        List.of(),
                        Duration.ofHours(1));
        X509Certificate leaf2 =
                minter.signX509Svid(
                        s2.authority(),
                        KeyType.EC_P256.generate().getPublic(),
                        REVIEWS,
                        List.of(),
                        Duration.ofHours(1));
        List<X509Certificate> root = s1.minted().upstreamRoots();
        Path d1 = Files.createDirectory(dir.resolve("cluster1"));
        Path d2 = Files.createDirectory(dir.resolve("cluster2"));
        Openssl.Result r1 = Openssl.verify(d1, root, s1.minted().chain(), leaf1);
        Openssl.Result r2 = Openssl.verify(d2, root, s2.minted().chain(), leaf2);
        assertThat(r1.exitCode()).as(r1.output()).isZero();
        assertThat(r2.exitCode()).as(r2.output()).isZero();
        // Each leaf needs its own server's intermediate: cluster 1's does not vouch for cluster 2's
        // leaf.
        Path d3 = Files.createDirectory(dir.resolve("crossed"));
        assertThat(Openssl.verify(d3, root, s1.minted().chain(), leaf2).exitCode()).isNotZero();
    }

    @Test
    void rsa2048ServerCaSignsEcLeavesThatVerifyWithOpensslAndJavaSpiffe() throws Exception {
        DiskUpstreamAuthority ua = selfSignedDiskCa();
        Server s = server(ua, KeyType.fromConfig("rsa-2048"));
        assertThat(s.minted().certificate().getPublicKey().getAlgorithm()).isEqualTo("RSA");
        assertThat(s.minted().certificate().getSigAlgName())
                .isEqualTo("SHA256withECDSA"); // signed by the EC disk CA
        KeyPair leafKey = KeyType.EC_P256.generate();
        X509Certificate leaf =
                new X509Minter(clock)
                        .signX509Svid(
                                s.authority(),
                                leafKey.getPublic(),
                                PRODUCTPAGE,
                                List.of(),
                                Duration.ofHours(1));
        assertThat(leaf.getSigAlgName()).isEqualTo("SHA256withRSA");
        assertThat(leaf.getPublicKey().getAlgorithm()).isEqualTo("EC");

        Openssl.Result r =
                Openssl.verify(
                        dir, s.minted().upstreamRoots(), s.minted().chain(), leaf, "-x509_strict");
        assertThat(r.exitCode()).as(r.output()).isZero();
        List<X509Certificate> chain = new ArrayList<>(List.of(leaf));
        chain.addAll(s.minted().chain());
        X509Svid svid =
                X509Svid.parseRaw(Certificates.concatDer(chain), leafKey.getPrivate().getEncoded());
        X509SvidValidator.verifyChain(
                svid.getChain(),
                new X509Bundle(
                        io.spiffe.spiffeid.TrustDomain.parse("example.org"),
                        new HashSet<>(s.minted().upstreamRoots())));
    }

    @Test
    void mintedIntermediateNeverOutlivesTheDiskCa() {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 1);
        DiskUpstreamAuthority ua =
                DiskUpstreamAuthority.load(file("upstream.crt"), file("upstream.key"), null, clock);
        MintedX509Ca minted =
                ua.mintX509Ca(KeyType.EC_P256.generate(), TD, Duration.ofDays(30), null);
        assertThat(minted.certificate().getNotAfter())
                .isEqualTo(Pem.readCertificate(file("upstream.crt")).getNotAfter());
    }

    @Test
    void filesAreReadAgainOnEveryMint() {
        DiskUpstreamAuthority ua = selfSignedDiskCa();
        X509Certificate first =
                ua.mintX509Ca(KeyType.EC_P256.generate(), TD, Duration.ofHours(1), null)
                        .upstreamRoots()
                        .get(0);
        OpensslCa.selfSignedEcP256(
                dir, "upstream", "Rotated Upstream CA", 365); // the operator rotates the files
        MintedX509Ca after =
                ua.mintX509Ca(KeyType.EC_P256.generate(), TD, Duration.ofHours(1), null);
        assertThat(after.upstreamRoots().get(0)).isNotEqualTo(first);
        assertThat(after.upstreamRoots().get(0).getSubjectX500Principal().getName())
                .contains("CN=Rotated Upstream CA");
        assertThat(after.certificate().getIssuerX500Principal().getName())
                .contains("CN=Rotated Upstream CA");
    }

    @Test
    void withBundleTheChainCarriesTheUpstreamIntermediateAndTheRootsComeFromTheBundle()
            throws Exception {
        OpensslCa.selfSignedEcP256(dir, "root", "Root CA", 365);
        OpensslCa.intermediate(dir, "upstream", "Upstream Intermediate", "root", 100);
        DiskUpstreamAuthority ua =
                DiskUpstreamAuthority.load(
                        file("upstream.crt"), file("upstream.key"), file("root.crt"), clock);
        Server s = server(ua, KeyType.EC_P256);
        X509Certificate upstream = Pem.readCertificate(file("upstream.crt"));
        X509Certificate root = Pem.readCertificate(file("root.crt"));
        assertThat(s.minted().chain()).hasSize(2);
        assertThat(s.minted().chain().get(1)).isEqualTo(upstream);
        assertThat(s.minted().upstreamRoots()).containsExactly(root);

        X509Certificate leaf =
                new X509Minter(clock)
                        .signX509Svid(
                                s.authority(),
                                KeyType.EC_P256.generate().getPublic(),
                                PRODUCTPAGE,
                                List.of(),
                                Duration.ofHours(1));
        Openssl.Result r = Openssl.verify(dir, List.of(root), s.minted().chain(), leaf);
        assertThat(r.exitCode()).as(r.output()).isZero();
    }

    @Test
    void withBundleARootAppendedToTheCertificateFileIsNotRepeatedInTheChain() {
        OpensslCa.selfSignedEcP256(dir, "root", "Root CA", 365);
        OpensslCa.intermediate(dir, "upstream", "Upstream Intermediate", "root", 100);
        X509Certificate upstream = Pem.readCertificate(file("upstream.crt"));
        X509Certificate root = Pem.readCertificate(file("root.crt"));
        Pem.writeCertificates(file("fullchain.crt"), List.of(upstream, root));
        DiskUpstreamAuthority ua =
                DiskUpstreamAuthority.load(
                        file("fullchain.crt"), file("upstream.key"), file("root.crt"), clock);
        MintedX509Ca minted =
                ua.mintX509Ca(KeyType.EC_P256.generate(), TD, Duration.ofHours(1), null);
        assertThat(minted.chain()).hasSize(2).doesNotContain(root);
    }

    @Test
    void mintedIntermediateUsesTheGivenSubject() {
        DiskUpstreamAuthority ua = selfSignedDiskCa();
        MintedX509Ca minted =
                ua.mintX509Ca(
                        KeyType.EC_P256.generate(),
                        TD,
                        Duration.ofHours(1),
                        new X500Principal("CN=cluster1, O=Mithril, C=US"));
        assertThat(minted.certificate().getSubjectX500Principal())
                .isEqualTo(new X500Principal("CN=cluster1, O=Mithril, C=US"));
    }

    // ---- bad input ----

    @Test
    void certificateThatIsNotACaIsRejected() {
        OpensslCa.selfSignedLeaf(dir, "leaf");
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("leaf.crt"), file("leaf.key"), null, clock))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessageStartingWith(
                        "upstream CA "
                                + file("leaf.crt")
                                + ": certificate is not a CA (basicConstraints CA=false)");
    }

    @Test
    void keyThatDoesNotMatchTheCertificateIsRejected() {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 365);
        OpensslCa.selfSignedEcP256(dir, "other", "Other CA", 365);
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("upstream.crt"), file("other.key"), null, clock))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessageStartingWith(
                        "upstream CA "
                                + file("other.key")
                                + ": private key does not match the certificate in "
                                + file("upstream.crt"));
    }

    @Test
    void keyOfAnotherAlgorithmThanTheCertificateIsRejected() {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 365);
        Pem.writePrivateKey(file("rsa.key"), KeyType.RSA_2048.generate().getPrivate());
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("upstream.crt"), file("rsa.key"), null, clock))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessageContaining("private key does not match")
                .hasMessageContaining("the key is RSA");
    }

    @Test
    void expiredCertificateIsRejected() {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 1);
        Clock twoDaysLater = Clock.offset(clock, Duration.ofDays(2));
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("upstream.crt"),
                                        file("upstream.key"),
                                        null,
                                        twoDaysLater))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessageStartingWith("upstream CA " + file("upstream.crt") + ": certificate \"")
                .hasMessageContaining("expired at");
    }

    @Test
    void certificateThatIsNotYetValidIsRejected() {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 365);
        Clock yesterday = Clock.offset(clock, Duration.ofDays(-1));
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("upstream.crt"),
                                        file("upstream.key"),
                                        null,
                                        yesterday))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessageContaining(file("upstream.crt").toString())
                .hasMessageContaining("is not yet valid");
    }

    @Test
    void certificateThatExpiresAfterLoadingFailsTheNextMint() {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 1);
        MutableClock mutable = new MutableClock(clock.instant());
        DiskUpstreamAuthority ua =
                DiskUpstreamAuthority.load(
                        file("upstream.crt"), file("upstream.key"), null, mutable);
        mutable.advance(Duration.ofDays(2));
        assertThatThrownBy(
                        () ->
                                ua.mintX509Ca(
                                        KeyType.EC_P256.generate(), TD, Duration.ofHours(1), null))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessageContaining("expired at");
    }

    @Test
    void chainThatDoesNotReachTheBundleIsRejected() {
        OpensslCa.selfSignedEcP256(dir, "root", "Root CA", 365);
        OpensslCa.intermediate(dir, "upstream", "Upstream Intermediate", "root", 100);
        OpensslCa.selfSignedEcP256(dir, "stranger", "Stranger Root", 365);
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("upstream.crt"),
                                        file("upstream.key"),
                                        file("stranger.crt"),
                                        clock))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessageStartingWith(
                        "upstream CA "
                                + file("upstream.crt")
                                + ": chain does not reach any root in bundle "
                                + file("stranger.crt"))
                .hasMessageContaining("Stranger Root");
    }

    @Test
    void certificateFileWithTwoCertificatesAndNoBundleIsRejected() {
        OpensslCa.selfSignedEcP256(dir, "root", "Root CA", 365);
        OpensslCa.intermediate(dir, "upstream", "Upstream Intermediate", "root", 100);
        Pem.writeCertificates(
                file("two.crt"),
                List.of(
                        Pem.readCertificate(file("upstream.crt")),
                        Pem.readCertificate(file("root.crt"))));
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("two.crt"), file("upstream.key"), null, clock))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessageStartingWith(
                        "upstream CA "
                                + file("two.crt")
                                + ": holds 2 certificates; without bundle_file_path");
    }

    @Test
    void certificateThatIsNotSelfSignedWithoutBundleIsRejected() {
        OpensslCa.selfSignedEcP256(dir, "root", "Root CA", 365);
        OpensslCa.intermediate(dir, "upstream", "Upstream Intermediate", "root", 100);
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("upstream.crt"), file("upstream.key"), null, clock))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessageStartingWith("upstream CA " + file("upstream.crt") + ": certificate \"")
                .hasMessageContaining("is not self-signed")
                .hasMessageContaining("bundle_file_path");
    }

    @Test
    void missingCertificateFileIsRejected() {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 365);
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("nope.crt"), file("upstream.key"), null, clock))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessage("upstream CA " + file("nope.crt") + ": file does not exist");
    }

    @Test
    void missingKeyFileIsRejected() {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 365);
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("upstream.crt"), file("nope.key"), null, clock))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessage("upstream CA " + file("nope.key") + ": file does not exist");
    }

    @Test
    void missingBundleFileIsRejected() {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 365);
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("upstream.crt"),
                                        file("upstream.key"),
                                        file("nope.pem"),
                                        clock))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessage("upstream CA " + file("nope.pem") + ": file does not exist");
    }

    @Test
    void unreadableCertificateFileIsRejected() throws Exception {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 365);
        Files.createDirectory(file("a-directory.crt")); // unreadable as a file even for root
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("a-directory.crt"), file("upstream.key"), null, clock))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessageStartingWith(
                        "upstream CA " + file("a-directory.crt") + ": cannot read file");
    }

    @Test
    void malformedPemCertificateIsRejected() throws Exception {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 365);
        Files.writeString(
                file("bad.crt"),
                "-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n");
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("bad.crt"), file("upstream.key"), null, clock))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessageStartingWith("upstream CA " + file("bad.crt") + ": ");
    }

    @Test
    void certificateFileWithoutPemIsRejected() throws Exception {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 365);
        Files.writeString(file("empty.crt"), "just some text\n");
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("empty.crt"), file("upstream.key"), null, clock))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessage(
                        "upstream CA "
                                + file("empty.crt")
                                + ": no PEM block found (expected \"-----BEGIN ...-----\" lines)");
    }

    @Test
    void keyFileHoldingACertificateIsRejected() {
        OpensslCa.selfSignedEcP256(dir, "upstream", "Upstream CA", 365);
        assertThatThrownBy(
                        () ->
                                DiskUpstreamAuthority.load(
                                        file("upstream.crt"), file("upstream.crt"), null, clock))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessageStartingWith(
                        "upstream CA "
                                + file("upstream.crt")
                                + ": no PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block found");
    }

    /** A clock a test can move forward. */
    static final class MutableClock extends Clock {
        private volatile java.time.Instant now;

        MutableClock(java.time.Instant now) {
            this.now = now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public java.time.Instant instant() {
            return now;
        }
    }
}
