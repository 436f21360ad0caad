package io.mithril.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ResourceFilterTest {

    private static List<MeshDocument> all() throws IOException {
        List<MeshDocument> docs = new ArrayList<>();
        docs.addAll(MeshDocuments.parse("gw.yaml", MeshFixture.gateways(8080, 8081, "/productpage")));
        docs.addAll(MeshDocuments.parse("services.yaml", MeshFixture.SERVICES));
        docs.addAll(MeshDocuments.parse("policies.yaml", MeshFixture.POLICIES));
        return docs;
    }

    private static List<String> refs(List<MeshDocument> docs) {
        return docs.stream().map(MeshDocument::ref).toList();
    }

    @Test
    void ingressGatewayGetsItsGatewayItsBoundRoutesTheUpstreamsAndPoliciesSelectingIt() throws IOException {
        ProxyInfo gw = new ProxyInfo(TestIdentities.GATEWAY, ProxyInfo.Kind.GATEWAY, "istio-system",
                Map.of("istio", "ingressgateway", "app", "istio-ingressgateway"), "gw-1");
        assertThat(refs(ResourceFilter.select(all(), gw))).containsExactly(
                "Gateway istio-system/bookinfo-gateway",
                "VirtualService default/bookinfo",
                "ServiceEntry default/productpage",
                "DestinationRule default/productpage",
                "PeerAuthentication istio-system/default");
    }

    @Test
    void egressGatewayDoesNotGetTheIngressGatewayNorItsRoutes() throws IOException {
        ProxyInfo egress = new ProxyInfo(TestIdentities.GATEWAY, ProxyInfo.Kind.GATEWAY, "istio-system",
                Map.of("istio", "egressgateway"), "egress-1");
        assertThat(refs(ResourceFilter.select(all(), egress))).contains("Gateway istio-system/egress-gateway")
                .doesNotContain("Gateway istio-system/bookinfo-gateway", "VirtualService default/bookinfo");
    }

    @Test
    void sidecarGetsMeshRoutesUpstreamsAndThePoliciesOfItsNamespaceAndLabels() throws IOException {
        ProxyInfo sidecar = new ProxyInfo(TestIdentities.PRODUCTPAGE, ProxyInfo.Kind.SIDECAR, "default",
                Map.of("app", "productpage", "version", "v1"), "productpage-1");
        assertThat(refs(ResourceFilter.select(all(), sidecar))).containsExactly(
                "ServiceEntry default/productpage",
                "DestinationRule default/productpage",
                "VirtualService default/reviews",
                "PeerAuthentication istio-system/default",
                "AuthorizationPolicy default/productpage-viewer");
    }

    @Test
    void sidecarInAnotherNamespaceDoesNotGetPoliciesOfDefault() throws IOException {
        ProxyInfo sidecar = new ProxyInfo(TestIdentities.PRODUCTPAGE, ProxyInfo.Kind.SIDECAR, "shop",
                Map.of("app", "productpage"), "x");
        assertThat(refs(ResourceFilter.select(all(), sidecar)))
                .doesNotContain("AuthorizationPolicy default/productpage-viewer")
                .contains("PeerAuthentication istio-system/default");
    }

    @Test
    void shortGatewayNameRefersToTheVirtualServicesNamespace() throws IOException {
        List<MeshDocument> docs = MeshDocuments.parse("x.yaml", """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: gw, namespace: shop}
                spec:
                  selector: {istio: ingressgateway}
                  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: same-ns, namespace: shop}
                spec: {hosts: ["*"], gateways: [gw], http: [{route: [{destination: {host: a}}]}]}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: other-ns, namespace: default}
                spec: {hosts: ["*"], gateways: [gw], http: [{route: [{destination: {host: a}}]}]}
                """);
        ProxyInfo gw = new ProxyInfo(TestIdentities.GATEWAY, ProxyInfo.Kind.GATEWAY, "istio-system",
                Map.of("istio", "ingressgateway"), "gw");
        assertThat(refs(ResourceFilter.select(docs, gw))).containsExactly("Gateway shop/gw", "VirtualService shop/same-ns");
    }
}
