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
        docs.addAll(
                MeshDocuments.parse("gw.yaml", MeshFixture.gateways(8080, 8081, "/productpage")));
        docs.addAll(MeshDocuments.parse("services.yaml", MeshFixture.SERVICES));
        docs.addAll(MeshDocuments.parse("policies.yaml", MeshFixture.POLICIES));
        return docs;
    }

    private static List<String> refs(List<MeshDocument> docs) {
        return docs.stream().map(MeshDocument::ref).toList();
    }

    @Test
    void ingressGatewayGetsItsGatewayItsBoundRoutesTheUpstreamsAndPoliciesSelectingIt()
            throws IOException {
        ProxyInfo gw =
                new ProxyInfo(
                        TestIdentities.GATEWAY,
                        ProxyInfo.Kind.GATEWAY,
                        "istio-system",
                        Map.of("istio", "ingressgateway", "app", "istio-ingressgateway"),
                        "gw-1");
        assertThat(refs(ResourceFilter.select(all(), gw)))
                .containsExactly(
                        "Gateway istio-system/bookinfo-gateway",
                        "VirtualService default/bookinfo",
                        "ServiceEntry default/productpage",
                        "DestinationRule default/productpage",
                        "PeerAuthentication istio-system/default");
    }

    @Test
    void egressGatewayDoesNotGetTheIngressGatewayNorItsRoutes() throws IOException {
        ProxyInfo egress =
                new ProxyInfo(
                        TestIdentities.GATEWAY,
                        ProxyInfo.Kind.GATEWAY,
                        "istio-system",
                        Map.of("istio", "egressgateway"),
                        "egress-1");
        assertThat(refs(ResourceFilter.select(all(), egress)))
                .contains("Gateway istio-system/egress-gateway")
                .doesNotContain(
                        "Gateway istio-system/bookinfo-gateway", "VirtualService default/bookinfo");
    }

    @Test
    void sidecarGetsMeshRoutesUpstreamsAndThePoliciesOfItsNamespaceAndLabels() throws IOException {
        ProxyInfo sidecar =
                new ProxyInfo(
                        TestIdentities.PRODUCTPAGE,
                        ProxyInfo.Kind.SIDECAR,
                        "default",
                        Map.of("app", "productpage", "version", "v1"),
                        "productpage-1");
        assertThat(refs(ResourceFilter.select(all(), sidecar)))
                .containsExactly(
                        "ServiceEntry default/productpage",
                        "DestinationRule default/productpage",
                        "VirtualService default/reviews",
                        "PeerAuthentication istio-system/default",
                        "AuthorizationPolicy default/productpage-viewer");
    }

    @Test
    void sidecarInAnotherNamespaceDoesNotGetPoliciesOfDefault() throws IOException {
        ProxyInfo sidecar =
                new ProxyInfo(
                        TestIdentities.PRODUCTPAGE,
                        ProxyInfo.Kind.SIDECAR,
                        "shop",
                        Map.of("app", "productpage"),
                        "x");
        assertThat(refs(ResourceFilter.select(all(), sidecar)))
                .doesNotContain("AuthorizationPolicy default/productpage-viewer")
                .contains("PeerAuthentication istio-system/default");
    }

    /**
     * A Gateway {@code gw} in {@code namespace} selecting {@code istio=ingressgateway}, and a
     * document separator.
     */
    private static String ingressGateway(String namespace) {
        return """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: gw, namespace: %s}
                spec:
                  selector: {istio: ingressgateway}
                  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
                ---
                """
                .formatted(namespace);
    }

    @Test
    void shortGatewayNameRefersToTheVirtualServicesNamespace() throws IOException {
        List<MeshDocument> docs =
                MeshDocuments.parse(
                        "x.yaml",
                        ingressGateway("shop")
                                + """
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
        ProxyInfo gw =
                new ProxyInfo(
                        TestIdentities.GATEWAY,
                        ProxyInfo.Kind.GATEWAY,
                        "istio-system",
                        Map.of("istio", "ingressgateway"),
                        "gw");
        assertThat(refs(ResourceFilter.select(docs, gw)))
                .containsExactly("Gateway shop/gw", "VirtualService shop/same-ns");
    }

    private static List<String> seenBy(
            ProxyInfo.Kind kind, String namespace, Map<String, String> labels) throws IOException {
        List<MeshDocument> docs = new ArrayList<>(all());
        docs.addAll(MeshDocuments.parse("namespaces.yaml", MeshFixture.NAMESPACES_A_AND_B));
        return refs(
                ResourceFilter.select(
                        docs,
                        new ProxyInfo(
                                io.mithril.spiffe.id.SpiffeId.parse(
                                        "spiffe://example.org/ns/" + namespace + "/sa/x"),
                                kind,
                                namespace,
                                labels,
                                "n")));
    }

    @Test
    void sidecarOfNamespaceASeesItsOwnAndExportedResourcesButNotThePrivateOnesOfB()
            throws IOException {
        assertThat(seenBy(ProxyInfo.Kind.SIDECAR, "a", Map.of("app", "web")))
                .contains(
                        "VirtualService a/own-private",
                        "VirtualService default/reviews",
                        "ServiceEntry b/public",
                        "WorkloadEntry b/public-1",
                        "DestinationRule b/exported-to-a",
                        "PeerAuthentication istio-system/default")
                .doesNotContain(
                        "VirtualService b/private",
                        "DestinationRule b/private",
                        "ServiceEntry b/private",
                        "WorkloadEntry b/private-1",
                        "DestinationRule b/exported-to-c",
                        "VirtualService b/hidden",
                        "AuthorizationPolicy b/deny-all",
                        "AuthorizationPolicy default/productpage-viewer");
    }

    @Test
    void sidecarOfNamespaceBSeesItsPrivateResourcesButNotHiddenOnesNorThoseOfA()
            throws IOException {
        assertThat(seenBy(ProxyInfo.Kind.SIDECAR, "b", Map.of("app", "web")))
                .contains(
                        "VirtualService b/private",
                        "DestinationRule b/private",
                        "ServiceEntry b/private",
                        "WorkloadEntry b/private-1",
                        "DestinationRule b/exported-to-c",
                        "AuthorizationPolicy b/deny-all")
                .doesNotContain("VirtualService a/own-private", "VirtualService b/hidden");
    }

    @Test
    void gatewayDoesNotGetAVirtualServiceBoundToItThatIsPrivateToAnotherNamespace()
            throws IOException {
        List<MeshDocument> docs =
                MeshDocuments.parse(
                        "x.yaml",
                        ingressGateway("istio-system")
                                + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: private, namespace: shop}
                spec: {hosts: ["*"], gateways: [istio-system/gw], exportTo: ["."], http: [{route: [{destination: {host: a}}]}]}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: exported, namespace: shop}
                spec: {hosts: ["*"], gateways: [istio-system/gw], exportTo: [istio-system], http: [{route: [{destination: {host: a}}]}]}
                """);
        ProxyInfo gw =
                new ProxyInfo(
                        TestIdentities.GATEWAY,
                        ProxyInfo.Kind.GATEWAY,
                        "istio-system",
                        Map.of("istio", "ingressgateway"),
                        "gw");
        assertThat(refs(ResourceFilter.select(docs, gw)))
                .containsExactly("Gateway istio-system/gw", "VirtualService shop/exported");
    }
}
