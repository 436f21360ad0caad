package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.mesh.compile.MeshCompiler;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.model.Resource;
import io.mithril.proxy.identity.StaticIdentitySource;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's egress gateway with mutual TLS origination, as HPE's Mithril configures it for an
 * external workload (docs/external.md): sleep's sidecar -> ISTIO_MUTUAL with {@code sni} (in a
 * subset's {@code portLevelSettings}) -> egress gateway (ISTIO_MUTUAL server for that SNI) ->
 * ISTIO_MUTUAL with {@code sni} -> the external workload, which admits only the egress gateway's
 * SPIFFE ID (its XFCC names the egress gateway). A gateway of another identity in the egress
 * gateway's place is refused by the sidecar. From files and over xDS (the control plane's
 * translation and back).
 */
class EgressMutualTlsTest {

    static final String EGRESS_ID =
            "spiffe://example.org/ns/istio-system/sa/istio-egressgateway-service-account";
    static final String EXTERNAL_ID = "spiffe://example.org/external/api";
    static final String OTHER_ID = "spiffe://example.org/ns/istio-system/sa/other-gateway";

    /** Istio's task and Mithril's YAML, with the two endpoints' ports. */
    static String mesh(int egressPort, int externalPort) {
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: external-api, namespace: default}
                spec:
                  hosts: [external.example.org]
                  location: MESH_EXTERNAL
                  resolution: STATIC
                  ports: [{number: 80, name: http, protocol: HTTP}, {number: 9443, name: https, protocol: HTTPS}]
                  endpoints: [{address: 127.0.0.1, ports: {https: %2$d}}]
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
                spec: {address: 127.0.0.1, ports: {https: %1$d}, labels: {istio: egressgateway}, serviceAccount: istio-egressgateway-service-account}
                ---
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: istio-egressgateway, namespace: default}
                spec:
                  selector: {istio: egressgateway}
                  servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: [external.example.org], tls: {mode: ISTIO_MUTUAL}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: egressgateway-for-external, namespace: default}
                spec:
                  host: istio-egressgateway.istio-system.svc.cluster.local
                  subsets:
                  - name: external
                    trafficPolicy:
                      portLevelSettings:
                      - port: {number: 443}
                        tls: {mode: ISTIO_MUTUAL, sni: external.example.org}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: external-through-egress, namespace: default}
                spec:
                  hosts: [external.example.org]
                  gateways: [istio-egressgateway, mesh]
                  http:
                  - match: [{gateways: [mesh], port: 80}]
                    route: [{destination: {host: istio-egressgateway.istio-system.svc.cluster.local, subset: external, port: {number: 443}}}]
                  - match: [{gateways: [istio-egressgateway], port: 443}]
                    route: [{destination: {host: external.example.org, port: {number: 9443}}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: originate-mtls-for-external, namespace: default}
                spec:
                  host: external.example.org
                  trafficPolicy:
                    portLevelSettings:
                    - port: {number: 9443}
                      tls: {mode: ISTIO_MUTUAL, sni: external.example.org}
                """
                .formatted(egressPort, externalPort);
    }

    @Test
    void sleepReachesTheExternalWorkloadOnlyThroughTheEgressGatewaysIdentity() throws Exception {
        for (boolean overXds : new boolean[] {false, true}) {
            Processes.Result ok = call(EGRESS_ID, overXds);
            assertThat(ok.status()).as("over xDS: %s, %s", overXds, ok.body()).isEqualTo(200);
            // The external side verified the egress gateway: its XFCC names it as the caller.
            assertThat(ok.body())
                    .contains("backend=external")
                    .contains("path=/hello")
                    .contains("URI=" + EGRESS_ID);
            // A gateway with another identity in the egress gateway's place: sleep's sidecar
            // requires the ID of the egress gateway's service account and refuses it.
            Processes.Result other = call(OTHER_ID, overXds);
            assertThat(other.status()).as("over xDS: %s, %s", overXds, other.body()).isEqualTo(503);
            assertThat(other.body()).contains("upstream connect error");
        }
    }

    /**
     * curl via sleep's sidecar to http://external.example.org/hello, the egress being {@code id}.
     */
    private static Processes.Result call(String egressId, boolean overXds) throws Exception {
        TestPki pki = new TestPki("example.org");
        try (TestBackend app = new TestBackend("external");
                // The external workload: mTLS on its own SVID for external.example.org (SNI
                // required), admitting only the egress gateway's SPIFFE ID.
                Proxy external =
                        MeshFixture.gateway(
                                pki.identity(EXTERNAL_ID, List.of("external.example.org")),
                                MeshFixture.parse(
                                        """
                     apiVersion: networking.istio.io/v1
                     kind: Gateway
                     metadata: {name: ext, namespace: istio-system}
                     spec:
                       selector: {istio: ingressgateway}
                       servers: [{port: {number: 8080, name: https, protocol: HTTPS}, hosts: [external.example.org], tls: {mode: ISTIO_MUTUAL}}]
                     ---
                     apiVersion: networking.istio.io/v1
                     kind: VirtualService
                     metadata: {name: ext, namespace: istio-system}
                     spec:
                       hosts: [external.example.org]
                       gateways: [ext]
                       http: [{route: [{destination: {host: app.default.svc.cluster.local}}]}]
                     ---
                     apiVersion: security.istio.io/v1
                     kind: AuthorizationPolicy
                     metadata: {name: only-egress, namespace: istio-system}
                     spec:
                       action: ALLOW
                       rules: [{from: [{source: {principals: ["example.org/ns/istio-system/sa/istio-egressgateway-service-account"]}}]}]
                     ---
                     """
                                                + RouteRulesTest.entry("app", app.port())));
                Proxy egress =
                        Proxy.start(
                                ProxySettings.of(
                                        ProxyNode.gateway(
                                                "istio-system",
                                                Map.of("istio", "egressgateway"),
                                                "example.org"),
                                        Map.of(443, new InetSocketAddress("127.0.0.1", 0)),
                                        null),
                                new StaticIdentitySource(pki.identity(egressId)));
                Proxy sidecar =
                        Proxy.start(
                                ProxySettings.of(
                                        ProxyNode.sidecar(
                                                "default",
                                                Map.of("app", "sleep"),
                                                "example.org",
                                                List.of(),
                                                "127.0.0.1",
                                                15001),
                                        Map.of(15001, new InetSocketAddress("127.0.0.1", 0)),
                                        null),
                                new StaticIdentitySource(pki.identity(MeshFixture.SLEEP_ID)))) {
            int externalPort = external.listenerAddress(8080).getPort();
            // The egress gateway's listener is bound once it has its configuration; its own
            // WorkloadEntry port does not change what it is given.
            apply(egress, MeshFixture.parse(mesh(1, externalPort)), overXds);
            int egressPort = egress.listenerAddress(443).getPort();
            apply(sidecar, MeshFixture.parse(mesh(egressPort, externalPort)), overXds);
            return Processes.curl(
                    "-x",
                    "http://127.0.0.1:" + sidecar.listenerAddress(15001).getPort(),
                    "http://external.example.org/hello");
        }
    }

    private static void apply(Proxy proxy, List<Resource> resources, boolean overXds)
            throws Exception {
        if (overXds) {
            proxy.applyCompiled(
                    io.mithril.proxy.xds.XdsConfigTranslatorTest.roundTrip(
                            MeshCompiler.compile(resources, proxy.settings().node())));
        } else {
            proxy.apply(resources);
        }
    }
}
