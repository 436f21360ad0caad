package io.mithril.interop;

import static io.mithril.interop.InteropFixture.GATEWAY_ID;
import static io.mithril.interop.InteropFixture.PRODUCTPAGE_ID;
import static io.mithril.interop.InteropFixture.SLEEP_ID;
import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.bench.spire.GoHarness;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPIRE's own {@code spire-agent} CLI (v1.13.3, built from the module proxy), unchanged, against
 * this project's Workload API socket; then the files it wrote are what the real {@code curl} and
 * {@code openssl} use against the gateway, as the seed's {@code sleep} pod does.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SpireAgentCliInteropTest {

    private InteropFixture f;

    @BeforeAll
    @Timeout(
            value = 60,
            unit = TimeUnit.MINUTES) // the first build of the Go harness (SPIRE) takes minutes
    void start() throws Exception {
        f = new InteropFixture(GoHarness.build(System.out::println), 0);
    }

    @AfterAll
    void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void fetchX509WritesTheFilesCurlAndOpensslThenUseAgainstTheGateway(@TempDir Path dir)
            throws Exception {
        InteropFixture.Run r =
                InteropFixture.run(
                        f.spireAgent(
                                "api",
                                "fetch",
                                "x509",
                                "-socketPath",
                                f.socket.toString(),
                                "-write",
                                dir.toString()));
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("Received 1 svid after").contains("SPIFFE ID:\t\t" + SLEEP_ID);
        assertThat(dir.resolve("svid.0.pem")).exists();
        assertThat(dir.resolve("svid.0.key")).exists();
        assertThat(dir.resolve("bundle.0.pem")).exists();
        X509Certificate leaf = certs(dir.resolve("svid.0.pem")).get(0);
        assertThat(leaf.getSubjectAlternativeNames())
                .extracting(l -> (Object) l.get(1))
                .containsExactly((Object) SLEEP_ID);
        assertThat(certs(dir.resolve("bundle.0.pem")))
                .containsExactlyInAnyOrderElementsOf(f.server.bundle().x509Authorities());

        // The seed: curl --cert svid --key key --cacert bundle
        // https://app.example.org:<gateway>/productpage
        InteropFixture.Run curl =
                InteropFixture.run(
                        List.of(
                                "curl",
                                "-sS",
                                "--max-time",
                                "20",
                                "--cert",
                                dir.resolve("svid.0.pem").toString(),
                                "--key",
                                dir.resolve("svid.0.key").toString(),
                                "--cacert",
                                dir.resolve("bundle.0.pem").toString(),
                                "--resolve",
                                "app.example.org:" + f.gatewayPort() + ":127.0.0.1",
                                "-w",
                                "\nHTTP_CODE=%{http_code}",
                                "https://app.example.org:" + f.gatewayPort() + "/productpage"));
        assertThat(curl.exit()).as(curl.toString()).isZero();
        assertThat(curl.get("HTTP_CODE")).isEqualTo("200");
        assertThat(curl.out())
                .contains(
                        "go-spiffe server "
                                + PRODUCTPAGE_ID
                                + ": peer "
                                + GATEWAY_ID
                                + " path /productpage");

        // Without the client certificate the gateway refuses the handshake.
        InteropFixture.Run anonymous =
                InteropFixture.run(
                        List.of(
                                "curl",
                                "-sS",
                                "--max-time",
                                "20",
                                "--cacert",
                                dir.resolve("bundle.0.pem").toString(),
                                "--resolve",
                                "app.example.org:" + f.gatewayPort() + ":127.0.0.1",
                                "https://app.example.org:" + f.gatewayPort() + "/productpage"));
        assertThat(anonymous.exit()).as(anonymous.toString()).isNotZero();

        // The seed's openssl s_client -showcerts: the gateway's chain verifies against the written
        // bundle.
        InteropFixture.Run openssl =
                InteropFixture.run(
                        List.of(
                                "openssl",
                                "s_client",
                                "-showcerts",
                                "-connect",
                                "127.0.0.1:" + f.gatewayPort(),
                                "-servername",
                                "app.example.org",
                                "-cert",
                                dir.resolve("svid.0.pem").toString(),
                                "-key",
                                dir.resolve("svid.0.key").toString(),
                                "-CAfile",
                                dir.resolve("bundle.0.pem").toString()));
        assertThat(openssl.out())
                .as(openssl.toString())
                .contains("Verify return code: 0 (ok)")
                .contains("-----BEGIN CERTIFICATE-----");
        Path shown = dir.resolve("shown.pem");
        java.util.regex.Matcher pem =
                java.util.regex.Pattern.compile(
                                "-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----")
                        .matcher(openssl.out());
        StringBuilder blocks = new StringBuilder();
        while (pem.find()) {
            blocks.append(pem.group()).append('\n');
        }
        Files.writeString(shown, blocks);
        assertThat(certs(shown).get(0).getSubjectAlternativeNames())
                .extracting(l -> (Object) l.get(1))
                .containsExactlyInAnyOrder(GATEWAY_ID, "app.example.org");
    }

    @Test
    void theSeedsInitContainerCommandWorksUnchanged(@TempDir Path dir) throws Exception {
        // spire-agent api fetch -socketPath /run/spire/sockets/agent.sock -write .   (x509 is the
        // default)
        ProcessBuilder pb =
                new ProcessBuilder(
                                f.spireAgent(
                                        "api",
                                        "fetch",
                                        "-socketPath",
                                        f.socket.toString(),
                                        "-write",
                                        "."))
                        .directory(dir.toFile())
                        .redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        try (var files = Files.list(dir)) {
            assertThat(files.map(x -> x.getFileName().toString()).toList())
                    .contains("svid.0.pem", "svid.0.key", "bundle.0.pem");
        }
    }

    @Test
    void fetchJwtThenValidateJwt() throws Exception {
        InteropFixture.Run jwt =
                InteropFixture.run(
                        f.spireAgent(
                                "api",
                                "fetch",
                                "jwt",
                                "-audience",
                                "interop",
                                "-socketPath",
                                f.socket.toString()));
        assertThat(jwt.exit()).as(jwt.toString()).isZero();
        // spire-agent prints token(<id>):\n\t<jwt> and bundle(<td>):\n\t<jwks>
        List<String> lines = jwt.out().lines().toList();
        int at = lines.indexOf("token(" + SLEEP_ID + "):");
        assertThat(at).as(jwt.out()).isNotNegative();
        String token = lines.get(at + 1).trim();
        assertThat(token.split("\\.")).hasSize(3);
        assertThat(jwt.out()).contains("bundle(spiffe://example.org):").contains("\"keys\"");

        InteropFixture.Run ok =
                InteropFixture.run(
                        f.spireAgent(
                                "api",
                                "validate",
                                "jwt",
                                "-audience",
                                "interop",
                                "-svid",
                                token,
                                "-socketPath",
                                f.socket.toString()));
        assertThat(ok.exit()).as(ok.toString()).isZero();
        assertThat(ok.out()).contains("SVID is valid.").contains("SPIFFE ID : " + SLEEP_ID);

        InteropFixture.Run wrong =
                InteropFixture.run(
                        f.spireAgent(
                                "api",
                                "validate",
                                "jwt",
                                "-audience",
                                "someone-else",
                                "-svid",
                                token,
                                "-socketPath",
                                f.socket.toString()));
        assertThat(wrong.exit()).as(wrong.toString()).isNotZero();
        assertThat(wrong.out() + wrong.err())
                .contains("SVID is not valid")
                .contains("someone-else");
    }

    @Test
    void fetchX509AsJson() throws Exception {
        InteropFixture.Run r =
                InteropFixture.run(
                        f.spireAgent(
                                "api",
                                "fetch",
                                "x509",
                                "-output",
                                "json",
                                "-socketPath",
                                f.socket.toString()));
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("\"svids\"").contains(SLEEP_ID).contains("\"bundle\"");
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void watchPrintsTheSvidsAsTheyCome() throws Exception {
        Process p =
                new ProcessBuilder(f.spireAgent("api", "watch", "-socketPath", f.socket.toString()))
                        .redirectErrorStream(true)
                        .start();
        try {
            BlockingQueue<String> lines = InteropFixture.lines(p);
            StringBuilder seen = new StringBuilder();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!seen.toString().contains("SPIFFE ID:\t\t" + SLEEP_ID)
                    && System.nanoTime() < deadline) {
                String l = lines.poll(1, TimeUnit.SECONDS);
                if (l != null) {
                    seen.append(l).append('\n');
                }
            }
            assertThat(seen.toString())
                    .contains("Received 1 svid after")
                    .contains("SPIFFE ID:\t\t" + SLEEP_ID);
            assertThat(p.isAlive()).as("api watch keeps watching").isTrue();
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    static List<X509Certificate> certs(Path pem) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        return cf.generateCertificates(new ByteArrayInputStream(Files.readAllBytes(pem))).stream()
                .map(c -> (X509Certificate) c)
                .toList();
    }
}
