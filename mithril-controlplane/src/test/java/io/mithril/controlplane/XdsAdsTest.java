package io.mithril.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.mithril.controlplane.xds.XdsConfigDump;
import io.mithril.spiffe.id.SpiffeId;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Envoy's ADS as an Envoy would speak it: a client on Envoy's generated API over real gRPC and
 * mTLS.
 */
class XdsAdsTest {

    static final String GATEWAY_NODE =
            "router~10.0.0.1~ingress-1.istio-system~istio-system.svc.cluster.local";
    static final String PRODUCTPAGE_NODE =
            "sidecar~127.0.1.1~productpage-v1.default~default.svc.cluster.local";

    final TestIdentities exampleOrg = new TestIdentities("example.org");
    final List<AutoCloseable> toClose = new ArrayList<>();
    ControlPlane cp;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    ControlPlane start() throws IOException {
        cp =
                ControlPlane.start(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        exampleOrg.identity(TestIdentities.ISTIOD),
                        exampleOrg.trustDomain,
                        "seed");
        toClose.add(cp);
        cp.serve(seed());
        return cp;
    }

    static ConfigSet seed() {
        return ConfigSet.of(
                MeshDocuments.read(
                        MeshDocuments.configFiles(
                                Path.of("..", "examples", "two-clusters", "mesh"))),
                Instant.now());
    }

    TestAds ads(SpiffeId as, Node node) throws IOException {
        TestAds a = new TestAds(cp.port(), exampleOrg.identity(as), TestIdentities.ISTIOD, node);
        toClose.add(a);
        return a;
    }

    static Node node(String id, String... labels) {
        return TestAds.node(id, java.util.Map.of(), labels);
    }

    TestAds gateway() throws IOException {
        return ads(TestIdentities.GATEWAY, node(GATEWAY_NODE, "istio", "ingressgateway"));
    }

    @Test
    void servesEveryTypeWithVersionsAndNoncesAndRecordsAcks() throws Exception {
        start();
        TestAds ads = gateway();
        DiscoveryResponse cds = ads.request(Resources.V3.CLUSTER_TYPE_URL, "", "", List.of());
        assertThat(cds.getTypeUrl()).isEqualTo(Resources.V3.CLUSTER_TYPE_URL);
        assertThat(cds.getVersionInfo()).hasSize(12);
        assertThat(cds.getNonce()).isNotEmpty();
        List<String> clusters = new ArrayList<>();
        for (var any : cds.getResourcesList()) {
            assertThat(any.getTypeUrl()).isEqualTo(Resources.V3.CLUSTER_TYPE_URL);
            clusters.add(any.unpack(Cluster.class).getName());
        }
        assertThat(clusters).contains("outbound|9080||productpage.default.svc.cluster.local");
        ads.ack(cds);
        DiscoveryResponse eds = ads.request(Resources.V3.ENDPOINT_TYPE_URL, "", "", clusters);
        assertThat(eds.getResourcesCount()).isEqualTo(clusters.size());
        ads.ack(eds);
        DiscoveryResponse lds = ads.request(Resources.V3.LISTENER_TYPE_URL, "", "", List.of());
        Listener l = lds.getResources(0).unpack(Listener.class);
        assertThat(l.getAddress().getSocketAddress().getPortValue()).isEqualTo(8080);
        ads.ack(lds);
        String routeName =
                l.getFilterChains(0)
                        .getFilters(0)
                        .getTypedConfig()
                        .unpack(
                                io.envoyproxy.envoy.extensions.filters.network
                                        .http_connection_manager.v3.HttpConnectionManager.class)
                        .getRds()
                        .getRouteConfigName();
        DiscoveryResponse rds =
                ads.request(Resources.V3.ROUTE_TYPE_URL, "", "", List.of(routeName));
        assertThat(rds.getResourcesCount()).isEqualTo(1);
        ads.ack(rds);
        assertThat(lds.getNonce()).isNotEqualTo(cds.getNonce());
        // Nothing more is sent while nothing changes.
        assertThat(ads.responses.poll(300, TimeUnit.MILLISECONDS)).isNull();

        await(
                () -> cp.xds().dump(GATEWAY_NODE).acked().get(Resources.V3.ROUTE_TYPE_URL),
                rds.getVersionInfo());
        var dump = cp.xds().dump(GATEWAY_NODE);
        assertThat(dump.spiffeId()).isEqualTo(TestIdentities.GATEWAY.toString());
        assertThat(dump.acked())
                .containsEntry(Resources.V3.LISTENER_TYPE_URL, lds.getVersionInfo())
                .containsEntry(Resources.V3.CLUSTER_TYPE_URL, cds.getVersionInfo());
        assertThat(cp.xds().connectedNodes()).containsExactly(GATEWAY_NODE);
        ProxyStatus st = cp.status().proxies().get(0);
        assertThat(st.nodeId()).isEqualTo(GATEWAY_NODE);
        assertThat(st.name()).isEqualTo("ingress-1.istio-system");
        assertThat(st.acked())
                .containsEntry("CDS", cds.getVersionInfo())
                .containsEntry("EDS", eds.getVersionInfo())
                .containsEntry("LDS", lds.getVersionInfo())
                .containsEntry("RDS", rds.getVersionInfo());
        assertThat(st.state()).isEqualTo("SYNCED");
    }

    @Test
    void nackKeepsTheLastGoodVersionAndTheNextChangeIsSent() throws Exception {
        start();
        TestAds ads = gateway();
        DiscoveryResponse v1 = ads.request(Resources.V3.LISTENER_TYPE_URL, "", "", List.of());
        ads.ack(v1);
        // A change to the listener: the gateway server now also listens on 8443.
        cp.serve(withGatewayPort(8443));
        DiscoveryResponse v2 = ads.responses.poll(10, TimeUnit.SECONDS);
        assertThat(v2).isNotNull();
        assertThat(v2.getVersionInfo()).isNotEqualTo(v1.getVersionInfo());
        ads.nack(v2, v1.getVersionInfo());
        // The rejected version is not sent again.
        assertThat(ads.responses.poll(700, TimeUnit.MILLISECONDS)).isNull();
        await(
                () ->
                        cp.xds()
                                .dump(GATEWAY_NODE)
                                .nacks()
                                .getOrDefault(Resources.V3.LISTENER_TYPE_URL, ""),
                "version " + v2.getVersionInfo() + ": cannot bind 0.0.0.0:8080");
        assertThat(cp.xds().dump(GATEWAY_NODE).acked())
                .containsEntry(Resources.V3.LISTENER_TYPE_URL, v1.getVersionInfo());
        // The next change is.
        cp.serve(withGatewayPort(9443));
        DiscoveryResponse v3 = ads.responses.poll(10, TimeUnit.SECONDS);
        assertThat(v3).isNotNull();
        assertThat(v3.getVersionInfo()).isNotIn(v1.getVersionInfo(), v2.getVersionInfo());
        ads.ack(v3);
        await(
                () ->
                        cp.xds()
                                        .dump(GATEWAY_NODE)
                                        .nacks()
                                        .containsKey(Resources.V3.LISTENER_TYPE_URL)
                                ? "nack"
                                : "none",
                "none");
    }

    @Test
    void eachNodeGetsItsOwnResourcesAndAReconnectGetsTheSameVersion() throws Exception {
        start();
        TestAds sidecar =
                ads(
                        TestIdentities.PRODUCTPAGE,
                        Node.newBuilder()
                                .setId(PRODUCTPAGE_NODE)
                                .setMetadata(
                                        Struct.newBuilder()
                                                .putFields(
                                                        "LABELS",
                                                        Value.newBuilder()
                                                                .setStructValue(
                                                                        Struct.newBuilder()
                                                                                .putFields(
                                                                                        "app",
                                                                                        Value
                                                                                                .newBuilder()
                                                                                                .setStringValue(
                                                                                                        "productpage")
                                                                                                .build()))
                                                                .build())
                                                .putFields(
                                                        "MITHRIL_INBOUND",
                                                        Value.newBuilder()
                                                                .setStringValue("9080=19080")
                                                                .build()))
                                .build());
        DiscoveryResponse lds = sidecar.request(Resources.V3.LISTENER_TYPE_URL, "", "", List.of());
        List<Listener> listeners = new ArrayList<>();
        for (var any : lds.getResourcesList()) {
            listeners.add(any.unpack(Listener.class));
        }
        assertThat(listeners)
                .extracting(x -> x.getAddress().getSocketAddress().getPortValue())
                .contains(9080)
                .doesNotContain(8080);
        TestAds gw = gateway();
        DiscoveryResponse gwLds = gw.request(Resources.V3.LISTENER_TYPE_URL, "", "", List.of());
        assertThat(gwLds.getVersionInfo()).isNotEqualTo(lds.getVersionInfo());
        assertThat(cp.xds().connectedNodes())
                .containsExactlyInAnyOrder(PRODUCTPAGE_NODE, GATEWAY_NODE);

        sidecar.close();
        await(() -> String.valueOf(cp.xds().connectedNodes().contains(PRODUCTPAGE_NODE)), "false");
        TestAds again = ads(TestIdentities.PRODUCTPAGE, sidecar.node);
        assertThat(
                        again.request(Resources.V3.LISTENER_TYPE_URL, "", "", List.of())
                                .getVersionInfo())
                .isEqualTo(lds.getVersionInfo());
    }

    @Test
    void aNodeMayOnlyClaimTheNamespaceOfItsSvid() throws Exception {
        start();
        TestAds wrong = ads(TestIdentities.GATEWAY, node(PRODUCTPAGE_NODE, "app", "productpage"));
        wrong.requests.onNext(
                DiscoveryRequest.newBuilder()
                        .setNode(wrong.node)
                        .setTypeUrl(Resources.V3.CLUSTER_TYPE_URL)
                        .build());
        Status s = wrong.errors.poll(10, TimeUnit.SECONDS);
        assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(s.getDescription()).contains("may not claim namespace \"default\"");
        assertThat(wrong.responses).isEmpty();

        TestAds bad = ads(TestIdentities.GATEWAY, node("ingress-1"));
        bad.requests.onNext(
                DiscoveryRequest.newBuilder()
                        .setNode(bad.node)
                        .setTypeUrl(Resources.V3.CLUSTER_TYPE_URL)
                        .build());
        Status b = bad.errors.poll(10, TimeUnit.SECONDS);
        assertThat(b.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(b.getDescription()).contains("Istio's form");
        assertThat(cp.xds().connectedNodes()).isEmpty();
    }

    @Test
    void adminConfigDumpListsNodesAndShowsResourcesAsEnvoyDoes() throws Exception {
        start();
        AdminServer admin =
                AdminServer.start(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        cp::status,
                        cp.xds());
        toClose.add(admin);
        TestAds ads = gateway();
        ads.ack(ads.request(Resources.V3.CLUSTER_TYPE_URL, "", "", List.of()));
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + admin.port() + "/debug/config_dump";
        String nodes =
                http.send(
                                HttpRequest.newBuilder(URI.create(base)).build(),
                                HttpResponse.BodyHandlers.ofString())
                        .body();
        assertThat(nodes).contains(GATEWAY_NODE);
        HttpResponse<String> dump =
                http.send(
                        HttpRequest.newBuilder(
                                        URI.create(
                                                base
                                                        + "?node="
                                                        + java.net.URLEncoder.encode(
                                                                GATEWAY_NODE,
                                                                java.nio.charset.StandardCharsets
                                                                        .UTF_8)))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(dump.statusCode()).isEqualTo(200);
        assertThat(dump.body())
                .contains(
                        "\"@type\": \"type.googleapis.com/envoy.admin.v3.ClustersConfigDump\"",
                        "\"dynamic_active_clusters\"",
                        "\"@type\": \"type.googleapis.com/envoy.config.listener.v3.Listener\"",
                        "\"sds_config\"",
                        "\"ROOTCA\"",
                        "spiffe://example.org/ns/default/sa/bookinfo-productpage");
        var parsed = io.envoyproxy.envoy.admin.v3.ConfigDump.newBuilder();
        com.google.protobuf.util.JsonFormat.parser()
                .usingTypeRegistry(XdsConfigDump.TYPES)
                .merge(dump.body(), parsed);
        assertThat(parsed.getConfigsCount()).isEqualTo(4);
        assertThat(
                        http.send(
                                        HttpRequest.newBuilder(URI.create(base + "?node=nope"))
                                                .build(),
                                        HttpResponse.BodyHandlers.ofString())
                                .statusCode())
                .isEqualTo(404);
    }

    @Test
    void twoStreamsClaimingOneNodeIdAreEachServedOnTheirOwn() throws Exception {
        // As istiod keys proxies by connection: a second stream with the same node ID (here
        // another gateway account, with other labels) neither takes over the first one's snapshot
        // nor its ACKs, and the first keeps getting its own changes after the second is gone.
        start();
        TestAds first = gateway().follow();
        await(() -> String.valueOf(first.listenerPorts()), "[8080]");
        SpiffeId other = SpiffeId.parse("spiffe://example.org/ns/istio-system/sa/gw-2");
        TestAds second = ads(other, node(GATEWAY_NODE, "istio", "egressgateway")).follow();
        await(
                () -> String.valueOf(second.applied.containsKey(Resources.V3.LISTENER_TYPE_URL)),
                "true");
        assertThat(second.listenerPorts()).isEmpty();
        await(
                () ->
                        String.valueOf(
                                cp.status().proxies().stream()
                                        .filter(p -> p.state().equals("SYNCED"))
                                        .count()),
                "2");
        assertThat(cp.status().proxies())
                .extracting(ProxyStatus::nodeId)
                .containsExactly(GATEWAY_NODE, GATEWAY_NODE);
        assertThat(cp.status().proxies())
                .extracting(ProxyStatus::spiffeId)
                .containsExactlyInAnyOrder(TestIdentities.GATEWAY.toString(), other.toString());
        assertThat(cp.xds().connectedNodes()).containsExactly(GATEWAY_NODE);

        cp.serve(withGatewayPort(8443));
        await(() -> String.valueOf(first.listenerPorts()), "[8080, 8443]");
        second.close();
        await(() -> String.valueOf(cp.status().proxies().size()), "1");
        assertThat(cp.status().proxies().get(0).spiffeId())
                .isEqualTo(TestIdentities.GATEWAY.toString());
        cp.serve(withGatewayPort(9443));
        await(() -> String.valueOf(first.listenerPorts()), "[8080, 9443]");
        assertThat(cp.xds().dump(GATEWAY_NODE).spiffeId())
                .isEqualTo(TestIdentities.GATEWAY.toString());
    }

    @Test
    void aSidecarsListenerAndApplicationAddressesComeFromItsNodeMetadata() throws Exception {
        start();
        TestAds sidecar =
                ads(
                                TestIdentities.PRODUCTPAGE,
                                TestAds.node(
                                        PRODUCTPAGE_NODE,
                                        java.util.Map.of(
                                                "MITHRIL_INBOUND",
                                                "10.213.0.4:9080=127.0.0.1:19080",
                                                "MITHRIL_OUTBOUND",
                                                "127.0.0.1:15001"),
                                        "app",
                                        "productpage",
                                        "version",
                                        "v1"))
                        .follow();
        await(
                () -> String.valueOf(sidecar.applied.containsKey(Resources.V3.LISTENER_TYPE_URL)),
                "true");
        List<Listener> listeners =
                TestAds.unpack(sidecar.applied.get(Resources.V3.LISTENER_TYPE_URL), Listener.class);
        assertThat(listeners)
                .extracting(
                        l ->
                                l.getAddress().getSocketAddress().getAddress()
                                        + ":"
                                        + l.getAddress().getSocketAddress().getPortValue())
                .containsExactlyInAnyOrder("10.213.0.4:9080", "127.0.0.1:15001");
        DiscoveryResponse cds = sidecar.applied.get(Resources.V3.CLUSTER_TYPE_URL);
        Cluster inbound =
                TestAds.unpack(cds, Cluster.class).stream()
                        .filter(c -> c.getName().equals("inbound|19080||"))
                        .findFirst()
                        .orElseThrow();
        String app =
                inbound.hasLoadAssignment()
                        ? inbound.getLoadAssignment().toString()
                        : cp.xds().dump(PRODUCTPAGE_NODE).resources().endpoints().stream()
                                .filter(e -> e.getClusterName().equals(inbound.getName()))
                                .findFirst()
                                .orElseThrow()
                                .toString();
        assertThat(app).contains("address: \"127.0.0.1\"").contains("port_value: 19080");

        TestAds bad =
                ads(
                        TestIdentities.PRODUCTPAGE,
                        TestAds.node(
                                PRODUCTPAGE_NODE.replace("productpage-v1", "bad"),
                                java.util.Map.of("MITHRIL_INBOUND", "pod:9080=19080")));
        bad.send(Resources.V3.CLUSTER_TYPE_URL, "", "", List.of());
        Status s = bad.errors.poll(10, TimeUnit.SECONDS);
        assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(s.getDescription())
                .contains("MITHRIL_INBOUND \"pod:9080=19080\"")
                .contains("\"pod\" is not an IP address");
    }

    ConfigSet withGatewayPort(int port) {
        List<MeshDocument> docs = new ArrayList<>(seed().documents());
        String extra =
                """
                apiVersion: networking.istio.io/v1alpha3
                kind: Gateway
                metadata:
                  name: extra
                  namespace: default
                spec:
                  selector:
                    istio: ingressgateway
                  servers:
                    - port: {number: %d, name: http-extra, protocol: HTTP}
                      hosts: ["*"]
                """
                        .formatted(port);
        try {
            docs.addAll(MeshDocuments.parse("extra.yaml", extra));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return ConfigSet.of(docs, Instant.now());
    }

    static void await(java.util.function.Supplier<String> actual, String expected)
            throws InterruptedException {
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertThat(actual.get()).isEqualTo(expected));
    }
}
