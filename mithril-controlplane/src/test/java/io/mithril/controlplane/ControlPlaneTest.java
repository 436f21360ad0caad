package io.mithril.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.mithril.spiffe.bundle.BundleSource;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.svid.IdentitySource;
import io.mithril.spiffe.svid.X509Svid;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control plane as it runs: a watched directory, the admin endpoint, and proxies on ADS streams
 * ({@link TestAds}) over mTLS with SVIDs minted for the test.
 */
class ControlPlaneTest {

    static final Duration AWAIT = Duration.ofSeconds(15);
    static final String GATEWAY_NODE =
            "router~127.0.0.1~gw-1.istio-system~istio-system.svc.cluster.local";

    @TempDir Path dir;

    final TestIdentities exampleOrg = new TestIdentities("example.org");
    final TestIdentities otherOrg = new TestIdentities("other.org");
    final List<AutoCloseable> toClose = new ArrayList<>();
    int ingressPort;
    int egressPort;

    /** A running control plane: server, watcher, admin endpoint. */
    record Running(ControlPlane controlPlane, ConfigWatcher watcher, AdminServer admin)
            implements AutoCloseable {
        @Override
        public void close() {
            watcher.close();
            admin.close();
            controlPlane.close();
        }
    }

    @BeforeEach
    void writeConfig() throws IOException {
        ingressPort = MeshFixture.freePort();
        egressPort = MeshFixture.freePort();
        MeshFixture.write(
                dir.resolve("gateways.yaml"),
                MeshFixture.gateways(ingressPort, egressPort, "/productpage"));
        MeshFixture.write(dir.resolve("services.yaml"), MeshFixture.SERVICES);
        MeshFixture.write(dir.resolve("policies.yaml"), MeshFixture.POLICIES);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    Running startControlPlane(IdentitySource identity, int port) throws IOException {
        ControlPlane cp = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (cp == null) {
            try {
                cp =
                        ControlPlane.start(
                                new InetSocketAddress(InetAddress.getLoopbackAddress(), port),
                                identity,
                                exampleOrg.trustDomain,
                                dir.toString());
            } catch (IOException e) {
                // Restarting on the same port: the old socket may linger for a moment.
                if (port == 0
                        || System.nanoTime() > deadline
                        || !(e.getCause() instanceof BindException || e instanceof BindException)) {
                    throw e;
                }
                sleep(100);
            }
        }
        AdminServer admin =
                AdminServer.start(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        cp::status,
                        cp.xds());
        ConfigWatcher watcher = ConfigWatcher.start(dir, new IstioValidator(), cp);
        Running r = new Running(cp, watcher, admin);
        toClose.add(r);
        return r;
    }

    Running startControlPlane() throws IOException {
        return startControlPlane(exampleOrg.identity(TestIdentities.ISTIOD), 0);
    }

    TestAds connect(Running cp, IdentitySource identity, SpiffeId expected, Node node)
            throws IOException {
        TestAds ads = new TestAds(cp.controlPlane().port(), identity, expected, node);
        toClose.add(ads);
        return ads;
    }

    TestAds gateway(Running cp) throws IOException {
        return connect(
                cp,
                exampleOrg.identity(TestIdentities.GATEWAY),
                TestIdentities.ISTIOD,
                TestAds.node(GATEWAY_NODE, Map.of(), "istio", "ingressgateway"));
    }

    static void await(String what, BooleanSupplier condition) {
        Awaitility.await(what)
                .atMost(AWAIT)
                .pollInterval(Duration.ofMillis(20))
                .until(condition::getAsBoolean);
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static ProxyStatus onlyProxy(Running cp) {
        List<ProxyStatus> proxies = cp.controlPlane().status().proxies();
        assertThat(proxies).hasSize(1);
        return proxies.get(0);
    }

    static boolean synced(Running cp) {
        List<ProxyStatus> p = cp.controlPlane().status().proxies();
        return p.size() == 1
                && p.get(0).state().equals("SYNCED")
                && p.get(0).sent().containsKey("RDS");
    }

    /**
     * The ADS stream's first request must first reach the server: a refusal comes as the stream's
     * error.
     */
    static Status refusal(TestAds ads) throws InterruptedException {
        ads.send(Resources.V3.CLUSTER_TYPE_URL, "", "", List.of());
        Status s = ads.errors.poll(AWAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(s).as("the stream's refusal").isNotNull();
        return s;
    }

    @Test
    void gatewayIsServedItsListenersRoutesAndClustersAndStatusShowsItSynced() throws Exception {
        Running cp = startControlPlane();
        TestAds gw = gateway(cp).follow();

        await("the gateway's routes", () -> gw.routes().contains("/productpage"));
        assertThat(gw.listenerPorts()).containsExactly(ingressPort); // not the egress gateway's
        assertThat(gw.clusters()).contains("outbound|9080||productpage.default.svc.cluster.local");
        await("SYNCED", () -> synced(cp));
        ProxyStatus st = onlyProxy(cp);
        assertThat(st.spiffeId()).isEqualTo(TestIdentities.GATEWAY.toString());
        assertThat(st.kind()).isEqualTo("gateway");
        assertThat(st.name()).isEqualTo("gw-1.istio-system");
        assertThat(st.labels()).isEqualTo(Map.of("istio", "ingressgateway"));
        assertThat(st.peerAddress()).contains("127.0.0.1");
        assertThat(st.acked().get("LDS"))
                .isEqualTo(gw.applied.get(Resources.V3.LISTENER_TYPE_URL).getVersionInfo());
    }

    @Test
    void fileChangeIsPushedToEveryConnectedProxy() throws Exception {
        Running cp = startControlPlane();
        TestAds first = gateway(cp).follow();
        // Another gateway replica, with its own account and node.
        TestAds second =
                connect(
                                cp,
                                exampleOrg.identity(
                                        SpiffeId.parse(
                                                "spiffe://example.org/ns/istio-system/sa/gw-2")),
                                TestIdentities.ISTIOD,
                                TestAds.node(
                                        GATEWAY_NODE.replace("gw-1", "gw-2"),
                                        Map.of(),
                                        "istio",
                                        "ingressgateway"))
                        .follow();
        await(
                "both routes",
                () ->
                        first.routes().contains("/productpage")
                                && second.routes().contains("/productpage"));
        String v1 = first.applied.get(Resources.V3.ROUTE_TYPE_URL).getVersionInfo();

        MeshFixture.write(
                dir.resolve("gateways.yaml"),
                MeshFixture.gateways(ingressPort, egressPort, "/api/v1/products"));

        await(
                "the pushed routes",
                () ->
                        first.routes().contains("/api/v1/products")
                                && second.routes().contains("/api/v1/products"));
        assertThat(first.routes()).doesNotContain("/productpage");
        assertThat(first.applied.get(Resources.V3.ROUTE_TYPE_URL).getVersionInfo())
                .isNotEqualTo(v1)
                .isEqualTo(second.applied.get(Resources.V3.ROUTE_TYPE_URL).getVersionInfo());
    }

    @Test
    void changeThatDoesNotConcernAProxyDoesNotResendItsTypes() throws Exception {
        Running cp = startControlPlane();
        TestAds gw = gateway(cp).follow();
        await("SYNCED", () -> synced(cp));
        String before = cp.controlPlane().current().version();
        gw.responses.clear();

        // An AuthorizationPolicy for the ratings workload: a new config version, nothing for the
        // ingress gateway.
        MeshFixture.write(
                dir.resolve("policies.yaml"), MeshFixture.POLICIES.replace("DELETE", "PUT"));
        await("the new version", () -> !cp.controlPlane().current().version().equals(before));
        assertThat(gw.responses.poll(700, TimeUnit.MILLISECONDS)).isNull();
        // Then a change that concerns it: its routes are resent.
        MeshFixture.write(
                dir.resolve("gateways.yaml"),
                MeshFixture.gateways(ingressPort, egressPort, "/static"));
        DiscoveryResponse rds = gw.next(Resources.V3.ROUTE_TYPE_URL);
        assertThat(rds).isNotNull();
        assertThat(rds.toString()).contains("/static");
    }

    @Test
    void invalidChangeIsRejectedAndNothingIsPushed() throws Exception {
        Running cp = startControlPlane();
        TestAds gw = gateway(cp).follow();
        await("SYNCED", () -> synced(cp));
        String served = cp.controlPlane().current().version();
        gw.responses.clear();

        // A destination host with a space: valid YAML, but the mesh validator refuses it.
        MeshFixture.write(
                dir.resolve("gateways.yaml"),
                MeshFixture.gateways(ingressPort, egressPort, "/productpage")
                        .replace(
                                "host: productpage.default.svc.cluster.local",
                                "host: product page"));

        await("the rejection", () -> !cp.controlPlane().status().rejectedErrors().isEmpty());
        ControlPlaneStatus st = cp.controlPlane().status();
        assertThat(st.configVersion()).isEqualTo(served);
        assertThat(String.join("\n", st.rejectedErrors()))
                .contains("gateways.yaml")
                .contains("VirtualService default/bookinfo")
                .contains("product page");
        assertThat(StatusTable.format(st))
                .contains("Last change REJECTED")
                .contains("product page");
        assertThat(gw.responses.poll(500, TimeUnit.MILLISECONDS)).isNull();
        // A valid change made after the bad one is what comes next: the bad one was never sent.
        MeshFixture.write(
                dir.resolve("gateways.yaml"),
                MeshFixture.gateways(ingressPort, egressPort, "/fixed"));
        await("the fixed routes", () -> gw.routes().contains("/fixed"));
        assertThat(gw.routes()).doesNotContain("product page");
        await(
                "the rejection to clear",
                () -> cp.controlPlane().status().rejectedErrors().isEmpty());
    }

    @Test
    void nackIsRecordedAndShownByStatusAndTheAdminEndpoint() throws Exception {
        Running cp = startControlPlane();
        int taken = MeshFixture.freePort();
        // The proxy refuses any listener on port "taken", as one that cannot bind it would.
        TestAds gw =
                gateway(cp)
                        .follow(
                                r ->
                                        r.getTypeUrl().equals(Resources.V3.LISTENER_TYPE_URL)
                                                        && TestAds.unpack(r, Listener.class)
                                                                .stream()
                                                                .anyMatch(
                                                                        l ->
                                                                                l.getAddress()
                                                                                                .getSocketAddress()
                                                                                                .getPortValue()
                                                                                        == taken)
                                                ? "listener 0.0.0.0_"
                                                        + taken
                                                        + ": cannot bind port "
                                                        + taken
                                                        + ": Address already in use"
                                                : null);
        await("SYNCED", () -> synced(cp));
        String good = onlyProxy(cp).acked().get("LDS");

        MeshFixture.write(
                dir.resolve("gateways.yaml"),
                MeshFixture.gateways(taken, egressPort, "/productpage"));
        await("the NACK", () -> onlyProxy(cp).nacks().containsKey("LDS"));

        ProxyStatus st = onlyProxy(cp);
        assertThat(st.state()).isEqualTo("NACKED");
        assertThat(st.state("LDS")).isEqualTo("NACKED");
        assertThat(st.acked().get("LDS")).isEqualTo(good);
        String bad = st.sent().get("LDS");
        assertThat(bad).isNotEqualTo(good);
        assertThat(st.nacks().get("LDS"))
                .isEqualTo(
                        "version "
                                + bad
                                + ": listener 0.0.0.0_"
                                + taken
                                + ": cannot bind port "
                                + taken
                                + ": Address already in use");
        assertThat(gw.listenerPorts()).containsExactly(ingressPort);

        HttpResponse<String> syncz =
                HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(
                                                URI.create(
                                                        "http://127.0.0.1:"
                                                                + cp.admin().port()
                                                                + "/debug/syncz"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
        assertThat(syncz.statusCode()).isEqualTo(200);
        ControlPlaneStatus fromAdmin =
                AdminServer.JSON.readValue(syncz.body(), ControlPlaneStatus.class);
        String table = StatusTable.format(fromAdmin);
        assertThat(table)
                .containsPattern(
                        "gw-1.istio-system +"
                                + TestIdentities.GATEWAY
                                + " +gateway +istio-system +NACKED +SYNCED +NACKED")
                .contains(
                        "LDS NACK from "
                                + TestIdentities.GATEWAY
                                + " ("
                                + GATEWAY_NODE
                                + ") for version "
                                + bad
                                + ": listener 0.0.0.0_"
                                + taken
                                + ": cannot bind port "
                                + taken);
    }

    @Test
    void proxyWithoutSvidIsRefused() throws Exception {
        Running cp = startControlPlane();
        IdentitySource noSvid =
                new IdentitySource() {
                    @Override
                    public X509Svid svid() {
                        return null;
                    }

                    @Override
                    public BundleSource<X509Bundle> bundles() {
                        return X509BundleSet.of(exampleOrg.bundle());
                    }
                };
        TestAds ads =
                connect(
                        cp,
                        noSvid,
                        TestIdentities.ISTIOD,
                        TestAds.node(GATEWAY_NODE, Map.of(), "istio", "ingressgateway"));

        Status s = refusal(ads);
        assertThat(s.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(s.getDescription())
                .contains("an X509-SVID of trust domain example.org is required");
        assertThat(ads.responses).isEmpty();
        assertThat(cp.controlPlane().status().proxies()).isEmpty();
    }

    @Test
    void proxyWithSvidOfAnotherTrustDomainIsRefused() throws Exception {
        // The control plane even holds other.org's bundle (federation): the SVID validates, but
        // other.org is not the control plane's trust domain.
        Running cp =
                startControlPlane(
                        IdentitySource.of(
                                exampleOrg.svid(TestIdentities.ISTIOD),
                                X509BundleSet.of(exampleOrg.bundle(), otherOrg.bundle())),
                        0);
        IdentitySource foreign =
                otherOrg.identity(
                        SpiffeId.parse("spiffe://other.org/ns/istio-system/sa/gw"),
                        otherOrg.bundle(),
                        exampleOrg.bundle());
        TestAds ads =
                connect(
                        cp,
                        foreign,
                        TestIdentities.ISTIOD,
                        TestAds.node(GATEWAY_NODE, Map.of(), "istio", "ingressgateway"));

        Status s = refusal(ads);
        assertThat(s.getCode()).isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED);
        assertThat(ads.responses).isEmpty();
        assertThat(cp.controlPlane().status().proxies()).isEmpty();
    }

    /** The lines {@code type} logs while open. */
    static final class CapturedLog implements AutoCloseable {
        private final ch.qos.logback.classic.Logger logger;
        private final ch.qos.logback.core.read.ListAppender<
                        ch.qos.logback.classic.spi.ILoggingEvent>
                appender = new ch.qos.logback.core.read.ListAppender<>();

        CapturedLog(Class<?> type) {
            logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(type);
            appender.start();
            logger.addAppender(appender);
        }

        List<String> lines() {
            synchronized (appender.list) {
                return appender.list.stream()
                        .map(e -> e.getLevel() + " " + e.getFormattedMessage())
                        .toList();
            }
        }

        @Override
        public void close() {
            logger.detachAppender(appender);
        }
    }

    @Test
    void svidThatIsNotAProxyIdentityIsRefusedAndReceivesNothing() throws Exception {
        // The attack: any SVID of the trust domain (here spiffe://example.org/foo, no /ns/../sa/..)
        // asks for the configuration of a namespace of its choosing.
        Running cp = startControlPlane();
        SpiffeId foo = SpiffeId.parse("spiffe://example.org/foo");
        try (CapturedLog log = new CapturedLog(ControlPlane.class)) {
            for (String node :
                    List.of(
                            GATEWAY_NODE,
                            "sidecar~127.0.0.1~web.default~default.svc.cluster.local")) {
                TestAds ads =
                        connect(
                                cp,
                                exampleOrg.identity(foo),
                                TestIdentities.ISTIOD,
                                TestAds.node(node, Map.of(), "app", "web"));
                Status s = refusal(ads);
                assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                assertThat(s.getDescription())
                        .contains(
                                "SPIFFE ID spiffe://example.org/foo is not a proxy identity: "
                                        + "expected spiffe://example.org/ns/<namespace>/sa/<service account>");
                assertThat(ads.responses.poll(300, TimeUnit.MILLISECONDS)).isNull();
                assertThat(cp.controlPlane().status().proxies()).isEmpty();
            }
            assertThat(log.lines())
                    .anyMatch(
                            l ->
                                    l.startsWith(
                                                    "WARN refused proxy spiffe://example.org/foo from ")
                                            && l.contains("is not a proxy identity"));
        }
    }

    @Test
    void proxyOfNamespaceAClaimingNamespaceCIsRefusedLoggedAndReceivesNothing() throws Exception {
        Running cp = startControlPlane();
        SpiffeId nsA = SpiffeId.parse("spiffe://example.org/ns/a/sa/b");
        try (CapturedLog log = new CapturedLog(io.mithril.controlplane.xds.XdsServer.class)) {
            TestAds ads =
                    connect(
                            cp,
                            exampleOrg.identity(nsA),
                            TestIdentities.ISTIOD,
                            TestAds.node(
                                    "sidecar~127.0.0.1~web.c~c.svc.cluster.local",
                                    Map.of(),
                                    "app",
                                    "web"));
            Status s = refusal(ads);
            assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(s.getDescription())
                    .contains("proxy " + nsA + " may not claim namespace \"c\"")
                    .contains("its SPIFFE ID is in namespace \"a\"");
            assertThat(ads.responses.poll(300, TimeUnit.MILLISECONDS)).isNull();
            assertThat(cp.controlPlane().status().proxies()).isEmpty();
            assertThat(log.lines())
                    .anyMatch(
                            l ->
                                    l.startsWith("WARN refused xDS node from ")
                                            && l.contains(nsA.toString())
                                            && l.contains("may not claim namespace \"c\""));
        }
    }

    @Test
    void proxyOfNamespaceADoesNotReceiveThePrivateServicesOfNamespaceB() throws Exception {
        MeshFixture.write(dir.resolve("namespaces.yaml"), MeshFixture.NAMESPACES_A_AND_B);
        Running cp = startControlPlane();
        await(
                "the new files",
                () ->
                        cp.controlPlane().current().documents().stream()
                                .anyMatch(d -> d.namespace().equals("b")));

        TestAds inA =
                connect(
                                cp,
                                exampleOrg.identity(
                                        SpiffeId.parse("spiffe://example.org/ns/a/sa/web")),
                                TestIdentities.ISTIOD,
                                TestAds.node(
                                        "sidecar~127.0.0.1~web.a~a.svc.cluster.local",
                                        Map.of("MITHRIL_OUTBOUND", "127.0.0.1:15001"),
                                        "app",
                                        "web"))
                        .follow();
        await("a's clusters", () -> !inA.clusters().isEmpty());
        assertThat(String.join(" ", inA.clusters()))
                .contains("shared.b.svc.cluster.local")
                .doesNotContain("secret.b.svc.cluster.local");

        TestAds inB =
                connect(
                                cp,
                                exampleOrg.identity(
                                        SpiffeId.parse("spiffe://example.org/ns/b/sa/web")),
                                TestIdentities.ISTIOD,
                                TestAds.node(
                                        "sidecar~127.0.0.1~web.b~b.svc.cluster.local",
                                        Map.of("MITHRIL_OUTBOUND", "127.0.0.1:15001"),
                                        "app",
                                        "web"))
                        .follow();
        await("b's clusters", () -> !inB.clusters().isEmpty());
        assertThat(String.join(" ", inB.clusters()))
                .contains("secret.b.svc.cluster.local")
                .contains("shared.b.svc.cluster.local");
    }

    @Test
    void impostorControlPlaneIsRefusedByTheProxy() throws Exception {
        SpiffeId impostor = SpiffeId.parse("spiffe://example.org/ns/default/sa/impostor");
        Running cp = startControlPlane(exampleOrg.identity(impostor), 0);
        TestAds ads = gateway(cp);

        Status s = refusal(ads);
        assertThat(s.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(String.valueOf(s.getCause()))
                .contains(impostor.toString())
                .contains(TestIdentities.ISTIOD.toString());
        assertThat(ads.responses).isEmpty();
        assertThat(cp.controlPlane().status().proxies()).isEmpty();
    }

    /**
     * A gateway that got its configuration from {@code cp}, which is then stopped (its stream
     * ended).
     */
    TestAds syncedGatewayOfAStoppedControlPlane(Running cp) throws Exception {
        TestAds gw = gateway(cp).follow();
        await("SYNCED", () -> synced(cp));
        cp.close();
        toClose.remove(cp);
        assertThat(gw.errors.poll(AWAIT.toSeconds(), TimeUnit.SECONDS))
                .as("the stream's end")
                .isNotNull();
        return gw;
    }

    @Test
    void restartedControlPlaneServesTheCurrentStateOnANewStream() throws Exception {
        Running cp = startControlPlane();
        int port = cp.controlPlane().port();
        TestAds gw = syncedGatewayOfAStoppedControlPlane(cp);
        String rds = gw.applied.get(Resources.V3.ROUTE_TYPE_URL).getVersionInfo();
        MeshFixture.write(
                dir.resolve("gateways.yaml"),
                MeshFixture.gateways(ingressPort, egressPort, "/while-down"));

        Running restarted = startControlPlane(exampleOrg.identity(TestIdentities.ISTIOD), port);
        // A reconnecting proxy sends the versions it has; what changed meanwhile is sent.
        TestAds again = gateway(restarted);
        again.applied.putAll(gw.applied);
        for (DiscoveryResponse r : List.copyOf(gw.applied.values())) {
            again.send(r.getTypeUrl(), r.getVersionInfo(), "", List.of());
        }
        DiscoveryResponse resent = again.next(Resources.V3.ROUTE_TYPE_URL);
        assertThat(resent).isNotNull();
        assertThat(resent.toString()).contains("/while-down");
        assertThat(resent.getVersionInfo()).isNotEqualTo(rds);
    }

    @Test
    void restartedControlPlaneWithUnchangedFilesConfirmsTheVersionsInForceAndStatusShowsSynced()
            throws Exception {
        Running cp = startControlPlane();
        int port = cp.controlPlane().port();
        TestAds gw = syncedGatewayOfAStoppedControlPlane(cp);

        Running restarted = startControlPlane(exampleOrg.identity(TestIdentities.ISTIOD), port);
        // Envoy's reconnection: each subscription again with the version it holds and no nonce.
        TestAds again = gateway(restarted);
        for (DiscoveryResponse held : List.copyOf(gw.applied.values())) {
            List<String> names =
                    held.getTypeUrl().equals(Resources.V3.ROUTE_TYPE_URL)
                            ? TestAds.unpack(
                                            held,
                                            io.envoyproxy.envoy.config.route.v3.RouteConfiguration
                                                    .class)
                                    .stream()
                                    .map(
                                            io.envoyproxy.envoy.config.route.v3.RouteConfiguration
                                                    ::getName)
                                    .toList()
                            : List.of();
            DiscoveryResponse answer =
                    again.request(held.getTypeUrl(), held.getVersionInfo(), "", names);
            assertThat(answer)
                    .as("an answer to the first %s request of the stream", held.getTypeUrl())
                    .isNotNull();
            assertThat(answer.getVersionInfo()).isEqualTo(held.getVersionInfo());
            again.ack(answer);
        }
        await("SYNCED with the restarted control plane", () -> synced(restarted));
    }

    @Test
    void invalidFilesAtStartupServeNothingUntilFixed() throws Exception {
        Files.writeString(
                dir.resolve("broken.yaml"),
                "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: x}\nspec: [\n");
        Running cp = startControlPlane();
        assertThat(cp.controlPlane().status().rejectedErrors())
                .isNotEmpty()
                .allMatch(e -> e.contains("broken.yaml"));
        assertThat(cp.controlPlane().current().documents()).isEmpty();

        Files.delete(dir.resolve("broken.yaml"));
        await("the fixed set", () -> cp.controlPlane().current().documents().size() == 9);
    }
}
