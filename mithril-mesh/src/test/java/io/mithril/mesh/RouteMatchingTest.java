package io.mithril.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.mesh.compile.MeshCompiler;
import io.mithril.mesh.config.ProxyConfig;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.config.Route;
import io.mithril.mesh.config.RouteConfiguration;
import io.mithril.mesh.yaml.MeshYaml;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every VirtualService match kind, compiled for a gateway and evaluated as Envoy does. */
class RouteMatchingTest {

    static final String GATEWAY =
            """
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: gw, namespace: istio-system}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 80, name: http, protocol: HTTP}
                hosts: ["*"]
            ---
            """;

    static RouteConfiguration routes(String http) {
        String yaml =
                GATEWAY
                        + """
                apiVersion: networking.istio.io/v1beta1
                kind: VirtualService
                metadata: {name: vs, namespace: default}
                spec:
                  hosts: ["*"]
                  gateways: [istio-system/gw]
                  http:
                """
                        + http.indent(2);
        ProxyConfig cfg =
                MeshCompiler.compile(
                        MeshYaml.parse("t.yaml", yaml).orThrow(),
                        ProxyNode.gateway(
                                "istio-system", Map.of("istio", "ingressgateway"), "example.org"));
        return cfg.routes().get("http.80");
    }

    static String target(RouteConfiguration rc, Req r) {
        Route route = rc.route(r);
        if (route == null) {
            return null;
        }
        if (route.action() instanceof Route.Forward f) {
            return f.clusters().get(0).cluster().split("\\|")[3].split("\\.")[0];
        }
        return route.action().getClass().getSimpleName();
    }

    @Test
    void uriExactMatchesOnlyTheWholePathIgnoringTheQuery() {
        RouteConfiguration rc =
                routes(
                        """
                - match: [{uri: {exact: /a}}]
                  route: [{destination: {host: a.default.svc.cluster.local}}]
                """);
        assertThat(target(rc, Req.get("/a"))).isEqualTo("a");
        assertThat(target(rc, Req.get("/a?x=1"))).isEqualTo("a");
        assertThat(target(rc, Req.get("/ab"))).isNull();
        assertThat(target(rc, Req.get("/A"))).isNull();
    }

    @Test
    void uriPrefixAndRegexMatch() {
        RouteConfiguration rc =
                routes(
                        """
                - match: [{uri: {prefix: /p/}}]
                  route: [{destination: {host: p.default.svc.cluster.local}}]
                - match: [{uri: {regex: "/r/[0-9]+"}}]
                  route: [{destination: {host: r.default.svc.cluster.local}}]
                """);
        assertThat(target(rc, Req.get("/p/x/y"))).isEqualTo("p");
        assertThat(target(rc, Req.get("/p"))).isNull();
        assertThat(target(rc, Req.get("/r/42"))).isEqualTo("r");
        assertThat(target(rc, Req.get("/r/42/x"))).as("regex must match the whole path").isNull();
    }

    @Test
    void ignoreUriCaseFoldsExactAndPrefix() {
        RouteConfiguration rc =
                routes(
                        """
                - match: [{uri: {exact: /Login}, ignoreUriCase: true}]
                  route: [{destination: {host: a.default.svc.cluster.local}}]
                """);
        assertThat(target(rc, Req.get("/login"))).isEqualTo("a");
        assertThat(target(rc, Req.get("/LOGIN"))).isEqualTo("a");
    }

    @Test
    void fieldsInsideABlockAreAndedAndBlocksAreOred() {
        RouteConfiguration rc =
                routes(
                        """
                - match:
                  - uri: {prefix: /x}
                    method: {exact: POST}
                  - headers: {end-user: {exact: jason}}
                  route: [{destination: {host: a.default.svc.cluster.local}}]
                - route: [{destination: {host: b.default.svc.cluster.local}}]
                """);
        assertThat(target(rc, Req.get("/x").withMethod("POST"))).isEqualTo("a");
        assertThat(target(rc, Req.get("/x"))).isEqualTo("b");
        assertThat(target(rc, Req.get("/y").withHeaders(Map.of("end-user", "jason"))))
                .isEqualTo("a");
    }

    @Test
    void firstMatchingRuleWinsEvenWhenALaterOneIsMoreSpecific() {
        RouteConfiguration rc =
                routes(
                        """
                - match: [{uri: {prefix: /}}]
                  route: [{destination: {host: first.default.svc.cluster.local}}]
                - match: [{uri: {exact: /specific}}]
                  route: [{destination: {host: second.default.svc.cluster.local}}]
                """);
        assertThat(target(rc, Req.get("/specific"))).isEqualTo("first");
    }

    @Test
    void headerQueryAuthorityMethodSchemeAndPortMatches() {
        RouteConfiguration rc =
                routes(
                        """
                - match: [{headers: {x-v: {prefix: "2"}}}]
                  route: [{destination: {host: header.default.svc.cluster.local}}]
                - match: [{queryParams: {debug: {exact: "1"}}}]
                  route: [{destination: {host: query.default.svc.cluster.local}}]
                - match: [{authority: {regex: "admin\\\\..*"}}]
                  route: [{destination: {host: authority.default.svc.cluster.local}}]
                - match: [{method: {exact: DELETE}}]
                  route: [{destination: {host: method.default.svc.cluster.local}}]
                - match: [{scheme: {exact: http}}]
                  route: [{destination: {host: scheme.default.svc.cluster.local}}]
                - match: [{port: 8080, method: {exact: PUT}}]
                  route: [{destination: {host: otherport.default.svc.cluster.local}}]
                - match: [{port: 80, method: {exact: PATCH}}]
                  route: [{destination: {host: port.default.svc.cluster.local}}]
                - match: [{withoutHeaders: {x-skip: {}}}]
                  route: [{destination: {host: without.default.svc.cluster.local}}]
                """);
        assertThat(target(rc, Req.get("/").withHeaders(Map.of("x-v", "2.1")))).isEqualTo("header");
        assertThat(target(rc, Req.get("/?a=b&debug=1"))).isEqualTo("query");
        assertThat(target(rc, Req.get("/?debug=10"))).isNotEqualTo("query");
        assertThat(target(rc, Req.get("/").withAuthority("admin.example.com")))
                .isEqualTo("authority");
        assertThat(target(rc, Req.get("/").withMethod("DELETE"))).isEqualTo("method");
        assertThat(target(rc, new Req("GET", "/", "h", "http", 80, Map.of(), null, null)))
                .isEqualTo("scheme");
        // As istiod: a block for another port than the server's (80) is dropped when compiled.
        assertThat(target(rc, Req.get("/").withMethod("PATCH"))).isEqualTo("port");
        assertThat(target(rc, Req.get("/").withMethod("PUT").withPort(8080))).isEqualTo("without");
        assertThat(rc.virtualHosts().get(0).routes()).noneMatch(r -> r.match().port() != null);
        assertThat(target(rc, Req.get("/").withPort(9))).isEqualTo("without");
        assertThat(target(rc, Req.get("/").withPort(9).withHeaders(Map.of("x-skip", "")))).isNull();
    }

    @Test
    void redirectDirectResponseRewriteAndWeightsCompile() {
        RouteConfiguration rc =
                routes(
                        """
                - match: [{uri: {exact: /old}}]
                  redirect: {uri: /new, redirectCode: 302}
                - match: [{uri: {exact: /teapot}}]
                  directResponse: {status: 418, body: {string: "short and stout"}}
                - match: [{uri: {prefix: /v1/}}]
                  rewrite: {uri: /api/, authority: backend.internal}
                  timeout: 1.5s
                  retries: {attempts: 3, perTryTimeout: 200ms, retryOn: "5xx,connect-failure"}
                  route:
                  - destination: {host: a.default.svc.cluster.local}
                    weight: 80
                  - destination: {host: b.default.svc.cluster.local, subset: v2}
                    weight: 20
                """);
        Route redirect = rc.route(Req.get("/old"));
        assertThat(redirect.action()).isEqualTo(new Route.Redirect("/new", null, null, null, 302));
        assertThat(rc.route(Req.get("/teapot")).action())
                .isEqualTo(new Route.DirectResponse(418, "short and stout"));
        Route fwd = rc.route(Req.get("/v1/x"));
        Route.Forward f = (Route.Forward) fwd.action();
        assertThat(f.prefixRewrite()).isEqualTo("/api/");
        assertThat(f.matchedPrefix()).isEqualTo("/v1/");
        assertThat(f.authorityRewrite()).isEqualTo("backend.internal");
        assertThat(f.clusters())
                .extracting(Route.WeightedCluster::cluster, Route.WeightedCluster::weight)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(
                                "outbound|80||a.default.svc.cluster.local", 80),
                        org.assertj.core.groups.Tuple.tuple(
                                "outbound|80|v2|b.default.svc.cluster.local", 20));
        assertThat(fwd.timeout()).hasMillis(1500);
        assertThat(fwd.retries().attempts()).isEqualTo(3);
        assertThat(fwd.retries().retryOn()).containsExactly("5xx", "connect-failure");
    }

    @Test
    void aRuleWithoutRetriesGetsIstiosDefaultOfTwoRetries() {
        RouteConfiguration rc =
                routes(
                        """
                - route: [{destination: {host: a.default.svc.cluster.local}}]
                """);
        assertThat(rc.route(Req.get("/")).retries()).isEqualTo(Route.RetryPolicy.ISTIO_DEFAULT);
    }

    @Test
    void shortDestinationHostIsQualifiedWithTheVirtualServiceNamespace() {
        RouteConfiguration rc =
                routes(
                        """
                - route: [{destination: {host: reviews}}]
                """);
        assertThat(((Route.Forward) rc.route(Req.get("/")).action()).clusters().get(0).cluster())
                .isEqualTo("outbound|80||reviews.default.svc.cluster.local");
    }
}
