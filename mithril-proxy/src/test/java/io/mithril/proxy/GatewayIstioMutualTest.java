package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.proxy.identity.StaticIdentitySource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The seed end to end in one JVM, driven by the real curl and openssl: sleep's SVID -> ingress
 * gateway (HTTPS 8080, ISTIO_MUTUAL) -> DestinationRule ISTIO_MUTUAL -> productpage sidecar
 * (STRICT) -> productpage app.
 */
class GatewayIstioMutualTest {

    static TestPki pki;
    static TestBackend app;
    static Proxy sidecar;
    static Proxy gateway;
    static Path dir;
    static TestPki.Files sleep;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        pki = new TestPki("example.org");
        dir = Files.createTempDirectory("gw-test");
        app = new TestBackend("productpage");
        sidecar =
                MeshFixture.sidecar(
                        new StaticIdentitySource(pki.identity(MeshFixture.PRODUCTPAGE_ID)),
                        Map.of("app", "productpage"),
                        app.port(),
                        MeshFixture.parse(
                                MeshFixture.SEED,
                                """
                        apiVersion: security.istio.io/v1beta1
                        kind: PeerAuthentication
                        metadata: {name: default, namespace: default}
                        spec: {mtls: {mode: STRICT}}
                        """));
        gateway =
                MeshFixture.gateway(
                        pki.identity(MeshFixture.GATEWAY_ID, List.of("app.example.org")),
                        MeshFixture.parse(
                                MeshFixture.SEED,
                                MeshFixture.productpageEntry(
                                        sidecar.listenerAddress(9080).getPort(),
                                        "bookinfo-productpage")));
        port = gateway.listenerAddress(8080).getPort();
        sleep = TestPki.write(pki.identity(MeshFixture.SLEEP_ID), dir, "sleep");
    }

    @AfterAll
    static void stop() throws Exception {
        gateway.close();
        sidecar.close();
        app.close();
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static Processes.Result curl(TestPki.Files client, String path, String... extra)
            throws Exception {
        List<String> args = new java.util.ArrayList<>();
        if (client != null) {
            args.addAll(
                    List.of("--cert", client.cert().toString(), "--key", client.key().toString()));
        }
        args.addAll(
                List.of(
                        "--cacert",
                        sleep.bundle().toString(),
                        "--resolve",
                        "app.example.org:" + port + ":127.0.0.1"));
        args.addAll(List.of(extra));
        args.add("https://app.example.org:" + port + path);
        return Processes.curl(args.toArray(String[]::new));
    }

    @Test
    void validSvidReachesProductpageThroughGatewayAndSidecarWithBothIdentitiesInXfcc()
            throws Exception {
        Processes.Result r = curl(sleep, "/productpage");
        assertThat(r.status()).as(r.err()).isEqualTo(200);
        assertThat(r.body()).contains("backend=productpage", "path=/productpage");
        assertThat(r.body())
                .containsPattern(
                        "x-forwarded-client-cert: By="
                                + MeshFixture.GATEWAY_ID
                                + ";Hash=[0-9a-f]{64};Subject=\"\";URI="
                                + MeshFixture.SLEEP_ID
                                + ",By="
                                + MeshFixture.PRODUCTPAGE_ID
                                + ";Hash=[0-9a-f]{64};Subject=\"\";URI="
                                + MeshFixture.GATEWAY_ID);
    }

    @Test
    void everySeedPrefixRoutesAndOtherPathsGet404() throws Exception {
        assertThat(curl(sleep, "/static/style.css").body()).contains("path=/static/style.css");
        assertThat(curl(sleep, "/api/v1/products/0/reviews").body())
                .contains("path=/api/v1/products/0/reviews");
        assertThat(curl(sleep, "/login", "-d", "username=jason").body())
                .contains("method=POST", "path=/login");
        Processes.Result notFound = curl(sleep, "/admin");
        assertThat(notFound.status()).isEqualTo(404);
        assertThat(app.requests.get()).isPositive();
    }

    @Test
    void http2AndHttp11AreBothNegotiatedByAlpn() throws Exception {
        Processes.Result h2 =
                curl(
                        sleep,
                        "/productpage",
                        "-o",
                        "/dev/null",
                        "-w",
                        "%{http_version}\n",
                        "--http2");
        assertThat(h2.out()).contains("2\n");
        Processes.Result h1 = curl(sleep, "/productpage", "-I", "--http1.1");
        assertThat(h1.out()).startsWith("HTTP/1.1 200 OK");
        assertThat(h1.out().toLowerCase()).contains("server: istio-envoy");
    }

    @Test
    void clientWithoutCertificateIsRefusedInTheHandshake() throws Exception {
        Processes.Result r = curl(null, "/productpage");
        assertThat(r.exit()).as(r.out()).isNotZero();
        assertThat(r.out().strip()).isEqualTo("000");
    }

    @Test
    void certificateFromAnotherCaIsRefused() throws Exception {
        TestPki foreign = new TestPki("example.org");
        TestPki.Files f = TestPki.write(foreign.identity(MeshFixture.SLEEP_ID), dir, "foreign");
        Processes.Result r = curl(f, "/productpage");
        assertThat(r.exit()).isNotZero();
        assertThat(r.out().strip()).isEqualTo("000");
        // TLS 1.2: the client reads the server's alert inside the handshake (with 1.3 the refusal
        // may land after curl considers the handshake done, as a reset).
        Processes.Result tls12 = curl(f, "/productpage", "--tls-max", "1.2", "-v");
        assertThat(tls12.err())
                .as("the TLS alert curl got")
                .contains("(IN), TLS alert, unknown CA");
    }

    @Test
    void expiredCertificateIsRefused() throws Exception {
        TestPki.Files f = TestPki.write(pki.expired(MeshFixture.SLEEP_ID), dir, "expired");
        Processes.Result r = curl(f, "/productpage");
        assertThat(r.exit()).isNotZero();
        assertThat(r.out().strip()).isEqualTo("000");
        // TLS 1.2: the client reads the server's alert inside the handshake (with 1.3 the refusal
        // may land after curl considers the handshake done, as a reset).
        Processes.Result tls12 = curl(f, "/productpage", "--tls-max", "1.2", "-v");
        assertThat(tls12.err())
                .as("the TLS alert curl got")
                .contains("(IN), TLS alert, certificate expired");
    }

    @Test
    void opensslSeesTheGatewaySvidAndItsChainAndIsRefusedWithoutCertificate() throws Exception {
        Processes.Result withCert =
                Processes.run(
                        List.of(
                                "openssl",
                                "s_client",
                                "-connect",
                                "127.0.0.1:" + port,
                                "-servername",
                                "app.example.org",
                                "-showcerts",
                                "-ign_eof",
                                "-cert",
                                sleep.cert().toString(),
                                "-key",
                                sleep.key().toString(),
                                "-CAfile",
                                sleep.bundle().toString()),
                        "GET /productpage HTTP/1.1\r\nHost: app.example.org\r\nConnection: close\r\n\r\n");
        assertThat(withCert.out())
                .contains("Verify return code: 0 (ok)")
                .contains(" 1 s:C = US, O = SPIFFE");
        Processes.Result text =
                Processes.run(
                        List.of("openssl", "x509", "-noout", "-ext", "subjectAltName"),
                        withCert.out()
                                .substring(withCert.out().indexOf("-----BEGIN CERTIFICATE-----")));
        assertThat(text.out()).contains("URI:" + MeshFixture.GATEWAY_ID);
        // TLS 1.2: the refusal comes inside the handshake, before the client could send anything.
        Processes.Result without =
                Processes.run(
                        List.of(
                                "openssl",
                                "s_client",
                                "-tls1_2",
                                "-connect",
                                "127.0.0.1:" + port,
                                "-servername",
                                "app.example.org",
                                "-CAfile",
                                sleep.bundle().toString()),
                        "GET /productpage HTTP/1.1\r\nHost: app.example.org\r\n\r\n");
        assertThat(without.out()).doesNotContain("HTTP/1.1 200");
        assertThat(without.out() + without.err()).containsIgnoringCase("alert");
    }

    @Test
    void requestsAreCountedInPrometheusMetricsAndTheProxyIsReady() throws Exception {
        curl(sleep, "/productpage");
        String admin = "http://127.0.0.1:" + gateway.adminAddress().getPort();
        Processes.Result metrics = Processes.curl(admin + "/stats/prometheus");
        assertThat(metrics.body())
                .containsPattern(
                        "istio_requests_total\\{[^}]*destination_service=\"productpage.default.svc.cluster.local\""
                                + "[^}]*response_code=\"200\"[^}]*source_principal=\""
                                + MeshFixture.SLEEP_ID
                                + "\"[^}]*} [1-9]");
        assertThat(metrics.body()).contains("istio_request_duration_milliseconds_bucket");
        assertThat(Processes.curl(admin + "/ready").status()).isEqualTo(200);
        assertThat(Processes.curl(admin + "/config_dump").body())
                .contains("outbound|9080||productpage.default.svc.cluster.local");
    }

    @Test
    void headersOver60KiBGet431AndTheSidecarStillServesAfterwards() throws Exception {
        Processes.Result r =
                curl(sleep, "/productpage", "--http1.1", "-H", "x-big: " + "a".repeat(70 * 1024));
        assertThat(r.status()).isEqualTo(431);
        assertThat(curl(sleep, "/productpage").status()).isEqualTo(200);
    }

    @Test
    void sidecarStrictRefusesPlaintext() throws Exception {
        int inbound = sidecar.listenerAddress(9080).getPort();
        Processes.Result r = Processes.curl("http://127.0.0.1:" + inbound + "/productpage");
        assertThat(r.exit()).isNotZero();
        assertThat(r.out().strip()).isEqualTo("000");
    }

    @Test
    void gatewayRefusesAnUpstreamWhoseSpiffeIdIsNotTheExpectedOne() throws Exception {
        // An impostor sidecar: a valid SVID of the trust domain, but not productpage's identity.
        try (TestBackend other = new TestBackend("impostor");
                Proxy impostor =
                        MeshFixture.sidecar(
                                new StaticIdentitySource(
                                        pki.identity(
                                                "spiffe://example.org/ns/default/sa/impostor")),
                                Map.of("app", "productpage"),
                                other.port(),
                                MeshFixture.parse(MeshFixture.SEED));
                Proxy gw =
                        MeshFixture.gateway(
                                pki.identity(MeshFixture.GATEWAY_ID, List.of("app.example.org")),
                                MeshFixture.parse(
                                        MeshFixture.SEED,
                                        MeshFixture.productpageEntry(
                                                impostor.listenerAddress(9080).getPort(),
                                                "bookinfo-productpage")))) {
            int gwPort = gw.listenerAddress(8080).getPort();
            Processes.Result r =
                    Processes.curl(
                            "--cert",
                            sleep.cert().toString(),
                            "--key",
                            sleep.key().toString(),
                            "--cacert",
                            sleep.bundle().toString(),
                            "--resolve",
                            "app.example.org:" + gwPort + ":127.0.0.1",
                            "https://app.example.org:" + gwPort + "/productpage");
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.body())
                    .startsWith(
                            "upstream connect error or disconnect/reset before headers. reset reason: connection failure");
            assertThat(other.requests.get()).isZero();
        }
    }

    @Test
    void upstreamDownGives503() throws Exception {
        int closedPort;
        try (java.net.ServerSocket s =
                new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        try (Proxy gw =
                MeshFixture.gateway(
                        pki.identity(MeshFixture.GATEWAY_ID, List.of("app.example.org")),
                        MeshFixture.parse(
                                MeshFixture.SEED,
                                MeshFixture.productpageEntry(
                                        closedPort, "bookinfo-productpage")))) {
            int gwPort = gw.listenerAddress(8080).getPort();
            Processes.Result r =
                    Processes.curl(
                            "--cert",
                            sleep.cert().toString(),
                            "--key",
                            sleep.key().toString(),
                            "--cacert",
                            sleep.bundle().toString(),
                            "--resolve",
                            "app.example.org:" + gwPort + ":127.0.0.1",
                            "https://app.example.org:" + gwPort + "/productpage");
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.body()).contains("upstream connect error");
        }
    }
}
