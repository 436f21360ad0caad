package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.proxy.identity.Identity;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's attacks from a hostile client, on a real gateway over real TLS: raw bytes that try to
 * pass an AuthorizationPolicy or escape a prefix route through the path, requests that Envoy
 * refuses, headers an edge client must not control. Each case asserts the request never reached the
 * application.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileClientTest {

    private static final String POLICY =
            MeshFixture.gateway8080(
                            "{mode: ISTIO_MUTUAL}",
                            """
            [{match: [{uri: {prefix: /static}}], route: [{destination: {host: static.default.svc.cluster.local}}]},
             {match: [{uri: {prefix: /api/v1/products}}], route: [{destination: {host: app.default.svc.cluster.local}}]}]""")
                    + """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: no-ratings, namespace: istio-system}
            spec:
              selector: {matchLabels: {istio: ingressgateway}}
              action: DENY
              rules:
              - to: [{operation: {paths: ["/api/v1/products/0/ratings"]}}]
            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: products-one-level, namespace: istio-system}
            spec:
              selector: {matchLabels: {istio: ingressgateway}}
              action: DENY
              rules:
              - to: [{operation: {paths: ["/api/v1/products/*"], notPaths: ["/api/v1/products/{*}"]}}]
            """;

    @TempDir static Path dir;

    private TestPki pki;
    private TestBackend app;
    private TestBackend statics;
    private Proxy gw;
    private SSLContext client;
    private TestPki.Files files;

    @BeforeAll
    void start() throws Exception {
        pki = new TestPki("example.org");
        app = new TestBackend("app");
        statics = new TestBackend("static");
        gw =
                MeshFixture.gateway(
                        pki.identity(MeshFixture.GATEWAY_ID, List.of("bookinfo.example.org")),
                        MeshFixture.parse(
                                POLICY,
                                RouteRulesTest.entry("app", app.port()),
                                RouteRulesTest.entry("static", statics.port())));
        Identity sleep = pki.identity(MeshFixture.SLEEP_ID);
        client = sslContext(sleep);
        files = TestPki.write(sleep, dir, "sleep");
    }

    @AfterAll
    void stop() {
        gw.close();
        app.close();
        statics.close();
    }

    static SSLContext sslContext(Identity id) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry(
                "svid", id.privateKey(), new char[0], id.chain().toArray(Certificate[]::new));
        KeyManagerFactory kmf =
                KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        int i = 0;
        for (var c : id.bundles().get(id.spiffeId().trustDomain())) {
            ts.setCertificateEntry("ca" + i++, c);
        }
        TrustManagerFactory tmf =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
        return ctx;
    }

    /**
     * Sends {@code request} as raw bytes over mTLS and returns what came back until the gateway
     * closed or went quiet.
     */
    private String raw(byte[] request) throws IOException {
        try (SSLSocket s =
                (SSLSocket)
                        client.getSocketFactory()
                                .createSocket("127.0.0.1", gw.listenerAddress(8080).getPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            return readAll(s.getInputStream());
        }
    }

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try {
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                if (out.toString(StandardCharsets.ISO_8859_1).contains("\r\n\r\n")
                        && complete(out.toString(StandardCharsets.ISO_8859_1))) {
                    break;
                }
            }
        } catch (SocketTimeoutException | javax.net.ssl.SSLException e) {
            // what arrived is the answer
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    private static boolean complete(String response) {
        int end = response.indexOf("\r\n\r\n");
        java.util.regex.Matcher m =
                java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)")
                        .matcher(response.substring(0, end));
        return m.find() && response.length() - end - 4 >= Integer.parseInt(m.group(1));
    }

    private String get(String target) throws IOException {
        return raw(
                ("GET "
                                + target
                                + " HTTP/1.1\r\nHost: bookinfo.example.org\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
    }

    private static int status(String response) {
        return response.startsWith("HTTP/1.1 ") ? Integer.parseInt(response.substring(9, 12)) : -1;
    }

    @Test
    void everyPathVariantOfADeniedPathIsRefusedOverHttp1AndNeverReachesTheApp() throws Exception {
        int before = app.requests.get();
        List<String> served = new ArrayList<>();
        for (String variant :
                List.of(
                        "/api/v1/products/0/ratings",
                        "/api/v1/products/0/ratings#x",
                        "/api/v1/products/0/ratings/",
                        "//api/v1/products/0/ratings",
                        "/api/v1//products/0/ratings",
                        "/api/v1/products/0/./ratings",
                        "/api/v1/products/0/x/../ratings",
                        "/api/v1/products/0/%72atings",
                        "/api/v1/products/0/r%61tings",
                        "/api/v1/products/0/ratings;x",
                        "/api/v1/products/0/ratings%00",
                        "/api/v1/products/0\\ratings",
                        "/api/v1/products/0%2Fratings",
                        "/api/v1/products/0%2fratings",
                        "/api/v1/products/0%5Cratings",
                        "/api/v1/products/0/ratings\u0001",
                        "/api/v1/products/0/ratings\u0080",
                        "/static/../api/v1/products/0/ratings",
                        "/api/v1/products/0/ratings?x=1",
                        "/api/v1/products/0/..%2Fratings/..%2F0/ratings")) {
            int s = status(get(variant));
            if (s != 403 && s != 400) {
                served.add(variant + " -> " + s);
            }
        }
        assertThat(served).as("variants not refused").isEmpty();
        assertThat(app.requests.get()).as("no variant reached the application").isEqualTo(before);
    }

    @Test
    void everyPathVariantIsRefusedOverHttp2Too() throws Exception {
        int port = gw.listenerAddress(8080).getPort();
        int before = app.requests.get();
        for (String variant :
                List.of(
                        "/api/v1/products/0/ratings#x",
                        "/api/v1/products/0/ratings/",
                        "//api/v1/products/0/ratings",
                        "/api/v1/products/0/./ratings",
                        "/api/v1/products/0/%72atings",
                        "/api/v1/products/0%2Fratings",
                        "/api/v1/products/0/ratings;x",
                        "/api/v1/products/0/ratings%00")) {
            Processes.Result r =
                    Processes.curl(
                            "--http2",
                            "--cacert",
                            files.bundle().toString(),
                            "--cert",
                            files.cert().toString(),
                            "--key",
                            files.key().toString(),
                            "--resolve",
                            "bookinfo.example.org:" + port + ":127.0.0.1",
                            "--request-target",
                            variant,
                            "https://bookinfo.example.org:" + port + "/");
            assertThat(r.status()).as(variant + ": " + r.err()).isIn(400, 403);
        }
        assertThat(app.requests.get()).isEqualTo(before);
        Processes.Result ok =
                Processes.curl(
                        "--http2",
                        "--cacert",
                        files.bundle().toString(),
                        "--cert",
                        files.cert().toString(),
                        "--key",
                        files.key().toString(),
                        "--resolve",
                        "bookinfo.example.org:" + port + ":127.0.0.1",
                        "--request-target",
                        "/api/v1//products/./0",
                        "https://bookinfo.example.org:" + port + "/");
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.body()).contains("path=/api/v1/products/0\n");
    }

    /**
     * A template matches what Envoy's uri_template matcher matches, no more: {@code {*}} is one
     * segment without a trailing slash, so a DENY that spares {@code /api/v1/products/{*}} is not
     * passed by adding a '/' to a deeper path's first segment.
     */
    @Test
    void aTrailingSlashDoesNotTakeAPathIntoATemplateThatADenySpares() throws Exception {
        int before = app.requests.get();
        assertThat(status(get("/api/v1/products/1/"))).isEqualTo(403);
        assertThat(status(get("/api/v1/products/1/reviews"))).isEqualTo(403);
        assertThat(app.requests.get()).isEqualTo(before);
        assertThat(status(get("/api/v1/products/1"))).isEqualTo(200);
        assertThat(status(get("/api/v1/products/1?x=/y/")))
                .as("the query is not part of the path")
                .isEqualTo(200);
    }

    @Test
    void theNormalizedPathIsTheOneRoutedAndForwarded() throws Exception {
        String r = get("/static/x/..//y/%2e/z?q=/../a");
        assertThat(status(r)).isEqualTo(200);
        assertThat(r).contains("backend=static").contains("path=/static/y/z?q=/../a\n");
        String escaped = get("/static/../api/v1/products/1");
        assertThat(escaped)
                .as("/static/.. does not stay in the /static route")
                .contains("backend=app")
                .contains("path=/api/v1/products/1\n");
        String notRouted = get("/static/../secret");
        assertThat(status(notRouted)).isEqualTo(404);
    }

    @Test
    void requestsEnvoyRefusesGet400AndReachNothing() throws Exception {
        int before = app.requests.get();
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put(
                "no Host (HTTP/1.1)",
                "GET /api/v1/products/1 HTTP/1.1\r\nConnection: close\r\n\r\n");
        cases.put("no Host (HTTP/1.0)", "GET /api/v1/products/1 HTTP/1.0\r\n\r\n");
        cases.put(
                "two Hosts",
                "GET /api/v1/products/1 HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n");
        cases.put(
                "lower-case method",
                "get /api/v1/products/1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        cases.put(
                "unknown method",
                "FROB /api/v1/products/1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        cases.put(
                "bad Host",
                "GET /api/v1/products/1 HTTP/1.1\r\nHost: a b/c\r\nConnection: close\r\n\r\n");
        cases.put("* for GET", "GET * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            String r = raw(c.getValue().getBytes(StandardCharsets.ISO_8859_1));
            assertThat(status(r)).as(c.getKey() + ": " + r).isEqualTo(400);
        }
        assertThat(app.requests.get()).isEqualTo(before);
    }

    @Test
    void anEdgeClientCannotSetEnvoyHeadersOrItsRequestId() throws Exception {
        String r =
                raw(
                        ("GET /api/v1/products/1 HTTP/1.1\r\nHost: a\r\nx-request-id: chosen-by-client\r\n"
                                        + "x-envoy-retry-on: 5xx\r\nX-Envoy-Upstream-Rq-Timeout-Ms: 1\r\nx-envoy-internal: true\r\n"
                                        + "x-envoy-external-address: 10.0.0.1\r\nConnection: close\r\n\r\n")
                                .getBytes(StandardCharsets.ISO_8859_1));
        assertThat(status(r)).isEqualTo(200);
        assertThat(r)
                .doesNotContain("chosen-by-client")
                .doesNotContain("x-envoy-retry-on")
                .doesNotContain("x-envoy-internal")
                .doesNotContain("x-envoy-upstream-rq-timeout-ms")
                .doesNotContain("10.0.0.1")
                .contains("x-envoy-external-address: 127.0.0.1")
                .containsPattern("x-request-id: [0-9a-f-]{36}");
    }

    @Test
    void theBodyBudgetIsGivenBackWhenConnectionsEnd() throws Exception {
        assertThat(gw.bodyBudget().used()).isZero();
        String r =
                raw(
                        ("POST /api/v1/products/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
                                .getBytes(StandardCharsets.ISO_8859_1));
        assertThat(status(r)).isEqualTo(200);
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(5))
                .until(() -> gw.bodyBudget().used() == 0);
    }
}
