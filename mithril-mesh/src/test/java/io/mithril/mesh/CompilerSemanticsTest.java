package io.mithril.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.mesh.compile.MeshCompiler;
import io.mithril.mesh.config.Cluster;
import io.mithril.mesh.config.Listener;
import io.mithril.mesh.config.ProxyConfig;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.config.Route;
import io.mithril.mesh.config.RouteConfiguration;
import io.mithril.mesh.config.UpstreamTls;
import io.mithril.mesh.model.DestinationRule;
import io.mithril.mesh.yaml.MeshYaml;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's semantics across resources: DestinationRule precedence, sidecars, PeerAuthentication,
 * RBAC.
 */
class CompilerSemanticsTest {

    static final String REVIEWS =
            """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews.default.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 9080, name: http, protocol: HTTP}]
              workloadSelector: {labels: {app: reviews}}
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: reviews-v1, namespace: default}
            spec: {address: 10.0.0.1, labels: {app: reviews, version: v1}, serviceAccount: bookinfo-reviews}
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: reviews-v2, namespace: default}
            spec: {address: 10.0.0.2, ports: {http: 9081}, labels: {app: reviews, version: v2}, serviceAccount: bookinfo-reviews}
            ---
            """;

    static ProxyConfig sidecar(String yaml) {
        return MeshCompiler.compile(
                MeshYaml.parse("t.yaml", yaml).orThrow(),
                ProxyNode.sidecar(
                        "default",
                        Map.of("app", "productpage"),
                        "example.org",
                        List.of(new ProxyNode.InboundPort(15006, 9080)),
                        15001));
    }

    @Test
    void mostSpecificDestinationRuleHostWins() {
        ProxyConfig cfg =
                sidecar(
                        REVIEWS
                                + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: wide, namespace: default}
                spec: {host: "*.svc.cluster.local", trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: narrower, namespace: default}
                spec: {host: "*.default.svc.cluster.local", trafficPolicy: {loadBalancer: {simple: RANDOM}}}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: exact, namespace: default}
                spec:
                  host: reviews
                  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}, tls: {mode: DISABLE}}
                """);
        Cluster c = cfg.clusters().get("outbound|9080||reviews.default.svc.cluster.local");
        assertThat(c.destinationRule()).isEqualTo("DestinationRule default/exact");
        assertThat(c.lbPolicy()).isEqualTo(DestinationRule.SimpleLb.ROUND_ROBIN);
        assertThat(c.tls()).isNull();
    }

    @Test
    void workloadEntriesBecomeEndpointsAndSubsetsFilterThemByLabel() {
        ProxyConfig cfg =
                sidecar(
                        REVIEWS
                                + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews
                  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
                  subsets:
                  - {name: v2, labels: {version: v2}, trafficPolicy: {outlierDetection: {consecutive5xxErrors: 2}}}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews]
                  http: [{route: [{destination: {host: reviews, subset: v2}}]}]
                """);
        Cluster c = cfg.clusters().get("outbound|9080|v2|reviews.default.svc.cluster.local");
        assertThat(c.endpoints())
                .extracting(Cluster.Endpoint::address, Cluster.Endpoint::port)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("10.0.0.2", 9081));
        assertThat(c.tls().mode()).isEqualTo(UpstreamTls.Mode.ISTIO_MUTUAL);
        assertThat(c.tls().expectedSubjectAltNames())
                .containsExactly("spiffe://example.org/ns/default/sa/bookinfo-reviews");
        assertThat(c.outlierDetection().consecutive5xxErrors()).isEqualTo(2);
    }

    @Test
    void outboundListenerRoutesByHostAndAVirtualServiceReplacesTheDefaultRoute() {
        ProxyConfig cfg =
                sidecar(
                        REVIEWS
                                + """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: ratings, namespace: default}
                spec:
                  hosts: [ratings.default.svc.cluster.local]
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  resolution: STATIC
                  endpoints: [{address: 10.0.0.9}]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews]
                  http: [{match: [{uri: {prefix: /reviews}}], route: [{destination: {host: reviews}}]}]
                """);
        Listener out = cfg.listener(15001);
        assertThat(out.address()).isEqualTo("127.0.0.1");
        RouteConfiguration rc = cfg.routes().get(out.filterChains().get(0).routeConfigName());
        Route ratings =
                rc.route(
                        Req.get("/ratings/0")
                                .withAuthority("ratings.default.svc.cluster.local:9080"));
        assertThat(((Route.Forward) ratings.action()).clusters().get(0).cluster())
                .isEqualTo("outbound|9080||ratings.default.svc.cluster.local");
        assertThat(
                        rc.route(
                                Req.get("/reviews/0")
                                        .withAuthority("reviews.default.svc.cluster.local:9080")))
                .isNotNull();
        assertThat(
                        rc.route(
                                Req.get("/other")
                                        .withAuthority("reviews.default.svc.cluster.local:9080")))
                .as("VS covers the host: no default")
                .isNull();
        assertThat(rc.virtualHost("unknown.example.com")).isNull();
    }

    @Test
    void peerAuthenticationWorkloadPolicyBeatsNamespaceAndMeshPolicies() {
        String mesh =
                """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: STRICT}}
                ---
                """;
        assertThat(sidecar(mesh).listener(15006).filterChains())
                .extracting(c -> c.tls() != null)
                .containsExactly(true);
        String ns =
                mesh
                        + """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: default}
                spec: {mtls: {mode: PERMISSIVE}}
                ---
                """;
        assertThat(sidecar(ns).listener(15006).filterChains())
                .extracting(c -> c.tls() != null)
                .containsExactly(true, false);
        String workload =
                ns
                        + """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: pp, namespace: default}
                spec: {selector: {matchLabels: {app: productpage}}, mtls: {mode: DISABLE}}
                """;
        assertThat(sidecar(workload).listener(15006).filterChains())
                .extracting(c -> c.tls() != null)
                .containsExactly(false);
        assertThat(sidecar("").listener(15006).filterChains())
                .as("default is PERMISSIVE")
                .hasSize(2);
    }

    /**
     * istiod matches serviceAccounts with {@code spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?}: an ID
     * with segments after the service account (or between namespace and service account) is that
     * service account. A DENY on it must not be escaped by such an ID (it was: the rule matched
     * only {@code *}/ns/<ns>/sa/<sa>} as a suffix).
     */
    @Test
    void aDenyOnAServiceAccountIsNotEscapedByExtraSegmentsInTheId() {
        ProxyConfig cfg =
                sidecar(
                        """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-sleep, namespace: default}
                spec:
                  selector: {matchLabels: {app: productpage}}
                  action: DENY
                  rules:
                  - from: [{source: {serviceAccounts: ["sleep"]}}]
                """);
        for (String id :
                List.of(
                        "spiffe://example.org/ns/default/sa/sleep",
                        "spiffe://example.org/ns/default/sa/sleep/extra",
                        "spiffe://example.org/ns/default/pod/p1/sa/sleep",
                        "spiffe://other.org/cluster/c1/ns/default/sa/sleep")) {
            assertThat(cfg.rbac().evaluate(Req.get("/").withPrincipal(id)).allowed())
                    .as(id)
                    .isFalse();
        }
        for (String id :
                List.of(
                        "spiffe://example.org/ns/default/sa/sleeper",
                        "spiffe://example.org/ns/default/sa/sleep-x",
                        "spiffe://example.org/ns/defaultx/sa/sleep",
                        "spiffe://example.org/ns/other/sa/sleep")) {
            assertThat(cfg.rbac().evaluate(Req.get("/").withPrincipal(id)).allowed())
                    .as(id)
                    .isTrue();
        }
    }

    @Test
    void pathTemplatesServiceAccountsAndTrustDomainsAreEnforcedAsIstioMeansThem() {
        ProxyConfig cfg =
                sidecar(
                        """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: allow-templates, namespace: default}
                spec:
                  selector: {matchLabels: {app: productpage}}
                  action: ALLOW
                  rules:
                  - from: [{source: {serviceAccounts: ["sleep", "other/client"]}}]
                    to: [{operation: {paths: ["/books/{*}/reviews", "/static/{**}"]}}]
                  - from: [{source: {trustDomains: ["partner.org"]}}]
                    to: [{operation: {paths: ["/public/{*}"]}}]
                """);
        Req sleep =
                Req.get("/books/42/reviews")
                        .withPrincipal("spiffe://example.org/ns/default/sa/sleep");
        assertThat(cfg.rbac().evaluate(sleep).allowed()).isTrue();
        assertThat(
                        cfg.rbac()
                                .evaluate(
                                        sleep.withPrincipal(
                                                "spiffe://example.org/ns/other/sa/client"))
                                .allowed())
                .isTrue();
        assertThat(
                        cfg.rbac()
                                .evaluate(
                                        sleep.withPrincipal(
                                                "spiffe://example.org/ns/other/sa/sleep"))
                                .allowed())
                .as("a bare service account is in the policy's namespace")
                .isFalse();
        assertThat(
                        cfg.rbac()
                                .evaluate(
                                        Req.get("/books/42/43/reviews")
                                                .withPrincipal(sleep.sourcePrincipal()))
                                .allowed())
                .as("{*} is one segment")
                .isFalse();
        assertThat(
                        cfg.rbac()
                                .evaluate(
                                        Req.get("/books//reviews")
                                                .withPrincipal(sleep.sourcePrincipal()))
                                .allowed())
                .as("{*} is not empty")
                .isFalse();
        assertThat(
                        cfg.rbac()
                                .evaluate(
                                        Req.get("/static/css/site.css")
                                                .withPrincipal(sleep.sourcePrincipal()))
                                .allowed())
                .as("{**} spans segments")
                .isTrue();
        assertThat(
                        cfg.rbac()
                                .evaluate(
                                        Req.get("/staticfile")
                                                .withPrincipal(sleep.sourcePrincipal()))
                                .allowed())
                .isFalse();
        Req partner = Req.get("/public/index").withPrincipal("spiffe://partner.org/ns/x/sa/y");
        assertThat(cfg.rbac().evaluate(partner).allowed()).isTrue();
        assertThat(
                        cfg.rbac()
                                .evaluate(
                                        partner.withPrincipal(
                                                "spiffe://partner.org.evil/ns/x/sa/y"))
                                .allowed())
                .as("the trust domain is matched whole")
                .isFalse();
        assertThat(
                        cfg.rbac()
                                .evaluate(
                                        Req.get("/public/index")
                                                .withPrincipal("spiffe://example.org/ns/x/sa/y"))
                                .allowed())
                .isFalse();
    }

    @Test
    void authorizationPolicyDenyWinsThenAllowListsAreRequired() {
        ProxyConfig cfg =
                sidecar(
                        """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: allow-gw, namespace: default}
                spec:
                  selector: {matchLabels: {app: productpage}}
                  action: ALLOW
                  rules:
                  - from: [{source: {principals: ["example.org/ingress/*", "example.org/ns/default/sa/sleep"]}}]
                    to: [{operation: {methods: [GET], paths: ["/productpage", "/api/*"]}}]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-admin, namespace: default}
                spec:
                  action: DENY
                  rules: [{to: [{operation: {paths: ["/api/admin*"]}}]}]
                """);
        Req sleep =
                Req.get("/productpage").withPrincipal("spiffe://example.org/ns/default/sa/sleep");
        assertThat(cfg.rbac().evaluate(sleep).allowed()).isTrue();
        assertThat(cfg.rbac().evaluate(sleep.withMethod("POST")).allowed()).isFalse();
        assertThat(
                        cfg.rbac()
                                .evaluate(
                                        Req.get("/api/x")
                                                .withPrincipal("spiffe://example.org/ingress/gw-1"))
                                .allowed())
                .isTrue();
        assertThat(
                        cfg.rbac()
                                .evaluate(
                                        Req.get("/api/admin/x")
                                                .withPrincipal("spiffe://example.org/ingress/gw-1"))
                                .allowed())
                .isFalse();
        assertThat(
                        cfg.rbac()
                                .evaluate(
                                        Req.get("/productpage")
                                                .withPrincipal(
                                                        "spiffe://example.org/ns/other/sa/x"))
                                .allowed())
                .isFalse();
        assertThat(cfg.rbac().evaluate(Req.get("/productpage")).allowed())
                .as("plaintext has no principal")
                .isFalse();
    }

    @Test
    void aPolicyPathCoversTheSamePathWithATrailingSlash() {
        ProxyConfig cfg =
                sidecar(
                        """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-ratings, namespace: default}
                spec:
                  action: DENY
                  rules: [{to: [{operation: {paths: ["/api/v1/products/0/ratings"]}}]}]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: allow-rest, namespace: default}
                spec:
                  action: ALLOW
                  rules: [{to: [{operation: {notPaths: ["/admin"]}}]}]
                """);
        assertThat(cfg.rbac().evaluate(Req.get("/api/v1/products/0/ratings")).allowed()).isFalse();
        assertThat(cfg.rbac().evaluate(Req.get("/api/v1/products/0/ratings/")).allowed()).isFalse();
        assertThat(cfg.rbac().evaluate(Req.get("/admin/")).allowed()).as("notPaths too").isFalse();
        assertThat(cfg.rbac().evaluate(Req.get("/api/v1/products/0/ratings/x")).allowed()).isTrue();
        assertThat(cfg.rbac().evaluate(Req.get("/")).allowed()).isTrue();
    }

    @Test
    void allowPolicyWithoutRulesDeniesEverythingAndEmptyRuleAllowsEverything() {
        String denyAll =
                """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-all, namespace: default}
                spec: {}
                """;
        assertThat(sidecar(denyAll).rbac().evaluate(Req.get("/")).allowed()).isFalse();
        String allowAll =
                """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: allow-all, namespace: default}
                spec: {rules: [{}]}
                """;
        assertThat(sidecar(allowAll).rbac().evaluate(Req.get("/")).allowed()).isTrue();
        assertThat(sidecar("").rbac().evaluate(Req.get("/")).allowed()).isTrue();
    }

    @Test
    void virtualHostPrecedenceIsExactThenLongestSuffixThenCatchAll() {
        String yaml =
                """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: gw, namespace: default}
                spec:
                  selector: {istio: ingressgateway}
                  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
                ---
                """;
        for (String[] vs :
                new String[][] {
                    {"any", "\"*\""},
                    {"wide", "\"*.example.com\""},
                    {"narrow", "\"*.api.example.com\""},
                    {"exact", "x.api.example.com"}
                }) {
            yaml +=
                    """
                    apiVersion: networking.istio.io/v1
                    kind: VirtualService
                    metadata: {name: %s, namespace: default}
                    spec: {hosts: [%s], gateways: [gw], http: [{route: [{destination: {host: %s.example.org}}]}]}
                    ---
                    """
                            .formatted(vs[0], vs[1], vs[0]);
        }
        ProxyConfig cfg =
                MeshCompiler.compile(
                        MeshYaml.parse("t.yaml", yaml).orThrow(),
                        ProxyNode.gateway(
                                "default", Map.of("istio", "ingressgateway"), "example.org"));
        RouteConfiguration rc = cfg.routes().get("http.80");
        assertThat(rc.virtualHost("x.api.example.com:80").name()).isEqualTo("x.api.example.com:80");
        assertThat(rc.virtualHost("y.api.example.com").name()).isEqualTo("*.api.example.com:80");
        assertThat(rc.virtualHost("www.example.com").name()).isEqualTo("*.example.com:80");
        assertThat(rc.virtualHost("other.org").name()).isEqualTo("*:80");
    }

    @Test
    void outboundAnswersForTheShortNamesKubernetesDnsWouldResolve() {
        ProxyConfig cfg = sidecar(REVIEWS);
        RouteConfiguration outbound =
                cfg.routes().get(cfg.listener(15001).filterChains().get(0).routeConfigName());
        String vh = outbound.virtualHost("reviews.default.svc.cluster.local:9080").name();
        for (String alias :
                List.of(
                        "reviews:9080",
                        "reviews",
                        "reviews.default:9080",
                        "reviews.default.svc:9080")) {
            assertThat(outbound.virtualHost(alias))
                    .as(alias)
                    .isNotNull()
                    .extracting(io.mithril.mesh.config.VirtualHost::name)
                    .isEqualTo(vh);
        }
    }

    @Test
    void bareServiceNamesAnswerOnlyInTheProxysOwnNamespace() {
        ProxyConfig cfg =
                MeshCompiler.compile(
                        MeshYaml.parse("t.yaml", REVIEWS).orThrow(),
                        ProxyNode.sidecar(
                                "other",
                                Map.of("app", "productpage"),
                                "example.org",
                                List.of(new ProxyNode.InboundPort(15006, 9080)),
                                15001));
        RouteConfiguration outbound =
                cfg.routes().get(cfg.listener(15001).filterChains().get(0).routeConfigName());
        assertThat(outbound.virtualHost("reviews.default:9080")).isNotNull();
        assertThat(outbound.virtualHost("reviews:9080")).isNull();
    }
}
