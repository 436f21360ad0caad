package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.proxy.identity.Identity;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's attacks by clients that hold on to what they get: headers that never finish
 * (slowloris), bodies that stall, connections kept idle, many partial large bodies to exhaust
 * memory (they stream; only retry copies are kept, within the budget), and a TLS session resumed
 * after the client's SVID expired. The gateway runs with timeouts of a second or two and a 1 MiB
 * body budget so the attacks are quick to perform.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SlowAndGreedyClientTest {

    private static final String GATEWAY = MeshFixture.gateway8080To("{mode: ISTIO_MUTUAL}", "app");

    @TempDir static Path dir;

    private TestPki pki;
    private TestBackend app;
    private Proxy gw;
    private SSLContext client;

    @BeforeAll
    void start() throws Exception {
        pki = new TestPki("example.org");
        app = new TestBackend("app");
        gw =
                MeshFixture.gateway(
                        pki.identity(MeshFixture.GATEWAY_ID),
                        MeshFixture.parse(GATEWAY, RouteRulesTest.entry("app", app.port())),
                        s ->
                                s.withLimits(
                                        s.limits()
                                                .withBufferedBodyBytes(1 << 20)
                                                .withTimeouts(
                                                        Duration.ofSeconds(1),
                                                        Duration.ofSeconds(1),
                                                        Duration.ofSeconds(2))));
        client = HostileClientTest.sslContext(pki.identity(MeshFixture.SLEEP_ID));
    }

    @AfterAll
    void stop() {
        gw.close();
        app.close();
    }

    private SSLSocket connect() throws IOException {
        SSLSocket s =
                (SSLSocket)
                        client.getSocketFactory()
                                .createSocket("127.0.0.1", gw.listenerAddress(8080).getPort());
        s.setSoTimeout(6000);
        s.startHandshake();
        return s;
    }

    private static void send(SSLSocket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
    }

    /**
     * What the gateway sent until it closed the connection; fails the test when it did not close
     * within the socket timeout.
     */
    private static String untilClosed(SSLSocket s) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[4096];
        try {
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError(
                    "the gateway kept the connection open; it sent: "
                            + out.toString(StandardCharsets.ISO_8859_1));
        } catch (javax.net.ssl.SSLException e) {
            // closed without close_notify: closed all the same
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void headersThatNeverFinishGet408AndTheConnectionIsClosed() throws Exception {
        try (SSLSocket s = connect()) {
            send(s, "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ");
            long t0 = System.nanoTime();
            String r = untilClosed(s);
            assertThat(r).startsWith("HTTP/1.1 408");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
        }
    }

    @Test
    void aConnectionThatSendsNothingIsClosed() throws Exception {
        try (SSLSocket s = connect()) {
            assertThat(untilClosed(s)).startsWith("HTTP/1.1 408");
        }
    }

    @Test
    void aBodyThatStallsGets408() throws Exception {
        int before = app.wholeBodies.get();
        try (SSLSocket s = connect()) {
            send(s, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n0123456789");
            assertThat(untilClosed(s)).startsWith("HTTP/1.1 408");
        }
        // The head went up at once (bodies stream); the upstream request was cut, never completed.
        assertThat(app.wholeBodies.get()).isEqualTo(before);
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() throws Exception {
        try (SSLSocket s = connect()) {
            send(s, "GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
            long t0 = System.nanoTime();
            String r = untilClosed(s);
            assertThat(r).startsWith("HTTP/1.1 200").contains("path=/one");
            assertThat(Duration.ofNanos(System.nanoTime() - t0))
                    .isBetween(Duration.ofMillis(1500), Duration.ofSeconds(5));
        }
    }

    @Test
    void manyPartialLargeBodiesAreStreamedNotHeldAndOthersAreStillServed() throws Exception {
        List<SSLSocket> attackers = new ArrayList<>();
        List<String> answers = new ArrayList<>();
        try {
            byte[] chunk = new byte[100 * 1024];
            for (int i = 0; i < 8; i++) {
                SSLSocket s = connect();
                attackers.add(s);
                send(s, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n");
                try {
                    for (int k = 0; k < 4; k++) {
                        s.getOutputStream().write(chunk);
                    }
                    s.getOutputStream().flush();
                } catch (IOException refused) {
                    // the gateway closed while we were writing
                }
                // Bodies stream to the app; what the gateway keeps for retries stays within its
                // budget (1 MiB here).
                assertThat(gw.bodyBudget().used()).isLessThanOrEqualTo(gw.bodyBudget().limit());
            }
            // While the attackers hold what they could get, a request without a body is served.
            try (SSLSocket legit = connect()) {
                send(legit, "GET /legit HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
                assertThat(untilClosed(legit)).startsWith("HTTP/1.1 200");
            }
            for (SSLSocket s : attackers) {
                s.setSoTimeout(3000);
                try {
                    answers.add(untilClosed(s));
                } catch (AssertionError stillOpen) {
                    answers.add("open");
                }
            }
        } finally {
            for (SSLSocket s : attackers) {
                s.close();
            }
        }
        assertThat(answers)
                .as(
                        "stalled bodies time out (the stream idle timeout), the gateway having held none of them")
                .allSatisfy(
                        a ->
                                assertThat(a)
                                        .satisfiesAnyOf(
                                                x -> assertThat(x).startsWith("HTTP/1.1 408"),
                                                x -> assertThat(x).isEmpty()));
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> gw.bodyBudget().used() == 0);
    }

    @Test
    void aTlsSessionResumedAfterTheClientSvidExpiredIsRefused() throws Exception {
        Identity shortLived = pki.shortLived(MeshFixture.SLEEP_ID, Duration.ofSeconds(3));
        TestPki.Files f = TestPki.write(shortLived, dir, "short");
        Path intermediates = dir.resolve("short.intermediates.pem");
        io.mithril.pki.Pem.writeCertificates(
                intermediates, shortLived.chain().subList(1, shortLived.chain().size()));
        Path session = dir.resolve("session.pem");
        String addr = "127.0.0.1:" + gw.listenerAddress(8080).getPort();
        String request = "GET /resumed HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        List<String> common =
                List.of(
                        "openssl",
                        "s_client",
                        "-connect",
                        addr,
                        "-cert",
                        f.cert().toString(),
                        "-cert_chain",
                        intermediates.toString(),
                        "-key",
                        f.key().toString(),
                        "-CAfile",
                        f.bundle().toString(),
                        "-ign_eof");
        Processes.Result first =
                Processes.run(concat(common, "-sess_out", session.toString()), request);
        assertThat(first.out()).as(first.err()).contains("HTTP/1.1 200");
        assertThat(Files.exists(session)).as("the gateway issued a session ticket").isTrue();
        Awaitility.await()
                .pollInterval(Duration.ofMillis(200))
                .atMost(Duration.ofSeconds(10))
                .until(
                        () ->
                                java.time.Instant.now()
                                        .isAfter(
                                                shortLived
                                                        .chain()
                                                        .get(0)
                                                        .getNotAfter()
                                                        .toInstant()
                                                        .plusSeconds(1)));
        Processes.Result resumed =
                Processes.run(concat(common, "-sess_in", session.toString()), request);
        assertThat(resumed.out())
                .as("openssl resumed the session")
                .containsPattern("Reused, TLSv1\\.[23]");
        assertThat(resumed.out())
                .as("the gateway refused the resumed session of an expired SVID")
                .doesNotContain("HTTP/1.1 200")
                .doesNotContain("path=/resumed");
    }

    private static List<String> concat(List<String> a, String... b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(List.of(b));
        return out;
    }
}
