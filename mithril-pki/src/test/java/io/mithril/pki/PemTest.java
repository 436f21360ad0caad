package io.mithril.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.spiffe.id.TrustDomain;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PemTest {

    @TempDir Path dir;

    final X509Minter minter = new X509Minter(Clock.systemUTC());

    X509Certificate ca(String cn) {
        return minter.selfSignedCa(
                KeyType.EC_P256.generate(),
                TrustDomain.of("example.org"),
                Duration.ofHours(1),
                new X500Principal("CN=" + cn));
    }

    // ---- certificates ----

    @Test
    void readsSeveralCertificatesInOrderFromStringBytesAndFile() {
        List<X509Certificate> certs = List.of(ca("one"), ca("two"), ca("three"));
        String pem = Pem.encodeCertificates(certs);
        Pem.writeCertificates(dir.resolve("certs.pem"), certs);
        assertThat(Pem.readCertificates(pem)).containsExactlyElementsOf(certs);
        assertThat(Pem.readCertificates(pem.getBytes(StandardCharsets.US_ASCII)))
                .containsExactlyElementsOf(certs);
        assertThat(Pem.readCertificates(dir.resolve("certs.pem"))).containsExactlyElementsOf(certs);
    }

    @Test
    void writtenCertificatesAreReadableByOpensslAndWorldReadable() throws Exception {
        X509Certificate c = ca("Openssl Reads Me");
        Pem.writeCertificates(dir.resolve("ca.pem"), List.of(c));
        String out = Openssl.ok(dir, "x509", "-in", "ca.pem", "-noout", "-subject");
        assertThat(out).contains("CN = Openssl Reads Me");
        assertThat(
                        PosixFilePermissions.toString(
                                Files.getPosixFilePermissions(dir.resolve("ca.pem"))))
                .isEqualTo("rw-r--r--");
    }

    @Test
    void readsCertificatesWrittenByOpenssl() {
        Openssl.ok(
                dir,
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "k.pem",
                "-days",
                "1",
                "-subj",
                "/CN=From Openssl",
                "-out",
                "c.pem");
        assertThat(Pem.readCertificate(dir.resolve("c.pem")).getSubjectX500Principal().getName())
                .isEqualTo("CN=From Openssl");
    }

    @Test
    void readCertificateRejectsAFileWithSeveral() {
        Pem.writeCertificates(dir.resolve("two.pem"), List.of(ca("a"), ca("b")));
        assertThatThrownBy(() -> Pem.readCertificate(dir.resolve("two.pem")))
                .isInstanceOf(PemException.class)
                .hasMessage(dir.resolve("two.pem") + ": expected exactly one certificate, found 2");
    }

    @Test
    void textWithoutPemIsRejectedQuotingTheFile() throws Exception {
        Files.writeString(dir.resolve("x.pem"), "hello\n");
        assertThatThrownBy(() -> Pem.readCertificates(dir.resolve("x.pem")))
                .isInstanceOf(PemException.class)
                .hasMessage(
                        dir.resolve("x.pem")
                                + ": no PEM block found (expected \"-----BEGIN ...-----\" lines)");
    }

    @Test
    void keyFileReadAsCertificatesSaysWhatItFound() {
        Pem.writePrivateKey(dir.resolve("k.pem"), KeyType.EC_P256.generate().getPrivate());
        assertThatThrownBy(() -> Pem.readCertificates(dir.resolve("k.pem")))
                .isInstanceOf(PemException.class)
                .hasMessage(
                        dir.resolve("k.pem") + ": no CERTIFICATE block found (found PRIVATE KEY)");
    }

    @Test
    void malformedBase64IsRejected() {
        assertThatThrownBy(
                        () ->
                                Pem.readCertificates(
                                        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"))
                .isInstanceOf(PemException.class)
                .hasMessageStartingWith("PEM input: malformed PEM");
    }

    @Test
    void blockThatIsNotACertificateIsRejectedNamingTheBlock() {
        assertThatThrownBy(
                        () ->
                                Pem.readCertificates(
                                        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
                .isInstanceOf(PemException.class)
                .hasMessageStartingWith(
                        "PEM input: PEM block 1 (CERTIFICATE) is not a valid X.509 certificate");
    }

    @Test
    void missingFileIsRejectedQuotingThePath() {
        assertThatThrownBy(() -> Pem.readCertificates(dir.resolve("absent.pem")))
                .isInstanceOf(PemException.class)
                .hasMessage(dir.resolve("absent.pem") + ": file does not exist");
    }

    // ---- private keys ----

    @Test
    void privateKeyRoundTripsThroughPkcs8Pem() {
        for (KeyType t : List.of(KeyType.EC_P256, KeyType.EC_P384, KeyType.RSA_2048)) {
            PrivateKey k = t.generate().getPrivate();
            String pem = Pem.encodePrivateKey(k);
            assertThat(pem).startsWith("-----BEGIN PRIVATE KEY-----");
            assertThat(Pem.readPrivateKey(pem).getEncoded()).isEqualTo(k.getEncoded());
        }
    }

    @Test
    void readsPkcs8KeyFromOpenssl() {
        Openssl.ok(
                dir,
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "k.pem");
        assertThat(Pem.readPrivateKey(dir.resolve("k.pem")).getAlgorithm()).isEqualTo("EC");
    }

    @Test
    void readsSec1EcPrivateKeyEvenAfterAnEcParametersBlock() throws Exception {
        Openssl.ok(dir, "ecparam", "-name", "prime256v1", "-genkey", "-out", "k.pem");
        assertThat(Files.readString(dir.resolve("k.pem")))
                .contains("BEGIN EC PARAMETERS")
                .contains("BEGIN EC PRIVATE KEY");
        PrivateKey k = Pem.readPrivateKey(dir.resolve("k.pem"));
        assertThat(KeyType.of(k)).isEqualTo(KeyType.EC_P256);
    }

    @Test
    void readsPkcs1RsaPrivateKey() throws Exception {
        Openssl.ok(dir, "genrsa", "-traditional", "-out", "k.pem", "2048");
        assertThat(Files.readString(dir.resolve("k.pem"))).contains("BEGIN RSA PRIVATE KEY");
        assertThat(KeyType.of(Pem.readPrivateKey(dir.resolve("k.pem").toFile().toPath())))
                .isEqualTo(KeyType.RSA_2048);
    }

    @Test
    void encryptedKeyIsRejectedSayingHowToFixIt() {
        Openssl.ok(
                dir,
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-aes256",
                "-pass",
                "pass:secret",
                "-out",
                "k.pem");
        assertThatThrownBy(() -> Pem.readPrivateKey(dir.resolve("k.pem")))
                .isInstanceOf(PemException.class)
                .hasMessageStartingWith(dir.resolve("k.pem") + ": the private key is encrypted");
    }

    @Test
    void fileWithTwoKeysIsRejected() {
        String two =
                Pem.encodePrivateKey(KeyType.EC_P256.generate().getPrivate())
                        + Pem.encodePrivateKey(KeyType.EC_P256.generate().getPrivate());
        assertThatThrownBy(() -> Pem.readPrivateKey(two))
                .isInstanceOf(PemException.class)
                .hasMessageContaining("more than one private key");
    }

    @Test
    void privateKeyFileIsWrittenWithMode0600AndOpensslReadsIt() throws Exception {
        KeyPair kp = KeyType.EC_P256.generate();
        Path key = dir.resolve("svid.0.key");
        Pem.writePrivateKey(key, kp.getPrivate());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
                .isEqualTo("rw-------");
        assertThat(Files.readString(key)).startsWith("-----BEGIN PRIVATE KEY-----");
        Openssl.ok(dir, "pkey", "-in", "svid.0.key", "-noout");
        assertThat(Pem.readPrivateKey(key).getEncoded()).isEqualTo(kp.getPrivate().getEncoded());
    }

    @Test
    void overwritingAWorldReadableFileLeavesA0600KeyAndNoTemporaryFiles() throws Exception {
        Path key = dir.resolve("k.pem");
        Files.writeString(key, "old");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
        Pem.writePrivateKey(key, KeyType.EC_P256.generate().getPrivate());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
                .isEqualTo("rw-------");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("k.pem");
        }
    }

    @Test
    void writeIntoAMissingDirectoryCreatesIt() {
        Path key = dir.resolve("keys/sub/k.pem");
        Pem.writePrivateKey(key, KeyType.EC_P256.generate().getPrivate());
        assertThat(key).exists();
    }
}
