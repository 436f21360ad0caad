package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** VirtualService rule kinds on a plain HTTP gateway server, driven by the real curl. */
class RouteRulesTest {

    static TestPki pki;
    static TestBackend a;
    static TestBackend b;
    static TestBackend shadow;
    static Proxy gateway;
    static final int MAX_BODY = 1 << 20;
    static String base;

    static String entry(String name, int port) {
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: %s, namespace: default}
                spec:
                  hosts: [%s.default.svc.cluster.local]
                  resolution: STATIC
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  endpoints: [{address: 127.0.0.1, ports: {http: %d}}]
                ---
                """
                .formatted(name, name, port);
    }

    @BeforeAll
    static void start() throws Exception {
        pki = new TestPki("example.org");
        a = new TestBackend("a");
        b = new TestBackend("b");
        shadow = new TestBackend("shadow");
        String yaml =
                entry("a", a.port())
                        + entry("b", b.port())
                        + entry("shadow", shadow.port())
                        + entry("down", 1)
                        + """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: gw, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers: [{port: {number: 8081, name: http, protocol: HTTP}, hosts: ["*"]}]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-admin, namespace: istio-system}
                spec:
                  selector: {matchLabels: {istio: ingressgateway}}
                  action: DENY
                  rules: [{to: [{operation: {paths: ["/admin*"]}}]}]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: rules, namespace: istio-system}
                spec:
                  hosts: ["*"]
                  gateways: [gw]
                  http:
                  - match: [{uri: {prefix: /old/}}]
                    redirect: {uri: /new, redirectCode: 302}
                  - match: [{uri: {exact: /teapot}}]
                    directResponse: {status: 418, body: {string: "short and stout"}}
                  - match: [{uri: {prefix: /v1/}}]
                    rewrite: {uri: /api/, authority: rewritten.example}
                    route: [{destination: {host: a.default.svc.cluster.local}}]
                  - match: [{uri: {prefix: /abort}}]
                    fault: {abort: {httpStatus: 497, percentage: {value: 100}}}
                    route: [{destination: {host: a.default.svc.cluster.local}}]
                  - match: [{uri: {prefix: /headers}}]
                    headers:
                      request: {set: {x-set: one}, add: {x-added: two}, remove: [x-drop]}
                      response: {set: {x-resp: three}, remove: [x-backend]}
                    route: [{destination: {host: a.default.svc.cluster.local}}]
                  - match: [{uri: {prefix: /split}}]
                    route:
                    - {destination: {host: a.default.svc.cluster.local}, weight: 50}
                    - {destination: {host: b.default.svc.cluster.local}, weight: 50}
                  - match: [{uri: {prefix: /slow}}]
                    timeout: 300ms
                    route: [{destination: {host: a.default.svc.cluster.local}}]
                  - match: [{uri: {prefix: /mirror}}]
                    mirror: {host: shadow.default.svc.cluster.local}
                    route: [{destination: {host: a.default.svc.cluster.local}}]
                  - match: [{uri: {prefix: /cors}}]
                    corsPolicy: {allowOrigins: [{exact: "https://ok.example"}], allowMethods: [GET, POST], maxAge: 24h}
                    route: [{destination: {host: a.default.svc.cluster.local}}]
                  - match: [{uri: {prefix: /down}}]
                    retries: {attempts: 2, retryOn: connect-failure}
                    route: [{destination: {host: down.default.svc.cluster.local}}]
                  - match: [{headers: {x-user: {exact: jason}}}]
                    route: [{destination: {host: b.default.svc.cluster.local}}]
                  - route: [{destination: {host: a.default.svc.cluster.local}}]
                """;
        // A body limit as an operator sets it (-maxBodyBytes; none by default, as Envoy).
        gateway =
                MeshFixture.gateway(
                        pki.identity(MeshFixture.GATEWAY_ID),
                        MeshFixture.parse(yaml),
                        s -> s.withLimits(s.limits().withMaxBodyBytes(MAX_BODY)));
        base = "http://127.0.0.1:" + gateway.listenerAddress(8081).getPort();
    }

    @AfterAll
    static void stop() {
        gateway.close();
        a.close();
        b.close();
        shadow.close();
    }

    @Test
    void redirectAnswers302WithTheNewLocation() throws Exception {
        Processes.Result r = Processes.curl("-i", base + "/old/x");
        assertThat(r.status()).isEqualTo(302);
        assertThat(r.out())
                .containsIgnoringCase(
                        "location: http://127.0.0.1:"
                                + gateway.listenerAddress(8081).getPort()
                                + "/new");
    }

    @Test
    void directResponseAndFaultAbortAnswerWithoutTheBackend() throws Exception {
        Processes.Result teapot = Processes.curl(base + "/teapot");
        assertThat(teapot.status()).isEqualTo(418);
        assertThat(teapot.body()).isEqualTo("short and stout");
        Processes.Result abort = Processes.curl(base + "/abort");
        assertThat(abort.status()).isEqualTo(497);
        assertThat(abort.body()).isEqualTo("fault filter abort");
    }

    @Test
    void rewriteReplacesTheMatchedPrefixAndTheAuthority() throws Exception {
        Processes.Result r = Processes.curl(base + "/v1/items?x=1");
        assertThat(r.body())
                .contains("backend=a", "path=/api/items?x=1", "host: rewritten.example");
    }

    @Test
    void headerOperationsApplyToRequestAndResponse() throws Exception {
        Processes.Result r =
                Processes.curl(
                        "-i", "-H", "x-drop: gone", "-H", "x-added: zero", base + "/headers");
        assertThat(r.out()).contains("x-set: one", "x-added: zero,two").doesNotContain("x-drop");
        assertThat(r.out().toLowerCase()).contains("x-resp: three").doesNotContain("x-backend: a");
    }

    @Test
    void weightedRoutesSendTrafficToBothDestinations() throws Exception {
        int before = b.requests.get();
        int toA = 0;
        for (int i = 0; i < 40; i++) {
            if (Processes.curl(base + "/split").body().contains("backend=a")) {
                toA++;
            }
        }
        assertThat(toA).isBetween(1, 39);
        assertThat(b.requests.get() - before).isEqualTo(40 - toA);
    }

    @Test
    void routeTimeoutGives504() throws Exception {
        Processes.Result r = Processes.curl(base + "/slow");
        assertThat(r.status()).isEqualTo(504);
        assertThat(r.body()).isEqualTo("upstream request timeout");
    }

    @Test
    void mirrorSendsACopyToTheShadowWithShadowHost() throws Exception {
        int before = shadow.requests.get();
        assertThat(Processes.curl(base + "/mirror").body()).contains("backend=a");
        for (int i = 0; i < 50 && shadow.requests.get() == before; i++) {
            Thread.sleep(20);
        }
        assertThat(shadow.requests.get()).isEqualTo(before + 1);
    }

    @Test
    void corsPreflightFromAnAllowedOriginIsAnsweredByTheProxy() throws Exception {
        Processes.Result r =
                Processes.curl(
                        "-i",
                        "-X",
                        "OPTIONS",
                        "-H",
                        "Origin: https://ok.example",
                        "-H",
                        "Access-Control-Request-Method: POST",
                        base + "/cors");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.out().toLowerCase())
                .contains(
                        "access-control-allow-origin: https://ok.example",
                        "access-control-allow-methods: get,post",
                        "access-control-max-age: 86400");
        Processes.Result get =
                Processes.curl("-i", "-H", "Origin: https://evil.example", base + "/cors");
        assertThat(get.out().toLowerCase()).doesNotContain("access-control-allow-origin");
    }

    @Test
    void upstreamDownIsRetriedThenAnswered503() throws Exception {
        Processes.Result r = Processes.curl(base + "/down");
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.body()).contains("upstream connect error or disconnect/reset before headers");
    }

    @Test
    void headerMatchRoutesAndNoMatchFallsThroughToTheCatchAll() throws Exception {
        assertThat(Processes.curl("-H", "x-user: jason", base + "/any").body())
                .contains("backend=b");
        assertThat(Processes.curl(base + "/any").body()).contains("backend=a");
    }

    @Test
    void authorizationPolicyDenyGives403RbacAccessDenied() throws Exception {
        Processes.Result r = Processes.curl(base + "/admin/users");
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.body()).isEqualTo("RBAC: access denied");
    }

    @Test
    void bodyOverTheLimitGets413() throws Exception {
        java.nio.file.Path big = java.nio.file.Files.createTempFile("big", ".bin");
        try {
            java.nio.file.Files.write(big, new byte[MAX_BODY + 1]);
            Processes.Result r = Processes.curl("--data-binary", "@" + big, base + "/any");
            assertThat(r.status()).isEqualTo(413);
            // Without a Content-Length the body is counted as it streams.
            r =
                    Processes.curl(
                            "-H",
                            "Transfer-Encoding: chunked",
                            "--data-binary",
                            "@" + big,
                            base + "/any");
            assertThat(r.status()).isEqualTo(413);
            java.nio.file.Files.write(big, new byte[MAX_BODY]);
            r =
                    Processes.curl(
                            "-H",
                            "Transfer-Encoding: chunked",
                            "--data-binary",
                            "@" + big,
                            base + "/any");
            assertThat(r.status()).isEqualTo(200);
        } finally {
            java.nio.file.Files.delete(big);
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrderEvenWhenTheSecondIsFaster() throws Exception {
        try (java.net.Socket s =
                new java.net.Socket("127.0.0.1", gateway.listenerAddress(8081).getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream()
                    .write(
                            ("GET /v1/first HTTP/1.1\r\nHost: x\r\n\r\n"
                                            + "GET /teapot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String all =
                    new String(
                            s.getInputStream().readAllBytes(),
                            java.nio.charset.StandardCharsets.UTF_8);
            int first = all.indexOf("HTTP/1.1 200 OK");
            int second = all.indexOf("HTTP/1.1 418");
            assertThat(first).as(all).isGreaterThanOrEqualTo(0);
            assertThat(second).as(all).isGreaterThan(first);
            assertThat(all).contains("path=/api/first", "short and stout");
        }
    }
}
