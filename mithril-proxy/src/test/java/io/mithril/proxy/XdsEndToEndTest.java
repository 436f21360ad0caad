package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mithril.controlplane.ConfigSet;
import io.mithril.controlplane.ControlPlane;
import io.mithril.controlplane.MeshDocuments;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.proxy.identity.Identity;
import io.mithril.proxy.identity.StaticIdentitySource;
import io.mithril.proxy.xds.XdsClient;
import io.mithril.proxy.xds.XdsNodes;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.svid.X509Svid;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The seed scenario with both proxies configured over xDS by the real control plane (ADS over gRPC
 * and mTLS, every party with its own SVID): curl with an SVID through the gateway and the
 * productpage sidecar to the app; a change pushed by the control plane reaches the gateway; a
 * listener that cannot bind is NACKed and the last good configuration keeps serving.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class XdsEndToEndTest {

    static final String ISTIOD = "spiffe://example.org/ns/istio-system/sa/istiod";
    static final Path SEED = Path.of("..", "examples", "two-clusters", "mesh");

    static TestPki pki;
    static Path dir;
    static Path mesh;
    static ControlPlane cp;
    static TestBackend app;
    static Proxy sidecar;
    static Proxy gateway;
    static XdsClient sidecarXds;
    static XdsClient gatewayXds;
    static TestPki.Files sleep;
    static String gatewayNodeId;

    @BeforeAll
    static void start() throws Exception {
        pki = new TestPki("example.org");
        dir = Files.createTempDirectory("xds-e2e");
        mesh = Files.createDirectories(dir.resolve("mesh"));
        app = new TestBackend("productpage");
        int sidecarPort = freePort();
        // The seed, with productpage's workload where this test's sidecar listens (not
        // 127.0.1.1:9080).
        for (Path f : MeshDocuments.configFiles(SEED)) {
            String text = Files.readString(f);
            if (f.getFileName().toString().equals("bookinfo-services.yaml")) {
                text =
                        text.replaceFirst(
                                "address: 127\\.0\\.1\\.1\n",
                                "address: 127.0.0.1\n  ports: {http: " + sidecarPort + "}\n");
            }
            Files.writeString(mesh.resolve(f.getFileName()), text);
        }
        Identity istiod = pki.identity(ISTIOD);
        cp =
                ControlPlane.start(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        io.mithril.spiffe.svid.IdentitySource.of(
                                X509Svid.of(istiod.chain(), istiod.privateKey()),
                                X509BundleSet.of(
                                        X509Bundle.of(pki.trustDomain, List.of(pki.root)))),
                        pki.trustDomain,
                        mesh.toString());
        cp.serve(seed());

        ProxyNode sidecarNode =
                ProxyNode.sidecar(
                        "default",
                        Map.of("app", "productpage", "version", "v1"),
                        "example.org",
                        List.of(new ProxyNode.InboundPort(9080, app.port())),
                        15001);
        StaticIdentitySource sidecarId =
                new StaticIdentitySource(pki.identity(MeshFixture.PRODUCTPAGE_ID));
        sidecar =
                Proxy.start(
                        ProxySettings.of(
                                sidecarNode,
                                Map.of(
                                        9080,
                                        new InetSocketAddress("127.0.0.1", sidecarPort),
                                        15001,
                                        new InetSocketAddress("127.0.0.1", 0)),
                                new InetSocketAddress("127.0.0.1", 0)),
                        sidecarId);
        sidecarXds =
                XdsClient.start(
                        "127.0.0.1:" + cp.port(),
                        SpiffeId.parse(ISTIOD),
                        sidecarId,
                        XdsNodes.of(sidecarNode, "127.0.0.1", "productpage-v1"),
                        sidecarNode,
                        sidecar::applyCompiled);

        ProxyNode gatewayNode =
                ProxyNode.gateway("istio-system", Map.of("istio", "ingressgateway"), "example.org");
        StaticIdentitySource gatewayId =
                new StaticIdentitySource(
                        pki.identity(MeshFixture.GATEWAY_ID, List.of("app.example.org")));
        gateway =
                Proxy.start(
                        ProxySettings.of(
                                gatewayNode,
                                Map.of(8080, new InetSocketAddress("127.0.0.1", 0)),
                                new InetSocketAddress("127.0.0.1", 0)),
                        gatewayId);
        var node = XdsNodes.of(gatewayNode, "127.0.0.1", "ingress-1");
        gatewayNodeId = node.getId();
        gatewayXds =
                XdsClient.start(
                        "127.0.0.1:" + cp.port(),
                        SpiffeId.parse(ISTIOD),
                        gatewayId,
                        node,
                        gatewayNode,
                        gateway::applyCompiled);

        sleep = TestPki.write(pki.identity(MeshFixture.SLEEP_ID), dir, "sleep");
        await().atMost(Duration.ofSeconds(20)).until(() -> sidecar.ready() && gateway.ready());
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c :
                new AutoCloseable[] {gatewayXds, sidecarXds, gateway, sidecar, cp, app}) {
            if (c != null) {
                c.close();
            }
        }
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static ConfigSet seed(String... more) throws Exception {
        List<io.mithril.controlplane.MeshDocument> docs =
                new ArrayList<>(MeshDocuments.read(MeshDocuments.configFiles(mesh)));
        for (String m : more) {
            docs.addAll(MeshDocuments.parse("test.yaml", m));
        }
        return ConfigSet.of(docs, Instant.now());
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    static Processes.Result curl(String path) throws Exception {
        int port = gateway.listenerAddress(8080).getPort();
        return Processes.curl(
                "--cert",
                sleep.cert().toString(),
                "--key",
                sleep.key().toString(),
                "--cacert",
                sleep.bundle().toString(),
                "--resolve",
                "app.example.org:" + port + ":127.0.0.1",
                "https://app.example.org:" + port + path);
    }

    @Test
    @Order(1)
    void curlThroughGatewayAndSidecarConfiguredOverXdsReachesTheApp() throws Exception {
        Processes.Result r = curl("/productpage");
        assertThat(r.status()).as(r.err() + r.out()).isEqualTo(200);
        assertThat(r.body()).contains("backend=productpage", "path=/productpage");
        // The sidecar terminated the gateway's ISTIO_MUTUAL with its own SVID (SDS "default") and
        // saw the gateway's.
        assertThat(r.body())
                .containsPattern("x-forwarded-client-cert: .*URI=" + MeshFixture.GATEWAY_ID);
        assertThat(curl("/admin").status()).isEqualTo(404);
        // The control plane recorded the ACKs of all four types.
        assertThat(cp.xds().dump(gatewayNodeId).acked())
                .containsKeys(XdsClient.CDS, XdsClient.EDS, XdsClient.LDS, XdsClient.RDS);
        assertThat(gatewayXds.versions()).isEqualTo(cp.xds().dump(gatewayNodeId).acked());
    }

    static final String HEALTH_ROUTE =
            """
            apiVersion: networking.istio.io/v1alpha3
            kind: VirtualService
            metadata: {name: health, namespace: default}
            spec:
              hosts: ["*"]
              gateways: [bookinfo-gateway]
              http:
              - match: [{uri: {exact: /health}}]
                rewrite: {uri: /productpage}
                route: [{destination: {host: productpage.default.svc.cluster.local, port: {number: 9080}}}]
            """;

    @Test
    @Order(2)
    void aChangePushedByTheControlPlaneReachesTheGateway() throws Exception {
        assertThat(curl("/health").status()).isEqualTo(404);
        String routes = gatewayXds.versions().get(XdsClient.RDS);
        cp.serve(seed(HEALTH_ROUTE));
        await().atMost(Duration.ofSeconds(15))
                .until(() -> !routes.equals(gatewayXds.versions().get(XdsClient.RDS)));
        Processes.Result r = curl("/health");
        assertThat(r.status()).as(r.err()).isEqualTo(200);
        assertThat(r.body()).contains("path=/productpage");
    }

    @Test
    @Order(3)
    void aListenerThatCannotBindIsNackedAndTheLastGoodConfigurationKeepsServing() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("0.0.0.0"))) {
            int port = taken.getLocalPort();
            String listeners = gatewayXds.versions().get(XdsClient.LDS);
            String extra =
                    """
                    apiVersion: networking.istio.io/v1alpha3
                    kind: Gateway
                    metadata: {name: taken, namespace: istio-system}
                    spec:
                      selector: {istio: ingressgateway}
                      servers:
                      - port: {number: %d, name: http, protocol: HTTP}
                        hosts: ["*"]
                    """
                            .formatted(port);
            cp.serve(seed(HEALTH_ROUTE, extra));
            await().atMost(Duration.ofSeconds(15))
                    .until(() -> cp.xds().dump(gatewayNodeId).nacks().containsKey(XdsClient.LDS));
            assertThat(cp.xds().dump(gatewayNodeId).nacks().get(XdsClient.LDS))
                    .contains("cannot bind", Integer.toString(port));
            assertThat(gatewayXds.nacks().get(XdsClient.LDS))
                    .contains("cannot bind", Integer.toString(port));
            assertThat(cp.xds().dump(gatewayNodeId).acked())
                    .containsEntry(XdsClient.LDS, listeners);
            assertThat(gateway.snapshot().config().listener(port)).isNull();
            assertThat(gateway.listenerAddress(port)).isNull();
            // Still serving the last good configuration, the route pushed before included.
            assertThat(curl("/productpage").status()).isEqualTo(200);
            assertThat(curl("/health").status()).isEqualTo(200);
        }
    }
}
