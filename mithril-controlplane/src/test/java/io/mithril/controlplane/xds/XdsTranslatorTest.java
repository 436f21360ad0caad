package io.mithril.controlplane.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.mithril.mesh.compile.MeshCompiler;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.model.Resource;
import io.mithril.mesh.yaml.MeshYaml;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The seed scenario's resources translated to Envoy's, checked field by field and against Envoy's
 * own rules.
 */
class XdsTranslatorTest {

    static final Path SEED = Path.of("..", "examples", "two-clusters", "mesh");

    static List<Resource> seed() throws IOException {
        try (Stream<Path> files = Files.list(SEED)) {
            return MeshYaml.parseFiles(
                            files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList())
                    .orThrow();
        }
    }

    static XdsResources gateway() throws IOException {
        return XdsTranslator.translate(
                MeshCompiler.compile(
                        seed(),
                        ProxyNode.gateway(
                                "istio-system", Map.of("istio", "ingressgateway"), "example.org")));
    }

    static XdsResources productpageSidecar() throws IOException {
        return XdsTranslator.translate(
                MeshCompiler.compile(
                        seed(),
                        ProxyNode.sidecar(
                                "default",
                                Map.of("app", "productpage", "version", "v1"),
                                "example.org",
                                List.of(new ProxyNode.InboundPort(9080, 19080)),
                                15001)));
    }

    @Test
    void gatewayListenerOn8080TerminatesIstioMutualWithSdsSecrets() throws Exception {
        XdsResources x = gateway();
        Listener l =
                x.listeners().stream()
                        .filter(z -> z.getAddress().getSocketAddress().getPortValue() == 8080)
                        .findFirst()
                        .orElseThrow();
        assertThat(l.getFilterChainsList()).hasSize(1);
        var chain = l.getFilterChains(0);
        DownstreamTlsContext tls =
                chain.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
        assertThat(tls.getRequireClientCertificate().getValue()).isTrue();
        assertSvidFromSds(tls.getCommonTlsContext());
        HttpConnectionManager hcm =
                chain.getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
        assertThat(hcm.getRds().getConfigSource().hasAds()).isTrue();
        assertThat(hcm.getHttpFiltersList())
                .last()
                .extracting(f -> f.getName())
                .isEqualTo("envoy.filters.http.router");
        RouteConfiguration rc =
                x.routes().stream()
                        .filter(r -> r.getName().equals(hcm.getRds().getRouteConfigName()))
                        .findFirst()
                        .orElseThrow();
        Route productpage =
                rc.getVirtualHostsList().stream()
                        .flatMap(v -> v.getRoutesList().stream())
                        .filter(r -> r.getMatch().getPath().equals("/productpage"))
                        .findFirst()
                        .orElseThrow();
        assertThat(productpage.getRoute().getCluster())
                .isEqualTo("outbound|9080||productpage.default.svc.cluster.local");
        assertThat(
                        rc.getVirtualHostsList().stream()
                                .flatMap(v -> v.getRoutesList().stream())
                                .map(r -> r.getMatch().getPrefix()))
                .contains("/static", "/api/v1/products");
    }

    @Test
    void clusterToProductpageChecksItsSpiffeIdOverEds() throws Exception {
        XdsResources x = gateway();
        Cluster c =
                x.clusters().stream()
                        .filter(
                                z ->
                                        z.getName()
                                                .equals(
                                                        "outbound|9080||productpage.default.svc.cluster.local"))
                        .findFirst()
                        .orElseThrow();
        assertThat(c.getType()).isEqualTo(Cluster.DiscoveryType.EDS);
        assertThat(c.getEdsClusterConfig().getEdsConfig().hasAds()).isTrue();
        UpstreamTlsContext tls =
                c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
        assertSvidFromSds(tls.getCommonTlsContext());
        assertThat(
                        tls.getCommonTlsContext()
                                .getCombinedValidationContext()
                                .getDefaultValidationContext()
                                .getMatchTypedSubjectAltNamesList())
                .singleElement()
                .satisfies(
                        m -> {
                            assertThat(m.getSanType().name()).isEqualTo("URI");
                            assertThat(m.getMatcher().getExact())
                                    .isEqualTo(
                                            "spiffe://example.org/ns/default/sa/bookinfo-productpage");
                        });
        var cla =
                x.endpoints().stream()
                        .filter(e -> e.getClusterName().equals(c.getName()))
                        .findFirst()
                        .orElseThrow();
        assertThat(
                        cla.getEndpoints(0)
                                .getLbEndpoints(0)
                                .getEndpoint()
                                .getAddress()
                                .getSocketAddress()
                                .getAddress())
                .isEqualTo("127.0.1.1");
    }

    @Test
    void sidecarInboundValidatesTheTrustDomainAndItsAliasesAsIstiodDoesAndTheGatewayDoesNot()
            throws Exception {
        XdsResources x =
                XdsTranslator.translate(
                        MeshCompiler.compile(
                                seed(),
                                ProxyNode.sidecar(
                                                "default",
                                                Map.of("app", "productpage", "version", "v1"),
                                                "example.org",
                                                List.of(new ProxyNode.InboundPort(9080, 19080)),
                                                15001)
                                        .withTrustDomainAliases(
                                                List.of("domain.test", "example.org"))));
        Listener inbound =
                x.listeners().stream()
                        .filter(z -> z.getAddress().getSocketAddress().getPortValue() == 9080)
                        .findFirst()
                        .orElseThrow();
        DownstreamTlsContext tls =
                inbound.getFilterChainsList().stream()
                        .filter(c -> c.hasTransportSocket())
                        .findFirst()
                        .orElseThrow()
                        .getTransportSocket()
                        .getTypedConfig()
                        .unpack(DownstreamTlsContext.class);
        assertSvidFromSds(tls.getCommonTlsContext());
        // One URI prefix matcher per trust domain, the own first, no repeats (istiod's
        // TrustDomainsForValidation).
        assertThat(
                        tls.getCommonTlsContext()
                                .getCombinedValidationContext()
                                .getDefaultValidationContext()
                                .getMatchTypedSubjectAltNamesList())
                .allSatisfy(m -> assertThat(m.getSanType().name()).isEqualTo("URI"))
                .extracting(m -> m.getMatcher().getPrefix())
                .containsExactly("spiffe://example.org/", "spiffe://domain.test/");
        // Istio's gateways validate the bundle only, not the trust domain.
        Listener gw =
                gateway().listeners().stream()
                        .filter(z -> z.getAddress().getSocketAddress().getPortValue() == 8080)
                        .findFirst()
                        .orElseThrow();
        assertThat(
                        gw.getFilterChains(0)
                                .getTransportSocket()
                                .getTypedConfig()
                                .unpack(DownstreamTlsContext.class)
                                .getCommonTlsContext()
                                .getCombinedValidationContext()
                                .getDefaultValidationContext()
                                .getMatchTypedSubjectAltNamesList())
                .isEmpty();
    }

    @Test
    void everyResourcePassesEnvoysValidationRulesAndRoundTripsThroughJson() throws Exception {
        for (XdsResources x : List.of(gateway(), productpageSidecar())) {
            assertThat(x.all()).isNotEmpty();
            for (Message m : x.all()) {
                PgvRules rules = new PgvRules(XdsConfigDump.TYPES);
                assertThat(rules.validate(m)).as("%s", m).isEmpty();
                assertThat(rules.unchecked())
                        .as("rules not applied in %s", m.getDescriptorForType().getName())
                        .isEmpty();
                assertThat(rules.checked()).isPositive();
                String json = XdsConfigDump.json(m);
                Message.Builder back = m.newBuilderForType();
                JsonFormat.parser().usingTypeRegistry(XdsConfigDump.TYPES).merge(json, back);
                assertThat(back.build()).isEqualTo(m);
                assertThat(json).doesNotContain("inline_bytes", "inline_string\": \"-----BEGIN");
                assertNoInlinePrivateKey(m);
            }
        }
    }

    /**
     * A sidecar's TLS origination to api.external.test with {@code tls} (a DestinationRule's
     * trafficPolicy.tls).
     */
    static UpstreamTlsContext origination(String tls) throws IOException {
        List<Resource> r =
                MeshYaml.parse(
                                "egress.yaml",
                                """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: ext, namespace: istio-system}
                spec:
                  hosts: [api.external.test]
                  location: MESH_EXTERNAL
                  resolution: DNS
                  ports: [{number: 443, name: https, protocol: HTTPS}]
                  endpoints: [{address: api.external.test}]
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: ext, namespace: istio-system}
                spec:
                  host: api.external.test
                  trafficPolicy: {tls: %s}
                """
                                        .formatted(tls))
                        .orThrow();
        XdsResources x =
                XdsTranslator.translate(
                        MeshCompiler.compile(
                                r,
                                ProxyNode.sidecar(
                                        "istio-system",
                                        Map.of("app", "client"),
                                        "example.org",
                                        List.of(),
                                        15001)));
        Cluster c =
                x.clusters().stream()
                        .filter(k -> k.getName().endsWith("|api.external.test"))
                        .findFirst()
                        .orElseThrow();
        PgvRules rules = new PgvRules(XdsConfigDump.TYPES);
        assertThat(rules.validate(c)).as("%s", c).isEmpty();
        assertThat(rules.unchecked()).isEmpty();
        return c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    }

    @Test
    void tlsOriginationWithoutCaCertificatesValidatesAgainstTheSystemTrustStoreAsIstioDoes()
            throws Exception {
        // No caCertificates: istiod's file-root:system SDS secret, with the SAN matchers beside it.
        CommonTlsContext system =
                origination(
                                "{mode: SIMPLE, sni: api.external.test, subjectAltNames: [api.external.test]}")
                        .getCommonTlsContext();
        assertThat(system.hasValidationContext()).isFalse();
        assertThat(
                        system.getCombinedValidationContext()
                                .getValidationContextSdsSecretConfig()
                                .getName())
                .isEqualTo("file-root:system");
        assertThat(
                        system.getCombinedValidationContext()
                                .getValidationContextSdsSecretConfig()
                                .getSdsConfig()
                                .getApiConfigSource()
                                .getGrpcServices(0)
                                .getEnvoyGrpc()
                                .getClusterName())
                .isEqualTo("sds-grpc");
        assertThat(
                        system.getCombinedValidationContext()
                                .getDefaultValidationContext()
                                .getMatchTypedSubjectAltNames(0)
                                .getMatcher()
                                .getExact())
                .isEqualTo("api.external.test");
        // caCertificates: that file and the SAN matchers.
        CommonTlsContext file =
                origination(
                                "{mode: SIMPLE, caCertificates: /etc/ca.pem, subjectAltNames: [api.external.test]}")
                        .getCommonTlsContext();
        assertThat(file.getValidationContext().getTrustedCa().getFilename())
                .isEqualTo("/etc/ca.pem");
        assertThat(file.getValidationContext().getMatchTypedSubjectAltNamesCount()).isEqualTo(1);
        assertThat(file.hasCombinedValidationContext()).isFalse();
        // insecureSkipVerify (Istio refuses it beside caCertificates or subjectAltNames): an empty
        // validation context, as istiod writes it, so Envoy does not verify the server.
        CommonTlsContext insecure =
                origination("{mode: SIMPLE, insecureSkipVerify: true}").getCommonTlsContext();
        assertThat(insecure.hasValidationContext()).isTrue();
        assertThat(insecure.getValidationContext())
                .isEqualTo(
                        io.envoyproxy.envoy.extensions.transport_sockets.tls.v3
                                .CertificateValidationContext.getDefaultInstance());
        assertThat(insecure.hasCombinedValidationContext()).isFalse();
    }

    @Test
    void validatorReportsBrokenResources() {
        // The rules come from Envoy's annotations: a cluster without a name and a listener without
        // address fail.
        PgvRules rules = new PgvRules(XdsConfigDump.TYPES);
        assertThat(rules.validate(Cluster.newBuilder().setName("").build()))
                .anyMatch(v -> v.contains("name"));
        assertThat(
                        new PgvRules(XdsConfigDump.TYPES)
                                .validate(
                                        RouteConfiguration.newBuilder()
                                                .addVirtualHosts(
                                                        io.envoyproxy.envoy.config.route.v3
                                                                .VirtualHost.newBuilder()
                                                                .setName("x"))
                                                .build()))
                .anyMatch(v -> v.contains("domains"));
    }

    @Test
    void sidecarInboundListenerAuthorizesAndForwardsClientCertificate() throws Exception {
        XdsResources x = productpageSidecar();
        Listener inbound =
                x.listeners().stream()
                        .filter(l -> l.getTrafficDirection().name().equals("INBOUND"))
                        .findFirst()
                        .orElseThrow();
        var chain = inbound.getFilterChains(0);
        DownstreamTlsContext tls =
                chain.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
        assertThat(tls.getRequireClientCertificate().getValue()).isTrue();
        HttpConnectionManager hcm =
                chain.getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
        assertThat(hcm.getForwardClientCertDetails())
                .isEqualTo(HttpConnectionManager.ForwardClientCertDetails.SANITIZE_SET);
    }

    static void assertSvidFromSds(CommonTlsContext common) {
        assertThat(common.getTlsCertificatesList()).isEmpty();
        assertThat(common.getTlsCertificateSdsSecretConfigsList())
                .singleElement()
                .satisfies(
                        s -> {
                            assertThat(s.getName()).isEqualTo("default");
                            assertThat(
                                            s.getSdsConfig()
                                                    .getApiConfigSource()
                                                    .getGrpcServices(0)
                                                    .getEnvoyGrpc()
                                                    .getClusterName())
                                    .isEqualTo("sds-grpc");
                        });
        assertThat(
                        common.getCombinedValidationContext()
                                .getValidationContextSdsSecretConfig()
                                .getName())
                .isEqualTo("ROOTCA");
    }

    /** No TlsCertificate anywhere (also inside Any) carries a private key inline. */
    static void assertNoInlinePrivateKey(Message m) throws Exception {
        for (var e : m.getAllFields().entrySet()) {
            for (Object v :
                    e.getKey().isRepeated() ? (List<?>) e.getValue() : List.of(e.getValue())) {
                if (v instanceof Any any) {
                    var d =
                            XdsConfigDump.TYPES.find(
                                    any.getTypeUrl().substring(any.getTypeUrl().indexOf('/') + 1));
                    assertNoInlinePrivateKey(
                            com.google.protobuf.DynamicMessage.parseFrom(d, any.getValue()));
                } else if (v instanceof Message inner) {
                    if (e.getKey().getName().equals("private_key")) {
                        assertThat(inner.toString()).doesNotContain("inline");
                    }
                    assertNoInlinePrivateKey(inner);
                }
            }
        }
    }
}
