package io.mithril.interop;

import static io.mithril.interop.InteropFixture.GATEWAY_ID;
import static io.mithril.interop.InteropFixture.PRODUCTPAGE_ID;
import static io.mithril.interop.InteropFixture.SLEEP_ID;
import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.bench.spire.GoHarness;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * go-spiffe v2 (the SPIFFE project's Go library, unchanged, built from the module proxy) against
 * this project's agent, gateway and proxies, each Go program a real process.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GoSpiffeInteropTest {

    /**
     * gospiffe's sleep SVID lives this long, so the watcher sees the agent rotate it within the
     * test.
     */
    private static final int SLEEP_TTL_SECONDS = 12;

    private InteropFixture f;

    @BeforeAll
    @Timeout(
            value = 60,
            unit = TimeUnit.MINUTES) // the first build of the Go harness (SPIRE) takes minutes
    void start() throws Exception {
        f = new InteropFixture(GoHarness.build(System.out::println), SLEEP_TTL_SECONDS);
    }

    @AfterAll
    void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void x509SourceGetsTheSvidAndBundleThatVerifyIt() throws Exception {
        InteropFixture.Run r =
                InteropFixture.run(
                        f.gospiffe("x509", "-socket", f.address(), "-id", PRODUCTPAGE_ID));
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.get("SVID")).isEqualTo(PRODUCTPAGE_ID);
        assertThat(r.get("VERIFIED"))
                .isEqualTo(PRODUCTPAGE_ID); // x509svid.Verify against the served bundle
        assertThat(Integer.parseInt(r.get("CHAIN"))).isGreaterThanOrEqualTo(1);
        // The bundle go-spiffe holds is the server's, authority for authority.
        List<String> ours =
                f.server.bundle().x509Authorities().stream()
                        .map(GoSpiffeInteropTest::ski)
                        .sorted()
                        .toList();
        assertThat(r.all("AUTHORITY").stream().sorted().toList()).isEqualTo(ours);
        // FetchX509Bundles (its own RPC) and FetchX509SVIDs: every SVID registered for the program.
        assertThat(r.all("X509BUNDLE")).containsExactly("example.org:" + ours.size());
        assertThat(r.all("ALL")).containsExactlyInAnyOrder(SLEEP_ID, PRODUCTPAGE_ID);
    }

    @Test
    void jwtSourceTokenValidatesLocallyAndOnTheAgent() throws Exception {
        InteropFixture.Run jwt =
                InteropFixture.run(
                        f.gospiffe(
                                "jwt",
                                "-socket",
                                f.address(),
                                "-id",
                                SLEEP_ID,
                                "-audience",
                                "interop"));
        assertThat(jwt.exit()).as(jwt.toString()).isZero();
        assertThat(jwt.get("SUBJECT")).isEqualTo(SLEEP_ID);
        assertThat(jwt.get("AUDIENCE")).isEqualTo("interop");
        assertThat(jwt.get("JWTBUNDLE"))
                .startsWith("example.org:")
                .hasSizeGreaterThan("example.org:".length());
        assertThat(jwt.get("LOCALLY_VALID"))
                .isEqualTo(SLEEP_ID); // jwtsvid.ParseAndValidate with the served JWKS
        String token = jwt.get("TOKEN");

        InteropFixture.Run ok =
                InteropFixture.run(
                        f.gospiffe(
                                "validate",
                                "-socket",
                                f.address(),
                                "-audience",
                                "interop",
                                "-token",
                                token));
        assertThat(ok.exit()).as(ok.toString()).isZero();
        assertThat(ok.get("VALID")).isEqualTo(SLEEP_ID);

        // The agent refuses another audience and a token whose signature was tampered with.
        InteropFixture.Run wrongAud =
                InteropFixture.run(
                        f.gospiffe(
                                "validate",
                                "-socket",
                                f.address(),
                                "-audience",
                                "other",
                                "-token",
                                token));
        assertThat(wrongAud.exit()).as(wrongAud.toString()).isNotZero();
        assertThat(wrongAud.err()).contains("InvalidArgument");
        String[] parts = token.split("\\.");
        char last = parts[2].charAt(parts[2].length() / 2);
        String forged =
                parts[0]
                        + "."
                        + parts[1]
                        + "."
                        + parts[2].substring(0, parts[2].length() / 2)
                        + (last == 'A' ? 'B' : 'A')
                        + parts[2].substring(parts[2].length() / 2 + 1);
        InteropFixture.Run bad =
                InteropFixture.run(
                        f.gospiffe(
                                "validate",
                                "-socket",
                                f.address(),
                                "-audience",
                                "interop",
                                "-token",
                                forged));
        assertThat(bad.exit()).as(bad.toString()).isNotZero();
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void watcherSeesTheAgentRotateTheSvid() throws Exception {
        Process p =
                new ProcessBuilder(
                                f.gospiffe(
                                        "watch",
                                        "-socket",
                                        f.address(),
                                        "-updates",
                                        "3",
                                        "-timeout",
                                        "90s"))
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
        try {
            BlockingQueue<String> lines = InteropFixture.lines(p);
            String first = lines.poll(60, TimeUnit.SECONDS);
            assertThat(first).as("first update").startsWith("UPDATE=1 ");
            String sleepSerial = serialOf(first, SLEEP_ID);
            String pageSerial = serialOf(first, PRODUCTPAGE_ID);
            // A TTL of 12 s: the agent replaces the sleep SVID at about half of it; the watcher
            // gets
            // the new one on the same stream, the productpage SVID unchanged beside it.
            String rotated = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (rotated == null && System.nanoTime() < deadline) {
                String u = lines.poll(5, TimeUnit.SECONDS);
                if (u != null && !serialOf(u, SLEEP_ID).equals(sleepSerial)) {
                    rotated = u;
                }
            }
            assertThat(rotated).as("an update with a new sleep SVID").isNotNull();
            assertThat(serialOf(rotated, PRODUCTPAGE_ID)).isEqualTo(pageSerial);
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void spiffetlsClientDoesMtlsWithTheGatewayAndReachesAGoSpiffeServerBehindIt() throws Exception {
        // go-spiffe client (sleep) -> our gateway (authorized by its SPIFFE ID) -> ISTIO_MUTUAL ->
        // go-spiffe server (productpage),
        // which authorizes only the gateway's SPIFFE ID and reports whom it saw.
        InteropFixture.Run r =
                InteropFixture.run(
                        f.gospiffe(
                                "dial",
                                "-socket",
                                f.address(),
                                "-id",
                                SLEEP_ID,
                                "-addr",
                                "127.0.0.1:" + f.gatewayPort(),
                                "-host",
                                "app.example.org",
                                "-serverID",
                                GATEWAY_ID,
                                "-path",
                                "/productpage"));
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.get("PEER")).isEqualTo(GATEWAY_ID);
        assertThat(r.get("STATUS")).isEqualTo("200");
        assertThat(r.get("BODY"))
                .contains(
                        "go-spiffe server "
                                + PRODUCTPAGE_ID
                                + ": peer "
                                + GATEWAY_ID
                                + " path /productpage");

        // An unrouted path: the gateway's own 404, over the same kind of connection.
        InteropFixture.Run notFound =
                InteropFixture.run(
                        f.gospiffe(
                                "dial",
                                "-socket",
                                f.address(),
                                "-id",
                                SLEEP_ID,
                                "-addr",
                                "127.0.0.1:" + f.gatewayPort(),
                                "-host",
                                "app.example.org",
                                "-serverID",
                                GATEWAY_ID,
                                "-path",
                                "/nowhere"));
        assertThat(notFound.get("STATUS")).isEqualTo("404");
    }

    @Test
    void spiffetlsClientRefusesTheGatewayWhenItExpectsAnotherId() throws Exception {
        InteropFixture.Run r =
                InteropFixture.run(
                        f.gospiffe(
                                "dial",
                                "-socket",
                                f.address(),
                                "-id",
                                SLEEP_ID,
                                "-addr",
                                "127.0.0.1:" + f.gatewayPort(),
                                "-serverID",
                                PRODUCTPAGE_ID,
                                "-path",
                                "/productpage"));
        assertThat(r.exit()).as(r.toString()).isNotZero();
        assertThat(r.err()).contains("unexpected ID \"" + GATEWAY_ID + "\"");
    }

    @Test
    void goSpiffeServerRefusesAPeerItDidNotAuthorize() throws Exception {
        // sleep dialing the productpage server directly: the server authorizes only the gateway.
        InteropFixture.Run r =
                InteropFixture.run(
                        f.gospiffe(
                                "dial",
                                "-socket",
                                f.address(),
                                "-id",
                                SLEEP_ID,
                                "-addr",
                                "127.0.0.1:" + f.goServerPort,
                                "-serverID",
                                PRODUCTPAGE_ID,
                                "-path",
                                "/productpage"),
                        Duration.ofSeconds(60));
        assertThat(r.exit()).as(r.toString()).isNotZero();
    }

    static String serialOf(String update, String id) {
        for (String svid : update.substring(update.indexOf(' ') + 1).split(",")) {
            if (svid.startsWith(id + "@")) {
                return svid.substring(id.length() + 1);
            }
        }
        throw new AssertionError("no " + id + " in " + update);
    }

    static String ski(X509Certificate c) {
        try {
            byte[] ext = c.getExtensionValue("2.5.29.14");
            if (ext != null) {
                byte[] octets = org.bouncycastle.asn1.ASN1OctetString.getInstance(ext).getOctets();
                return HexFormat.of()
                        .formatHex(SubjectKeyIdentifier.getInstance(octets).getKeyIdentifier());
            }
            return HexFormat.of()
                    .formatHex(
                            MessageDigest.getInstance("SHA-1")
                                    .digest(c.getPublicKey().getEncoded()));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
