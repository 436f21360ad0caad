package io.mithril.proxy.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.mithril.controlplane.xds.XdsResources;
import io.mithril.controlplane.xds.XdsTranslator;
import io.mithril.mesh.compile.MeshCompiler;
import io.mithril.mesh.config.Cluster;
import io.mithril.mesh.config.FilterChain;
import io.mithril.mesh.config.Listener;
import io.mithril.mesh.config.ProxyConfig;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.config.RequestAttributes;
import io.mithril.mesh.config.Route;
import io.mithril.mesh.config.RouteConfiguration;
import io.mithril.mesh.config.RouteMatch;
import io.mithril.mesh.config.UpstreamTls;
import io.mithril.mesh.config.VirtualHost;
import io.mithril.mesh.model.DestinationRule;
import io.mithril.mesh.model.Resource;
import io.mithril.mesh.model.VirtualService;
import io.mithril.mesh.yaml.MeshYaml;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The proxy's reading of xDS is the inverse of the control plane's XdsTranslator: a compiled
 * configuration, translated to Envoy resources and read back, is the same configuration, up to what
 * XdsTranslator documents it does not translate (fault injection, CORS, route port matches,
 * per-connection pool limits, endpoint labels, PASSTHROUGH / LEAST_CONN balancers).
 */
public class XdsConfigTranslatorTest {

    static final Path SEED = Path.of("..", "examples", "two-clusters", "mesh");
    static final ProxyNode GATEWAY =
            ProxyNode.gateway("istio-system", Map.of("istio", "ingressgateway"), "example.org");
    static final ProxyNode PRODUCTPAGE =
            ProxyNode.sidecar(
                    "default",
                    Map.of("app", "productpage", "version", "v1"),
                    "example.org",
                    List.of(new ProxyNode.InboundPort(9080, 19080)),
                    15001);

    static List<Resource> seed(String... more) throws IOException {
        List<Resource> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(SEED)) {
            out.addAll(
                    MeshYaml.parseFiles(
                                    files.filter(p -> p.toString().endsWith(".yaml"))
                                            .sorted()
                                            .toList())
                            .orThrow());
        }
        for (String m : more) {
            out.addAll(MeshYaml.parse("test.yaml", m).orThrow());
        }
        return out;
    }

    /**
     * {@code config} through the control plane's XdsTranslator and back through
     * XdsConfigTranslator, as over ADS.
     */
    public static ProxyConfig roundTrip(ProxyConfig config) {
        XdsResources x = XdsTranslator.translate(config);
        return XdsConfigTranslator.translate(
                config.node(),
                x.listeners(),
                x.routes(),
                x.clusters(),
                x.endpoints().stream()
                        .collect(
                                Collectors.toMap(
                                        ClusterLoadAssignment::getClusterName,
                                        Function.identity())));
    }

    @Test
    void seedGatewayReadsBackAsCompiled() throws Exception {
        ProxyConfig compiled = MeshCompiler.compile(seed(), GATEWAY);
        assertThat(normalize(roundTrip(compiled))).isEqualTo(normalize(compiled));
        assertThat(compiled.listeners()).isNotEmpty();
    }

    @Test
    void seedProductpageSidecarReadsBackAsCompiled() throws Exception {
        ProxyConfig compiled = MeshCompiler.compile(seed(), PRODUCTPAGE);
        ProxyConfig back = roundTrip(compiled);
        assertThat(normalize(back)).isEqualTo(normalize(compiled));
        // ISTIO_MUTUAL upstream TLS expects the destination's SPIFFE IDs, from the SAN matchers.
        Cluster reviews =
                back.clusters().values().stream()
                        .filter(c -> c.name().contains("reviews"))
                        .findFirst()
                        .orElseThrow();
        assertThat(reviews.tls().expectedSubjectAltNames())
                .contains("spiffe://example.org/ns/default/sa/bookinfo-reviews");
        assertThat(back.listeners())
                .extracting(Listener::direction)
                .contains(Listener.Direction.INBOUND, Listener.Direction.OUTBOUND);
    }

    static final String ROUTES =
            """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews.default.svc.cluster.local]
              http:
              - match: [{uri: {prefix: /v2}, headers: {x-user: {exact: jason}}, queryParams: {q: {regex: "a.*"}}}]
                rewrite: {uri: /api, authority: reviews-v2}
                timeout: 3s
                retries: {attempts: 4, perTryTimeout: 1s, retryOn: "5xx,connect-failure"}
                mirror: {host: details.default.svc.cluster.local}
                mirrorPercentage: {value: 25}
                headers: {request: {set: {x-a: "1"}, add: {x-b: "2"}, remove: [x-c]}, response: {set: {x-d: "4"}}}
                route:
                - destination: {host: reviews.default.svc.cluster.local, subset: v1}
                  weight: 70
                  headers: {request: {set: {x-dest: v1}}}
                - destination: {host: reviews.default.svc.cluster.local, subset: v2}
                  weight: 30
              - match: [{uri: {exact: /old}, method: {exact: GET}}]
                redirect: {uri: /new, authority: example.com, redirectCode: 302}
              - match: [{uri: {regex: "/teapot/[0-9]+"}, ignoreUriCase: true}]
                directResponse: {status: 418, body: {string: "short and stout"}}
              - route: [{destination: {host: reviews.default.svc.cluster.local, subset: v1}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews, namespace: default}
            spec:
              host: reviews.default.svc.cluster.local
              trafficPolicy:
                loadBalancer: {simple: RANDOM}
                connectionPool: {tcp: {maxConnections: 7, connectTimeout: 2s}, http: {http1MaxPendingRequests: 3, maxRetries: 2}}
                outlierDetection: {consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s, maxEjectionPercent: 50}
                tls: {mode: ISTIO_MUTUAL}
              subsets:
              - {name: v1, labels: {version: v1}}
              - {name: v2, labels: {version: v2}}
            """;

    @Test
    void routesAndClusterPoliciesReadBackAsCompiled() throws Exception {
        ProxyConfig compiled = MeshCompiler.compile(seed(ROUTES), PRODUCTPAGE);
        assertThat(compiled.warnings()).isEmpty();
        assertThat(normalize(roundTrip(compiled))).isEqualTo(normalize(compiled));
    }

    static final String POLICIES =
            """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: deny-admin, namespace: default}
            spec:
              selector: {matchLabels: {app: productpage}}
              action: DENY
              rules:
              - to: [{operation: {paths: [/admin, "/private/*", "/api/{*}/admin/{**}"], notMethods: [OPTIONS]}}]
              - from: [{source: {notNamespaces: [default]}}]
                to: [{operation: {ports: ["9080"]}}]
            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: allow-some, namespace: default}
            spec:
              selector: {matchLabels: {app: productpage}}
              rules:
              - from: [{source: {principals: ["example.org/ns/istio-system/sa/*"]}}, {source: {namespaces: ["team-*"], ipBlocks: ["127.0.0.0/8"]}}]
                to: [{operation: {methods: [GET, HEAD], hosts: ["*.example.com"]}}]
                when: [{key: "request.headers[x-token]", values: ["abc*"]}]
              - from: [{source: {principals: ["*"]}}]
                to: [{operation: {paths: [/productpage]}}]
            """;

    record Req(
            String method,
            String pathWithQuery,
            String authority,
            String sourcePrincipal,
            String sourceAddress,
            Map<String, String> headers)
            implements RequestAttributes {
        @Override
        public String scheme() {
            return "https";
        }

        @Override
        public int port() {
            return 9080;
        }

        @Override
        public String header(String lowerCaseName) {
            return headers.get(lowerCaseName);
        }
    }

    /** serviceAccounts survive xDS as istiod's regex, extra ID segments included. */
    @Test
    void serviceAccountsDecideAsCompiledAfterTheRoundTrip() throws Exception {
        ProxyConfig compiled =
                MeshCompiler.compile(
                        seed(
                                """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-sleep, namespace: default}
                spec:
                  selector: {matchLabels: {app: productpage}}
                  action: DENY
                  rules: [{from: [{source: {serviceAccounts: ["sleep"], notServiceAccounts: ["other/x"]}}]}]
                """),
                        PRODUCTPAGE);
        ProxyConfig back = roundTrip(compiled);
        assertThat(back.rbac().deny().get(0).rules().get(0).from().get(0).serviceAccounts())
                .containsExactly("default/sleep");
        Map<String, Boolean> allowed =
                Map.of(
                        "spiffe://example.org/ns/default/sa/sleep", false,
                        "spiffe://example.org/ns/default/sa/sleep/extra", false,
                        "spiffe://example.org/ns/default/sa/sleepy", true,
                        "spiffe://example.org/ns/other/sa/sleep", true);
        allowed.forEach(
                (id, expected) -> {
                    Req r = new Req("GET", "/", "productpage", id, "10.0.0.1", Map.of());
                    assertThat(back.rbac().evaluate(r).allowed())
                            .as(id)
                            .isEqualTo(compiled.rbac().evaluate(r).allowed())
                            .isEqualTo(expected);
                });
    }

    @Test
    void authorizationPoliciesDecideAsCompiledAfterTheRoundTrip() throws Exception {
        ProxyConfig compiled = MeshCompiler.compile(seed(POLICIES), PRODUCTPAGE);
        ProxyConfig back = roundTrip(compiled);
        assertThat(back.rbac().deny())
                .extracting(p -> p.metadata().name())
                .containsExactly("deny-admin");
        assertThat(back.rbac().allow())
                .extracting(p -> p.metadata().name())
                .containsExactly("allow-some");
        String gw = "spiffe://example.org/ns/istio-system/sa/istio-ingressgateway-service-account";
        List<Req> requests = new ArrayList<>();
        for (String path :
                List.of(
                        "/productpage",
                        "/admin",
                        "/admin/",
                        "/private/x",
                        "/other",
                        "/api/v1/admin/users/1",
                        "/api/v1/admin/",
                        "/api/v1/v2/admin/x",
                        "/api//admin/x")) {
            for (String method : List.of("GET", "OPTIONS", "POST")) {
                for (String who :
                        new String[] {
                            gw,
                            "spiffe://example.org/ns/team-a/sa/x",
                            "spiffe://example.org/ns/default/sa/y",
                            null
                        }) {
                    for (String host : List.of("a.example.com", "productpage:9080")) {
                        requests.add(
                                new Req(
                                        method,
                                        path,
                                        host,
                                        who,
                                        "127.0.0.5",
                                        Map.of("x-token", "abcdef")));
                        requests.add(new Req(method, path, host, who, "10.0.0.5", Map.of()));
                    }
                }
            }
        }
        int allowed = 0;
        for (Req r : requests) {
            boolean expected = compiled.rbac().evaluate(r).allowed();
            assertThat(back.rbac().evaluate(r).allowed()).as(r.toString()).isEqualTo(expected);
            allowed += expected ? 1 : 0;
        }
        assertThat(allowed).isBetween(1, requests.size() - 1);
    }

    @Test
    void pathTemplatesDecideAsEnvoysUriTemplateBothCompiledAndOverXds() throws Exception {
        ProxyConfig compiled =
                MeshCompiler.compile(
                        seed(
                                """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: allow-templates, namespace: default}
                spec:
                  selector: {matchLabels: {app: productpage}}
                  rules: [{to: [{operation: {paths: ["/public/{*}", "/files/{**}", "/a/{*}/b/"]}}]}]
                """),
                        PRODUCTPAGE);
        ProxyConfig back = roundTrip(compiled);
        Map<String, Boolean> expected = new LinkedHashMap<>();
        expected.put("/public/x", true);
        expected.put("/public/x/", false);
        expected.put("/public/x?y=/z/", true);
        expected.put("/files", false);
        expected.put("/files/", true);
        expected.put("/files/a/b/", true);
        expected.put("/a/x/b/", true);
        expected.put("/a/x/b", false);
        for (Map.Entry<String, Boolean> e : expected.entrySet()) {
            Req r =
                    new Req(
                            "GET",
                            e.getKey(),
                            "productpage:9080",
                            "spiffe://example.org/ns/default/sa/sleep",
                            "127.0.0.5",
                            Map.of());
            assertThat(compiled.rbac().evaluate(r).allowed())
                    .as("compiled " + e.getKey())
                    .isEqualTo(e.getValue());
            assertThat(back.rbac().evaluate(r).allowed())
                    .as("over xDS " + e.getKey())
                    .isEqualTo(e.getValue());
        }
    }

    @Test
    void inlineKeysAndUnknownSdsSecretsAreRefused() throws Exception {
        ProxyConfig compiled = MeshCompiler.compile(seed(), GATEWAY);
        XdsResources x = XdsTranslator.translate(compiled);
        var listener = x.listeners().get(0);
        var inline =
                listener.toBuilder()
                        .setFilterChains(
                                0,
                                listener.getFilterChains(0).toBuilder()
                                        .setTransportSocket(
                                                TransportSocket.newBuilder()
                                                        .setName("envoy.transport_sockets.tls")
                                                        .setTypedConfig(
                                                                Any.pack(
                                                                        DownstreamTlsContext
                                                                                .newBuilder()
                                                                                .setCommonTlsContext(
                                                                                        CommonTlsContext
                                                                                                .newBuilder()
                                                                                                .addTlsCertificates(
                                                                                                        TlsCertificate
                                                                                                                .newBuilder()
                                                                                                                .setCertificateChain(
                                                                                                                        DataSource
                                                                                                                                .newBuilder()
                                                                                                                                .setInlineString(
                                                                                                                                        "PEM"))
                                                                                                                .setPrivateKey(
                                                                                                                        DataSource
                                                                                                                                .newBuilder()
                                                                                                                                .setInlineString(
                                                                                                                                        "KEY"))))
                                                                                .build()))))
                        .build();
        assertThatThrownBy(
                        () ->
                                XdsConfigTranslator.translate(
                                        GATEWAY,
                                        List.of(inline),
                                        x.routes(),
                                        x.clusters(),
                                        Map.of()))
                .isInstanceOf(XdsRejectedException.class)
                .hasMessageContaining("never inline");
        var sds =
                listener.toBuilder()
                        .setFilterChains(
                                0,
                                listener.getFilterChains(0).toBuilder()
                                        .setTransportSocket(
                                                TransportSocket.newBuilder()
                                                        .setName("envoy.transport_sockets.tls")
                                                        .setTypedConfig(
                                                                Any.pack(
                                                                        DownstreamTlsContext
                                                                                .newBuilder()
                                                                                .setCommonTlsContext(
                                                                                        CommonTlsContext
                                                                                                .newBuilder()
                                                                                                .addTlsCertificateSdsSecretConfigs(
                                                                                                        io
                                                                                                                .envoyproxy
                                                                                                                .envoy
                                                                                                                .extensions
                                                                                                                .transport_sockets
                                                                                                                .tls
                                                                                                                .v3
                                                                                                                .SdsSecretConfig
                                                                                                                .newBuilder()
                                                                                                                .setName(
                                                                                                                        "kubernetes://my-secret")))
                                                                                .build()))))
                        .build();
        assertThatThrownBy(
                        () ->
                                XdsConfigTranslator.translate(
                                        GATEWAY, List.of(sds), x.routes(), x.clusters(), Map.of()))
                .isInstanceOf(XdsRejectedException.class)
                .hasMessageContaining("kubernetes://my-secret");
        // An EDS cluster without its ClusterLoadAssignment cannot be applied.
        assertThatThrownBy(
                        () ->
                                XdsConfigTranslator.translate(
                                        GATEWAY, x.listeners(), x.routes(), x.clusters(), Map.of()))
                .isInstanceOf(XdsRejectedException.class)
                .hasMessageContaining("no ClusterLoadAssignment");
    }

    @Test
    void tlsOriginationReadsBackWithItsTrustSource() throws Exception {
        for (String tls :
                List.of(
                        "{mode: SIMPLE, sni: a.test, subjectAltNames: [a.test]}",
                        "{mode: SIMPLE, caCertificates: /etc/ca.pem, subjectAltNames: [a.test]}",
                        "{mode: SIMPLE, insecureSkipVerify: true}",
                        "{mode: MUTUAL, clientCertificate: /etc/c.pem, privateKey: /etc/k.pem, caCertificates: /etc/ca.pem}",
                        "{mode: MUTUAL, clientCertificate: /etc/c.pem, privateKey: /etc/k.pem}")) {
            ProxyConfig compiled =
                    MeshCompiler.compile(
                            seed(
                                    """
                    apiVersion: networking.istio.io/v1
                    kind: DestinationRule
                    metadata: {name: details, namespace: default}
                    spec:
                      host: details.default.svc.cluster.local
                      trafficPolicy: {tls: %s}
                    """
                                            .formatted(tls)),
                            PRODUCTPAGE);
            UpstreamTls want =
                    compiled.clusters().values().stream()
                            .filter(c -> c.name().contains("details"))
                            .findFirst()
                            .orElseThrow()
                            .tls();
            UpstreamTls got =
                    roundTrip(compiled).clusters().values().stream()
                            .filter(c -> c.name().contains("details"))
                            .findFirst()
                            .orElseThrow()
                            .tls();
            assertThat(got.caCertificatesFile())
                    .as(tls)
                    .isEqualTo(want.insecureSkipVerify() ? null : want.caCertificatesFile());
            assertThat(got.insecureSkipVerify()).as(tls).isEqualTo(want.insecureSkipVerify());
            assertThat(got.mode()).as(tls).isEqualTo(want.mode());
            assertThat(got.expectedSubjectAltNames())
                    .as(tls)
                    .isEqualTo(want.expectedSubjectAltNames());
        }
    }

    @Test
    void subjectAltNamesWithoutATrustSourceAreRefusedAsEnvoyDoes() throws Exception {
        ProxyConfig compiled = MeshCompiler.compile(seed(), GATEWAY);
        XdsResources x = XdsTranslator.translate(compiled);
        var cluster =
                io.envoyproxy.envoy.config.cluster.v3.Cluster.newBuilder()
                        .setName("outbound|443||a.test")
                        .setType(
                                io.envoyproxy.envoy.config.cluster.v3.Cluster.DiscoveryType
                                        .STRICT_DNS)
                        .setTransportSocket(
                                TransportSocket.newBuilder()
                                        .setName("envoy.transport_sockets.tls")
                                        .setTypedConfig(
                                                Any.pack(
                                                        io.envoyproxy.envoy.extensions
                                                                .transport_sockets.tls.v3
                                                                .UpstreamTlsContext.newBuilder()
                                                                .setCommonTlsContext(
                                                                        CommonTlsContext
                                                                                .newBuilder()
                                                                                .setValidationContext(
                                                                                        io
                                                                                                .envoyproxy
                                                                                                .envoy
                                                                                                .extensions
                                                                                                .transport_sockets
                                                                                                .tls
                                                                                                .v3
                                                                                                .CertificateValidationContext
                                                                                                .newBuilder()
                                                                                                .addMatchTypedSubjectAltNames(
                                                                                                        io
                                                                                                                .envoyproxy
                                                                                                                .envoy
                                                                                                                .extensions
                                                                                                                .transport_sockets
                                                                                                                .tls
                                                                                                                .v3
                                                                                                                .SubjectAltNameMatcher
                                                                                                                .newBuilder()
                                                                                                                .setSanType(
                                                                                                                        io
                                                                                                                                .envoyproxy
                                                                                                                                .envoy
                                                                                                                                .extensions
                                                                                                                                .transport_sockets
                                                                                                                                .tls
                                                                                                                                .v3
                                                                                                                                .SubjectAltNameMatcher
                                                                                                                                .SanType
                                                                                                                                .DNS)
                                                                                                                .setMatcher(
                                                                                                                        io
                                                                                                                                .envoyproxy
                                                                                                                                .envoy
                                                                                                                                .type
                                                                                                                                .matcher
                                                                                                                                .v3
                                                                                                                                .StringMatcher
                                                                                                                                .newBuilder()
                                                                                                                                .setExact(
                                                                                                                                        "a.test")))))
                                                                .build())))
                        .build();
        List<io.envoyproxy.envoy.config.cluster.v3.Cluster> clusters =
                new ArrayList<>(x.clusters());
        clusters.add(cluster);
        assertThatThrownBy(
                        () ->
                                XdsConfigTranslator.translate(
                                        GATEWAY,
                                        x.listeners(),
                                        x.routes(),
                                        clusters,
                                        x.endpoints().stream()
                                                .collect(
                                                        Collectors.toMap(
                                                                ClusterLoadAssignment
                                                                        ::getClusterName,
                                                                Function.identity()))))
                .isInstanceOf(XdsRejectedException.class)
                .hasMessageContaining("outbound|443||a.test")
                .hasMessageContaining("needs trusted_ca");
    }

    /**
     * An UpstreamTlsContext without a validation context would make Envoy skip verifying the
     * server. istiod never sends one (an explicit insecureSkipVerify is an empty validation
     * context), so the proxy refuses it, naming the cluster, rather than trust any server.
     */
    @Test
    void tlsOriginationWithoutAValidationContextIsRefusedNamingTheCluster() throws Exception {
        XdsResources x = XdsTranslator.translate(MeshCompiler.compile(seed(), GATEWAY));
        for (boolean mutual : new boolean[] {false, true}) {
            CommonTlsContext.Builder common = CommonTlsContext.newBuilder();
            if (mutual) {
                common.addTlsCertificates(
                        TlsCertificate.newBuilder()
                                .setCertificateChain(
                                        DataSource.newBuilder().setFilename("/etc/c.pem"))
                                .setPrivateKey(DataSource.newBuilder().setFilename("/etc/k.pem")));
            }
            var cluster =
                    io.envoyproxy.envoy.config.cluster.v3.Cluster.newBuilder()
                            .setName("outbound|443||b.test")
                            .setType(
                                    io.envoyproxy.envoy.config.cluster.v3.Cluster.DiscoveryType
                                            .STRICT_DNS)
                            .setTransportSocket(
                                    TransportSocket.newBuilder()
                                            .setName("envoy.transport_sockets.tls")
                                            .setTypedConfig(
                                                    Any.pack(
                                                            io.envoyproxy.envoy.extensions
                                                                    .transport_sockets.tls.v3
                                                                    .UpstreamTlsContext.newBuilder()
                                                                    .setSni("b.test")
                                                                    .setCommonTlsContext(common)
                                                                    .build())))
                            .build();
            List<io.envoyproxy.envoy.config.cluster.v3.Cluster> clusters =
                    new ArrayList<>(x.clusters());
            clusters.add(cluster);
            assertThatThrownBy(
                            () ->
                                    XdsConfigTranslator.translate(
                                            GATEWAY,
                                            x.listeners(),
                                            x.routes(),
                                            clusters,
                                            x.endpoints().stream()
                                                    .collect(
                                                            Collectors.toMap(
                                                                    ClusterLoadAssignment
                                                                            ::getClusterName,
                                                                    Function.identity()))))
                    .as("mutual: " + mutual)
                    .isInstanceOf(XdsRejectedException.class)
                    .hasMessageContaining("cluster outbound|443||b.test")
                    .hasMessageContaining(
                            "without a validation context would not verify the server");
        }
    }

    // ---- what XdsTranslator documents it does not carry, erased on both sides

    static ProxyConfig normalize(ProxyConfig c) {
        List<Listener> ls =
                c.listeners().stream()
                        .map(
                                l ->
                                        new Listener(
                                                l.name(),
                                                l.address(),
                                                l.port(),
                                                l.direction(),
                                                l.filterChains().stream()
                                                        .map(
                                                                f ->
                                                                        new FilterChain(
                                                                                f.name(),
                                                                                f
                                                                                        .serverNames()
                                                                                        .stream()
                                                                                        .filter(
                                                                                                n ->
                                                                                                        !n
                                                                                                                .equals(
                                                                                                                        "*"))
                                                                                        .toList(),
                                                                                f.tls(),
                                                                                f.httpsRedirect()
                                                                                        ? f.name()
                                                                                        : f
                                                                                                .routeConfigName(),
                                                                                f.httpsRedirect(),
                                                                                f.inbound()))
                                                        .toList()))
                        .sorted(java.util.Comparator.comparing(Listener::name))
                        .toList();
        Map<String, RouteConfiguration> rs = new LinkedHashMap<>();
        c.routes()
                .forEach(
                        (k, rc) ->
                                rs.put(
                                        k,
                                        new RouteConfiguration(
                                                rc.name(),
                                                rc.virtualHosts().stream()
                                                        .map(
                                                                vh ->
                                                                        new VirtualHost(
                                                                                vh.name(),
                                                                                vh.domains(),
                                                                                vh.routes().stream()
                                                                                        .map(
                                                                                                XdsConfigTranslatorTest
                                                                                                        ::route)
                                                                                        .toList()))
                                                        .toList())));
        Map<String, Cluster> cs = new LinkedHashMap<>();
        c.clusters().forEach((k, cl) -> cs.put(k, cluster(cl)));
        return new ProxyConfig(
                c.node(),
                ls,
                rs,
                cs,
                c.rbac().deny().isEmpty() && c.rbac().allow().isEmpty() ? c.rbac() : null,
                List.of());
    }

    private static Route route(Route r) {
        RouteMatch m = r.match();
        RouteMatch match =
                new RouteMatch(
                        m.path() instanceof io.mithril.mesh.model.StringMatch.Prefix p
                                        && p.value().equals("/")
                                ? null
                                : m.path(),
                        m.ignoreCase(),
                        m.method(),
                        m.authority(),
                        m.scheme(),
                        m.headers(),
                        m.withoutHeaders(),
                        m.queryParams(),
                        null);
        Route.Action a = r.action();
        if (a instanceof Route.Forward f) {
            a =
                    new Route.Forward(
                            f.clusters().stream()
                                    .map(
                                            w ->
                                                    new Route.WeightedCluster(
                                                            w.cluster(),
                                                            w.weight(),
                                                            headers(w.headers())))
                                    .toList(),
                            f.prefixRewrite(),
                            m.path() instanceof io.mithril.mesh.model.StringMatch.Prefix
                                            || m.path() == null
                                    ? null
                                    : f.matchedPrefix(),
                            f.authorityRewrite());
        }
        Route.RetryPolicy retries =
                r.retries() == null || r.retries().attempts() == 0 || !(a instanceof Route.Forward)
                        ? null
                        : r.retries();
        return new Route(
                r.source() == null || r.source().isEmpty() ? null : r.source(),
                match,
                a,
                headers(r.headers()),
                r.timeout(),
                retries,
                null,
                r.mirror(),
                null);
    }

    private static VirtualService.Headers headers(VirtualService.Headers h) {
        return h == null ? VirtualService.Headers.NONE : h;
    }

    private static Cluster cluster(Cluster c) {
        DestinationRule.ConnectionPool p = c.connectionPool();
        DestinationRule.ConnectionPool pool =
                p == null
                        ? null
                        : new DestinationRule.ConnectionPool(
                                p.maxConnections(),
                                null,
                                p.http1MaxPendingRequests(),
                                p.http2MaxRequests(),
                                null,
                                p.maxRetries(),
                                null);
        DestinationRule.SimpleLb lb =
                c.lbPolicy() == null || c.lbPolicy() == DestinationRule.SimpleLb.PASSTHROUGH
                        ? DestinationRule.SimpleLb.ROUND_ROBIN
                        : c.lbPolicy() == DestinationRule.SimpleLb.LEAST_CONN
                                ? DestinationRule.SimpleLb.LEAST_REQUEST
                                : c.lbPolicy();
        return new Cluster(
                c.name(),
                c.serviceHost(),
                c.port(),
                c.subset(),
                c.type(),
                c.endpoints().stream()
                        .map(
                                e ->
                                        new Cluster.Endpoint(
                                                e.address(), e.port(), e.weight(), Map.of(), null))
                        .toList(),
                lb,
                c.tls(),
                c.outlierDetection(),
                pool,
                c.connectTimeout(),
                null);
    }
}
