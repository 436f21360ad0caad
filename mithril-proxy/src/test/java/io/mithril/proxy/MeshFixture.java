package io.mithril.proxy;

import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.model.Resource;
import io.mithril.mesh.yaml.MeshYaml;
import io.mithril.proxy.identity.Identity;
import io.mithril.proxy.identity.IdentitySource;
import io.mithril.proxy.identity.StaticIdentitySource;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The test kit's mesh fixture: builds the seed's deployment in one JVM (gateway -> productpage
 * sidecar -> productpage app) from the seed's Istio resources. Shared through the proxy's test-jar
 * (the interop tests run their gateway with it).
 */
public final class MeshFixture {

    public static final String GATEWAY_ID =
            "spiffe://example.org/ns/istio-system/sa/istio-ingressgateway-service-account";
    public static final String PRODUCTPAGE_ID =
            "spiffe://example.org/ns/default/sa/bookinfo-productpage";
    public static final String SLEEP_ID = "spiffe://example.org/ns/default/sa/sleep";

    public static final String SEED =
            """
            apiVersion: networking.istio.io/v1alpha3
            kind: Gateway
            metadata:
              name: bookinfo-gateway
            spec:
              selector:
                istio: ingressgateway
              servers:
                - port:
                    number: 8080
                    name: https
                    protocol: HTTPS
                  tls:
                    mode: ISTIO_MUTUAL
                  hosts:
                    - "*"
            ---
            apiVersion: networking.istio.io/v1alpha3
            kind: VirtualService
            metadata:
              name: bookinfo-service
            spec:
              hosts:
                - "*"
              gateways:
                - bookinfo-gateway
              http:
                - match:
                    - uri:
                        exact: /productpage
                    - uri:
                        prefix: /static
                    - uri:
                        exact: /login
                    - uri:
                        exact: /logout
                    - uri:
                        prefix: /api/v1/products
                  route:
                    - destination:
                        host: productpage.default.svc.cluster.local
                        port:
                          number: 9080
            ---
            apiVersion: "networking.istio.io/v1alpha3"
            kind: "DestinationRule"
            metadata:
              name: "enable-mtls"
            spec:
              host: "*.svc.cluster.local"
              trafficPolicy:
                tls:
                  mode: ISTIO_MUTUAL
            """;

    public static String productpageEntry(int port, String serviceAccount) {
        return """
                apiVersion: networking.istio.io/v1beta1
                kind: ServiceEntry
                metadata: {name: productpage, namespace: default}
                spec:
                  hosts: [productpage.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  endpoints:
                  - address: 127.0.0.1
                    ports: {http: %d}
                    serviceAccount: %s
                """
                .formatted(port, serviceAccount);
    }

    /**
     * A Gateway {@code gw} on 8080 (HTTPS, hosts "*") with the given {@code tls:} flow mapping,
     * e.g. {@code {mode: ISTIO_MUTUAL}}, and a VirtualService {@code vs} bound to it with the
     * routes {@code http} (a YAML flow sequence).
     */
    static String gateway8080(String tls, String http) {
        return """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: gw, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: 8080, name: https, protocol: HTTPS}
                    tls: %s
                    hosts: ["*"]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: vs, namespace: istio-system}
                spec:
                  hosts: ["*"]
                  gateways: [gw]
                  http: %s
                ---
                """
                .formatted(tls, http);
    }

    /**
     * As {@link #gateway8080(String, String)}, every request to {@code
     * <service>.default.svc.cluster.local}.
     */
    static String gateway8080To(String tls, String service) {
        return gateway8080(
                tls,
                "[{route: [{destination: {host: " + service + ".default.svc.cluster.local}}]}]");
    }

    public static List<Resource> parse(String... docs) {
        List<Resource> out = new ArrayList<>();
        for (String d : docs) {
            out.addAll(MeshYaml.parse("test.yaml", d).orThrow());
        }
        return out;
    }

    static Proxy gateway(Identity id, List<Resource> resources) throws Exception {
        return gateway(id, resources, s -> s);
    }

    /** A gateway whose default settings {@code adjust} changes (limits, timeouts). */
    static Proxy gateway(
            Identity id,
            List<Resource> resources,
            java.util.function.UnaryOperator<ProxySettings> adjust)
            throws Exception {
        return gateway(new StaticIdentitySource(id), resources, adjust);
    }

    /**
     * The ingress gateway ({@code istio: ingressgateway} in {@code istio-system}, trust domain
     * example.org) on ephemeral ports for 8080 and 8081, its identity from {@code identity} (a
     * fixed one, or a Workload API source), serving {@code resources}.
     */
    public static Proxy gateway(
            IdentitySource identity,
            List<Resource> resources,
            java.util.function.UnaryOperator<ProxySettings> adjust)
            throws Exception {
        Proxy p =
                Proxy.start(
                        adjust.apply(
                                ProxySettings.of(
                                        ProxyNode.gateway(
                                                "istio-system",
                                                Map.of("istio", "ingressgateway"),
                                                "example.org"),
                                        Map.of(
                                                8080,
                                                new InetSocketAddress("127.0.0.1", 0),
                                                8081,
                                                new InetSocketAddress("127.0.0.1", 0)),
                                        new InetSocketAddress("127.0.0.1", 0))),
                        identity);
        p.apply(resources);
        return p;
    }

    static Proxy sidecar(
            StaticIdentitySource id,
            Map<String, String> labels,
            int appPort,
            List<Resource> resources)
            throws Exception {
        Proxy p =
                Proxy.start(
                        ProxySettings.of(
                                ProxyNode.sidecar(
                                        "default",
                                        labels,
                                        "example.org",
                                        List.of(
                                                new ProxyNode.InboundPort(
                                                        "127.0.0.1", 9080, "127.0.0.1", appPort)),
                                        "127.0.0.1",
                                        15001),
                                Map.of(
                                        9080,
                                        new InetSocketAddress("127.0.0.1", 0),
                                        15001,
                                        new InetSocketAddress("127.0.0.1", 0)),
                                new InetSocketAddress("127.0.0.1", 0)),
                        id);
        p.apply(resources);
        return p;
    }

    private MeshFixture() {}
}
