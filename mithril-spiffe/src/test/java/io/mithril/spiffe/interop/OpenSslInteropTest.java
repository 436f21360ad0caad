package io.mithril.spiffe.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509Svid;
import io.mithril.spiffe.svid.X509SvidValidator;
import io.mithril.spiffe.testing.TestCerts;
import io.mithril.spiffe.testing.TestCerts.Issued;
import io.mithril.spiffe.testing.TestCerts.Spec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks against the real {@code openssl} command: it verifies what we mint, we read what it mints.
 */
class OpenSslInteropTest {
    static final TrustDomain TD = TrustDomain.of("example.org");
    static final String ID = "spiffe://example.org/ns/default/sa/sleep";

    record Result(int exit, String output) {}

    static Result openssl(Path dir, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Process p =
                new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                throw new AssertionError("openssl " + args[0] + " did not finish");
            }
            return new Result(p.exitValue(), out);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void opensslVerifiesTheChainAndBundleWeWrite(@TempDir Path dir) throws Exception {
        Issued root = TestCerts.root("Upstream CA");
        Issued intermediate = root.issue(Spec.ca("Server CA", "spiffe://example.org"));
        Issued leaf = intermediate.issue(Spec.leaf(ID));
        X509Svid svid = X509Svid.of(List.of(leaf.cert(), intermediate.cert()), leaf.privateKey());
        X509Bundle bundle = X509Bundle.of(TD, List.of(root.cert()));
        Files.writeString(dir.resolve("bundle.pem"), bundle.toPem());
        Files.writeString(dir.resolve("svid.pem"), svid.chainPem());
        Files.writeString(dir.resolve("leaf.pem"), X509Bundle.of(TD, List.of(leaf.cert())).toPem());
        Files.writeString(dir.resolve("svid.key"), svid.privateKeyPem());

        Result verify =
                openssl(
                        dir,
                        "verify",
                        "-CAfile",
                        "bundle.pem",
                        "-untrusted",
                        "svid.pem",
                        "-purpose",
                        "sslclient",
                        "leaf.pem");
        assertThat(verify.exit()).as(verify.output()).isZero();
        assertThat(verify.output()).contains("leaf.pem: OK");

        Result key = openssl(dir, "pkey", "-in", "svid.key", "-pubout");
        assertThat(key.exit()).as(key.output()).isZero();
        Result certKey = openssl(dir, "x509", "-in", "leaf.pem", "-noout", "-pubkey");
        assertThat(key.output()).isEqualTo(certKey.output());
    }

    @Test
    void weReadAndVerifyAnSvidThatOpensslMinted(@TempDir Path dir) throws Exception {
        Result ca =
                openssl(
                        dir,
                        "req",
                        "-x509",
                        "-newkey",
                        "ec",
                        "-pkeyopt",
                        "ec_paramgen_curve:P-256",
                        "-nodes",
                        "-keyout",
                        "ca.key",
                        "-out",
                        "ca.pem",
                        "-subj",
                        "/CN=OpenSSL CA",
                        "-days",
                        "1",
                        "-addext",
                        "basicConstraints=critical,CA:TRUE",
                        "-addext",
                        "keyUsage=critical,keyCertSign,cRLSign",
                        "-addext",
                        "subjectAltName=URI:spiffe://example.org");
        assertThat(ca.exit()).as(ca.output()).isZero();
        Result csr =
                openssl(
                        dir,
                        "req",
                        "-new",
                        "-newkey",
                        "ec",
                        "-pkeyopt",
                        "ec_paramgen_curve:P-256",
                        "-nodes",
                        "-keyout",
                        "svid.key",
                        "-out",
                        "svid.csr",
                        "-subj",
                        "/CN=sleep");
        assertThat(csr.exit()).as(csr.output()).isZero();
        Files.writeString(
                dir.resolve("leaf.ext"),
                String.join(
                        "\n",
                        "basicConstraints=critical,CA:FALSE",
                        "keyUsage=critical,digitalSignature,keyEncipherment,keyAgreement",
                        "extendedKeyUsage=serverAuth,clientAuth",
                        "subjectAltName=URI:" + ID + ",DNS:sleep.default.svc",
                        ""));
        Result sign =
                openssl(
                        dir,
                        "x509",
                        "-req",
                        "-in",
                        "svid.csr",
                        "-CA",
                        "ca.pem",
                        "-CAkey",
                        "ca.key",
                        "-CAcreateserial",
                        "-out",
                        "svid.pem",
                        "-days",
                        "1",
                        "-extfile",
                        "leaf.ext");
        assertThat(sign.exit()).as(sign.output()).isZero();

        assertThat(Files.readString(dir.resolve("svid.key")))
                .startsWith("-----BEGIN PRIVATE KEY-----");
        X509Svid svid =
                X509Svid.parsePem(
                        Files.readString(dir.resolve("svid.pem")),
                        Files.readString(dir.resolve("svid.key")));
        assertThat(svid.spiffeId()).isEqualTo(SpiffeId.parse(ID));
        X509Bundle bundle = X509Bundle.parse(TD, Files.readAllBytes(dir.resolve("ca.pem")));
        assertThat(X509SvidValidator.verify(svid.chain(), bundle)).isEqualTo(SpiffeId.parse(ID));

        Result der = openssl(dir, "x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der");
        assertThat(der.exit()).as(der.output()).isZero();
        assertThat(X509Bundle.parse(TD, Files.readAllBytes(dir.resolve("ca.der"))))
                .isEqualTo(bundle);
    }
}
