package io.mithril.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.mesh.compile.MeshCompiler;
import io.mithril.mesh.config.Cluster;
import io.mithril.mesh.config.DownstreamTls;
import io.mithril.mesh.config.FilterChain;
import io.mithril.mesh.config.Listener;
import io.mithril.mesh.config.ProxyConfig;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.config.Route;
import io.mithril.mesh.config.RouteConfiguration;
import io.mithril.mesh.config.UpstreamTls;
import io.mithril.mesh.model.DestinationRule;
import io.mithril.mesh.model.Gateway;
import io.mithril.mesh.model.Resource;
import io.mithril.mesh.model.VirtualService;
import io.mithril.mesh.yaml.MeshYaml;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The seed's three resources (Gateway, VirtualService, DestinationRule) as Istio reads and compiles
 * them.
 */
class SeedScenarioTest {

    static String seed() throws IOException {
        try (InputStream in = SeedScenarioTest.class.getResourceAsStream("/seed.yaml")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static final String PRODUCTPAGE_ENTRY =
            """
            apiVersion: networking.istio.io/v1beta1
            kind: ServiceEntry
            metadata:
              name: productpage
              namespace: default
            spec:
              hosts: [productpage.default.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports:
              - {number: 9080, name: http, protocol: HTTP}
              endpoints:
              - address: 127.0.0.1
                ports: {http: 19080}
                serviceAccount: bookinfo-productpage
            """;

    static List<Resource> seedWithEntry() throws IOException {
        List<Resource> all = new ArrayList<>(MeshYaml.parse("seed.yaml", seed()).orThrow());
        all.addAll(MeshYaml.parse("se.yaml", PRODUCTPAGE_ENTRY).orThrow());
        return all;
    }

    static ProxyConfig ingress() throws IOException {
        return MeshCompiler.compile(
                seedWithEntry(),
                ProxyNode.gateway(
                        "istio-system", Map.of("istio", "ingressgateway"), "example.org"));
    }

    @Test
    void seedParsesIntoThreeResourcesWithTheirFields() throws IOException {
        MeshYaml.Result r = MeshYaml.parse("seed.yaml", seed());
        assertThat(r.errors()).isEmpty();
        assertThat(r.resources()).hasSize(3);
        Gateway gw = (Gateway) r.resources().get(0);
        assertThat(gw.metadata().name()).isEqualTo("bookinfo-gateway");
        assertThat(gw.metadata().namespace()).isEqualTo("default");
        assertThat(gw.selector()).containsEntry("istio", "ingressgateway");
        assertThat(gw.servers().get(0).port()).isEqualTo(new Gateway.Port(8080, "https", "HTTPS"));
        assertThat(gw.servers().get(0).tls().mode()).isEqualTo(Gateway.TlsMode.ISTIO_MUTUAL);
        assertThat(gw.servers().get(0).hosts()).containsExactly("*");
        VirtualService vs = (VirtualService) r.resources().get(1);
        assertThat(vs.http().get(0).match()).hasSize(5);
        assertThat(vs.http().get(0).route().get(0).destination())
                .isEqualTo(
                        new VirtualService.Destination(
                                "productpage.default.svc.cluster.local", null, 9080));
        DestinationRule dr = (DestinationRule) r.resources().get(2);
        assertThat(dr.host()).isEqualTo("*.svc.cluster.local");
        assertThat(dr.trafficPolicy().tls().mode())
                .isEqualTo(DestinationRule.ClientTlsMode.ISTIO_MUTUAL);
        assertThat(gw.origin().line()).isEqualTo(1);
        assertThat(vs.origin().line()).isEqualTo(18);
    }

    @Test
    void ingressGatewayGetsAnIstioMutualHttpsListenerOnPort8080() throws IOException {
        ProxyConfig cfg = ingress();
        assertThat(cfg.listeners()).hasSize(1);
        Listener l = cfg.listener(8080);
        assertThat(l.address()).isEqualTo("0.0.0.0");
        FilterChain chain = l.filterChains().get(0);
        assertThat(chain.serverNames()).isEmpty(); // hosts "*": any SNI
        assertThat(chain.tls().mode()).isEqualTo(DownstreamTls.Mode.ISTIO_MUTUAL);
        assertThat(chain.tls().requireClientCertificate()).isTrue();
        assertThat(chain.tls().alpn()).containsExactly("h2", "http/1.1");
        assertThat(l.chainFor(null, true)).isSameAs(chain);
        assertThat(l.chainFor(null, false)).isNull();
    }

    @Test
    void aProxyWithOtherLabelsGetsNoListener() throws IOException {
        ProxyConfig cfg =
                MeshCompiler.compile(
                        seedWithEntry(),
                        ProxyNode.gateway(
                                "istio-system", Map.of("istio", "egressgateway"), "example.org"));
        assertThat(cfg.listeners()).isEmpty();
        assertThat(cfg.warnings()).anyMatch(w -> w.contains("no Gateway selects"));
    }

    @Test
    void everySeedPathRoutesToProductpageAndOthersGetNoRoute() throws IOException {
        ProxyConfig cfg = ingress();
        RouteConfiguration rc =
                cfg.routes().get(cfg.listener(8080).filterChains().get(0).routeConfigName());
        String cluster = "outbound|9080||productpage.default.svc.cluster.local";
        for (String path :
                List.of(
                        "/productpage",
                        "/static/css/x.css",
                        "/static",
                        "/login",
                        "/logout",
                        "/api/v1/products",
                        "/api/v1/products/0/reviews",
                        "/productpage?u=normal")) {
            Route route = rc.route(Req.get(path).withAuthority("app.example.org:8000"));
            assertThat(route).as(path).isNotNull();
            assertThat(((Route.Forward) route.action()).clusters().get(0).cluster())
                    .isEqualTo(cluster);
        }
        for (String path :
                List.of("/", "/productpage/x", "/loginx", "/health", "/api/v1", "/Productpage")) {
            assertThat(rc.route(Req.get(path))).as(path).isNull();
        }
    }

    @Test
    void firstMatchBlockThatMatchesNamesTheRoute() throws IOException {
        ProxyConfig cfg = ingress();
        RouteConfiguration rc = cfg.routes().values().iterator().next();
        assertThat(rc.route(Req.get("/static/a")).source()).endsWith("match[1]");
        assertThat(rc.route(Req.get("/logout")).source()).endsWith("match[3]");
    }

    @Test
    void productpageClusterHasTheServiceEntryEndpointAndIstioMutualFromTheWildcardRule()
            throws IOException {
        Cluster c =
                ingress().clusters().get("outbound|9080||productpage.default.svc.cluster.local");
        assertThat(c.endpoints())
                .containsExactly(
                        new Cluster.Endpoint(
                                "127.0.0.1",
                                19080,
                                1,
                                Map.of(),
                                "spiffe://example.org/ns/default/sa/bookinfo-productpage"));
        assertThat(c.tls().mode()).isEqualTo(UpstreamTls.Mode.ISTIO_MUTUAL);
        assertThat(c.tls().expectedSubjectAltNames())
                .containsExactly("spiffe://example.org/ns/default/sa/bookinfo-productpage");
        assertThat(c.destinationRule()).isEqualTo("DestinationRule default/enable-mtls");
        assertThat(c.lbPolicy()).isEqualTo(DestinationRule.SimpleLb.LEAST_REQUEST);
    }

    @Test
    void withoutAServiceEntryTheClusterHasNoEndpointsAndAWarning() throws IOException {
        ProxyConfig cfg =
                MeshCompiler.compile(
                        MeshYaml.parse("seed.yaml", seed()).orThrow(),
                        ProxyNode.gateway(
                                "istio-system", Map.of("istio", "ingressgateway"), "example.org"));
        assertThat(
                        cfg.clusters()
                                .get("outbound|9080||productpage.default.svc.cluster.local")
                                .endpoints())
                .isEmpty();
        assertThat(cfg.warnings())
                .anyMatch(
                        w ->
                                w.contains(
                                        "no ServiceEntry declares productpage.default.svc.cluster.local"));
    }
}
