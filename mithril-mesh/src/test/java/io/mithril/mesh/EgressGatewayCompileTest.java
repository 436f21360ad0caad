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
import io.mithril.mesh.config.VirtualHost;
import io.mithril.mesh.model.DestinationRule;
import io.mithril.mesh.model.Resource;
import io.mithril.mesh.yaml.MeshYaml;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's "egress gateway with mutual TLS origination" as HPE's Mithril writes it for an external
 * workload: the sidecar sends the external host's traffic to the egress gateway (ISTIO_MUTUAL with
 * {@code sni}, in a subset's port-level settings), the egress gateway terminates ISTIO_MUTUAL for
 * that host and originates ISTIO_MUTUAL with {@code sni} to the external workload, whose SPIFFE ID
 * comes from the ServiceEntry's {@code subjectAltNames}.
 */
class EgressGatewayCompileTest {

    static final String EGRESS_HOST = "istio-egressgateway.istio-system.svc.cluster.local";
    static final String EGRESS_ID =
            "spiffe://example.org/ns/istio-system/sa/istio-egressgateway-service-account";
    static final String EXTERNAL_ID = "spiffe://example.org/external/api";

    static final String MESH =
            """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: external-api, namespace: default}
            spec:
              hosts: [external.example.org]
              location: MESH_EXTERNAL
              resolution: STATIC
              ports:
              - {number: 80, name: http, protocol: HTTP}
              - {number: 9443, name: https, protocol: HTTPS}
              endpoints: [{address: 127.0.0.1, ports: {https: 20443}}]
              subjectAltNames: ["spiffe://example.org/external/api"]
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: istio-egressgateway, namespace: istio-system}
            spec:
              hosts: [istio-egressgateway.istio-system.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 443, name: https, protocol: HTTPS}]
              workloadSelector: {labels: {istio: egressgateway}}
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: istio-egressgateway, namespace: istio-system}
            spec:
              address: 127.0.0.1
              ports: {https: 18443}
              labels: {istio: egressgateway}
              serviceAccount: istio-egressgateway-service-account
            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: istio-egressgateway, namespace: default}
            spec:
              selector: {istio: egressgateway}
              servers:
              - port: {number: 443, name: https, protocol: HTTPS}
                hosts: [external.example.org]
                tls: {mode: ISTIO_MUTUAL}
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: egressgateway-for-external, namespace: default}
            spec:
              host: istio-egressgateway.istio-system.svc.cluster.local
              subsets:
              - name: external
                trafficPolicy:
                  loadBalancer: {simple: ROUND_ROBIN}
                  portLevelSettings:
                  - port: {number: 443}
                    tls: {mode: ISTIO_MUTUAL, sni: external.example.org}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: direct-external-through-egress-gateway, namespace: default}
            spec:
              hosts: [external.example.org]
              gateways: [istio-egressgateway, mesh]
              http:
              - match: [{gateways: [mesh], port: 80}]
                route:
                - destination: {host: istio-egressgateway.istio-system.svc.cluster.local, subset: external, port: {number: 443}}
              - match: [{gateways: [istio-egressgateway], port: 443}]
                route:
                - destination: {host: external.example.org, port: {number: 9443}}
              - match: [{gateways: [istio-egressgateway], port: 8443}]
                route:
                - destination: {host: other.example.org, port: {number: 9443}}
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: originate-mtls-for-external, namespace: default}
            spec:
              host: external.example.org
              trafficPolicy:
                loadBalancer: {simple: RANDOM}
                tls: {mode: SIMPLE}
                portLevelSettings:
                - port: {number: 9443}
                  tls: {mode: ISTIO_MUTUAL, sni: external.example.org}
            """;

    static List<Resource> resources() {
        return MeshYaml.parse("egress.yaml", MESH).orThrow();
    }

    @Test
    void theSidecarSendsTheExternalHostToTheEgressGatewayOverIstioMutualWithSni() {
        ProxyConfig sidecar =
                MeshCompiler.compile(
                        resources(),
                        ProxyNode.sidecar(
                                "default",
                                Map.of("app", "sleep"),
                                "example.org",
                                List.of(),
                                15001));
        VirtualHost vh = vhost(sidecar.routes().get("outbound"), "external.example.org:80");
        assertThat(vh.routes()).hasSize(1);
        String egressCluster = "outbound|443|external|" + EGRESS_HOST;
        assertThat(clusters(vh.routes().get(0))).containsExactly(egressCluster);
        Cluster c = sidecar.clusters().get(egressCluster);
        // The subset's port-level TLS applies on 443; its own load balancer too.
        assertThat(c.tls().mode()).isEqualTo(UpstreamTls.Mode.ISTIO_MUTUAL);
        assertThat(c.tls().sni()).isEqualTo("external.example.org");
        assertThat(c.tls().expectedSubjectAltNames()).containsExactly(EGRESS_ID);
        assertThat(c.endpoints())
                .extracting(Cluster.Endpoint::address, Cluster.Endpoint::port)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("127.0.0.1", 18443));
        // The block bound to the egress gateway is not the sidecar's: on 9443 nothing routes.
        assertThat(vhost(sidecar.routes().get("outbound"), "external.example.org:9443").routes())
                .isEmpty();
    }

    @Test
    void theEgressGatewayTerminatesIstioMutualForTheHostAndOriginatesIstioMutualToTheWorkload() {
        ProxyConfig egress =
                MeshCompiler.compile(
                        resources(),
                        ProxyNode.gateway(
                                "istio-system", Map.of("istio", "egressgateway"), "example.org"));
        Listener l = egress.listeners().get(0);
        assertThat(l.port()).isEqualTo(443);
        FilterChain chain = l.filterChains().get(0);
        assertThat(chain.serverNames()).containsExactly("external.example.org");
        assertThat(chain.tls().mode()).isEqualTo(DownstreamTls.Mode.ISTIO_MUTUAL);
        RouteConfiguration rc = egress.routes().get(chain.routeConfigName());
        VirtualHost vh = vhost(rc, "external.example.org:443");
        // The mesh block and the block for port 8443 are dropped, as istiod drops them; what stays
        // needs no port match (xDS routes have none).
        assertThat(vh.routes()).hasSize(1);
        assertThat(vh.routes().get(0).match().port()).isNull();
        String cluster = "outbound|9443||external.example.org";
        assertThat(clusters(vh.routes().get(0))).containsExactly(cluster);
        Cluster c = egress.clusters().get(cluster);
        assertThat(c.tls().mode()).isEqualTo(UpstreamTls.Mode.ISTIO_MUTUAL);
        assertThat(c.tls().sni()).isEqualTo("external.example.org");
        assertThat(c.tls().expectedSubjectAltNames()).containsExactly(EXTERNAL_ID);
        assertThat(c.endpoints()).extracting(Cluster.Endpoint::port).containsExactly(20443);
        // A port-level setting replaces the whole policy: RANDOM is not inherited on 9443.
        assertThat(c.lbPolicy()).isEqualTo(DestinationRule.SimpleLb.LEAST_REQUEST);
        assertThat(egress.clusters()).doesNotContainKey("outbound|9443||other.example.org");
    }

    @Test
    void portsWithoutAPortLevelSettingKeepTheRulesOwnPolicy() {
        ProxyConfig sidecar =
                MeshCompiler.compile(
                        MeshYaml.parse(
                                        "egress.yaml",
                                        MESH.replace(
                                                "gateways: [istio-egressgateway, mesh]",
                                                "gateways: [istio-egressgateway]"))
                                .orThrow(),
                        ProxyNode.sidecar(
                                "default",
                                Map.of("app", "sleep"),
                                "example.org",
                                List.of(),
                                15001));
        // No VirtualService for the sidecar now: the default route to port 80 of the host.
        Cluster c = sidecar.clusters().get("outbound|80||external.example.org");
        assertThat(c.tls().mode()).isEqualTo(UpstreamTls.Mode.SIMPLE);
        assertThat(c.lbPolicy()).isEqualTo(DestinationRule.SimpleLb.RANDOM);
        Cluster tls = sidecar.clusters().get("outbound|9443||external.example.org");
        assertThat(tls.tls().mode()).isEqualTo(UpstreamTls.Mode.ISTIO_MUTUAL);
        assertThat(tls.lbPolicy()).isEqualTo(DestinationRule.SimpleLb.LEAST_REQUEST);
    }

    private static VirtualHost vhost(RouteConfiguration rc, String name) {
        return rc.virtualHosts().stream()
                .filter(v -> v.name().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no virtual host " + name + " in " + rc));
    }

    private static List<String> clusters(Route r) {
        return ((Route.Forward) r.action())
                .clusters().stream().map(Route.WeightedCluster::cluster).toList();
    }
}
