package io.mithril.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.mesh.config.ProxyNode;
import io.mithril.spiffe.bundle.BundleSource;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.svid.X509Svid;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControlPlaneTest {

    static final Duration AWAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;

    final TestIdentities exampleOrg = new TestIdentities("example.org");
    final TestIdentities otherOrg = new TestIdentities("other.org");
    final List<AutoCloseable> toClose = new ArrayList<>();
    int ingressPort;
    int egressPort;

    /** A running control plane: server, watcher, admin endpoint. */
    record Running(ControlPlane controlPlane, ConfigWatcher watcher, AdminServer admin) implements AutoCloseable {
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
        MeshFixture.write(dir.resolve("gateways.yaml"), MeshFixture.gateways(ingressPort, egressPort, "/productpage"));
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
                cp = ControlPlane.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), identity,
                        exampleOrg.trustDomain, dir.toString());
            } catch (IOException e) {
                // Restarting on the same port: the old socket may linger for a moment.
                if (port == 0 || System.nanoTime() > deadline || !(e.getCause() instanceof BindException || e instanceof BindException)) {
                    throw e;
                }
                sleep(100);
            }
        }
        AdminServer admin = AdminServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), cp::status);
        ConfigWatcher watcher = ConfigWatcher.start(dir, new IstioValidator(), cp);
        Running r = new Running(cp, watcher, admin);
        toClose.add(r);
        return r;
    }

    Running startControlPlane() throws IOException {
        return startControlPlane(exampleOrg.identity(TestIdentities.ISTIOD), 0);
    }

    TestProxy ingressProxy() {
        TestProxy p = new TestProxy(ProxyNode.gateway("istio-system", Map.of("istio", "ingressgateway"), "example.org"));
        toClose.add(p);
        return p;
    }

    ControlPlaneClient connect(int port, IdentitySource identity, SpiffeId expected, TestProxy proxy) throws IOException {
        ControlPlaneClient c = ControlPlaneClient.start("127.0.0.1:" + port, expected, identity,
                new ControlPlaneClient.Node(ProxyInfo.Kind.GATEWAY, "istio-system", Map.of("istio", "ingressgateway"), "gw-1"),
                proxy);
        toClose.add(c);
        return c;
    }

    ControlPlaneClient connectGateway(Running cp, TestProxy proxy) throws IOException {
        return connect(cp.controlPlane().port(), exampleOrg.identity(TestIdentities.GATEWAY), TestIdentities.ISTIOD, proxy);
    }

    static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + AWAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            sleep(20);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static ControlPlaneClient.ConfigSnapshot next(TestProxy proxy) throws InterruptedException {
        ControlPlaneClient.ConfigSnapshot s = proxy.received.poll(AWAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(s).as("a snapshot from the control plane").isNotNull();
        return s;
    }

    static ProxyStatus onlyProxy(Running cp) {
        List<ProxyStatus> proxies = cp.controlPlane().status().proxies();
        assertThat(proxies).hasSize(1);
        return proxies.get(0);
    }

    static String routePrefix(TestProxy proxy) {
        return proxy.config.routes().values().iterator().next().virtualHosts().get(0).routes().get(0).match().toString();
    }

    @Test
    void gatewayReceivesItsFilteredSnapshotAndAcks() throws Exception {
        Running cp = startControlPlane();
        TestProxy proxy = ingressProxy();
        connectGateway(cp, proxy);

        ControlPlaneClient.ConfigSnapshot snap = next(proxy);
        assertThat(snap.resources()).extracting(r -> r.kind() + " " + r.namespace() + "/" + r.name()).containsExactly(
                "Gateway istio-system/bookinfo-gateway",
                "VirtualService default/bookinfo",
                "PeerAuthentication istio-system/default", // policies.yaml comes before services.yaml
                "ServiceEntry default/productpage",
                "DestinationRule default/productpage");
        await("the apply", () -> proxy.config != null);
        assertThat(proxy.config.listeners()).extracting(l -> l.port()).containsExactly(ingressPort);

        await("the ACK", () -> cp.controlPlane().status().proxies().size() == 1
                && onlyProxy(cp).ackedVersion().equals(snap.version()));
        ProxyStatus st = onlyProxy(cp);
        assertThat(st.spiffeId()).isEqualTo(TestIdentities.GATEWAY.toString());
        assertThat(st.kind()).isEqualTo("gateway");
        assertThat(st.nodeName()).isEqualTo("gw-1");
        assertThat(st.state()).isEqualTo("SYNCED");
    }

    @Test
    void fileChangeIsPushedToConnectedProxies() throws Exception {
        Running cp = startControlPlane();
        TestProxy first = ingressProxy();
        TestProxy second = new TestProxy(ProxyNode.gateway("istio-system", Map.of("istio", "ingressgateway"), "example.org"),
                false); // another gateway replica: on another machine it would bind the same port
        toClose.add(second);
        connectGateway(cp, first);
        connect(cp.controlPlane().port(), exampleOrg.identity(SpiffeId.parse("spiffe://example.org/ns/istio-system/sa/gw-2")),
                TestIdentities.ISTIOD, second);
        String v1 = next(first).version();
        next(second);

        MeshFixture.write(dir.resolve("gateways.yaml"), MeshFixture.gateways(ingressPort, egressPort, "/api/v1/products"));

        ControlPlaneClient.ConfigSnapshot pushed = next(first);
        assertThat(pushed.version()).isNotEqualTo(v1);
        assertThat(pushed.yaml()).contains("/api/v1/products").doesNotContain("/productpage");
        assertThat(next(second).version()).isEqualTo(pushed.version());
        await("the apply", () -> first.applied.size() == 2);
    }

    @Test
    void changeThatDoesNotConcernAProxyIsNotPushedToIt() throws Exception {
        Running cp = startControlPlane();
        TestProxy proxy = ingressProxy();
        connectGateway(cp, proxy);
        next(proxy);
        String before = cp.controlPlane().current().version();

        // An AuthorizationPolicy for the ratings workload: a new config version, nothing for the ingress gateway.
        MeshFixture.write(dir.resolve("policies.yaml"), MeshFixture.POLICIES.replace("DELETE", "PUT"));
        await("the new version", () -> !cp.controlPlane().current().version().equals(before));
        // Then a change that concerns it: it must be the next snapshot the proxy sees.
        MeshFixture.write(dir.resolve("gateways.yaml"), MeshFixture.gateways(ingressPort, egressPort, "/static"));
        assertThat(next(proxy).yaml()).contains("/static");
    }

    @Test
    void invalidChangeIsRejectedAndNothingIsPushed() throws Exception {
        Running cp = startControlPlane();
        TestProxy proxy = ingressProxy();
        connectGateway(cp, proxy);
        String good = next(proxy).version();
        String served = cp.controlPlane().current().version();

        // A destination host with a space: valid YAML, but the mesh validator refuses it.
        MeshFixture.write(dir.resolve("gateways.yaml"), MeshFixture.gateways(ingressPort, egressPort, "/productpage")
                .replace("host: productpage.default.svc.cluster.local", "host: product page"));

        await("the rejection", () -> !cp.controlPlane().status().rejectedErrors().isEmpty());
        ControlPlaneStatus st = cp.controlPlane().status();
        assertThat(st.configVersion()).isEqualTo(served);
        assertThat(String.join("\n", st.rejectedErrors())).contains("gateways.yaml").contains("VirtualService default/bookinfo")
                .contains("product page");
        // A valid change made after the bad one is the next snapshot: the bad one was never pushed.
        MeshFixture.write(dir.resolve("gateways.yaml"), MeshFixture.gateways(ingressPort, egressPort, "/fixed"));
        ControlPlaneClient.ConfigSnapshot next = next(proxy);
        assertThat(next.yaml()).contains("/fixed").doesNotContain("product page");
        assertThat(next.version()).isNotEqualTo(good);
        await("the rejection to clear", () -> cp.controlPlane().status().rejectedErrors().isEmpty());
    }

    @Test
    void nackIsRecordedAndShownByStatus() throws Exception {
        Running cp = startControlPlane();
        TestProxy proxy = ingressProxy();
        ControlPlaneClient client = connectGateway(cp, proxy);
        String good = next(proxy).version();
        await("the ACK", () -> onlyProxy(cp).ackedVersion().equals(good));

        // Move the gateway to a port some other process holds: the proxy cannot apply it and NACKs.
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            MeshFixture.write(dir.resolve("gateways.yaml"), MeshFixture.gateways(taken.getLocalPort(), egressPort, "/productpage"));
            String bad = next(proxy).version();
            await("the NACK", () -> onlyProxy(cp).nackVersion().equals(bad));

            ProxyStatus st = onlyProxy(cp);
            assertThat(st.state()).isEqualTo("NACKED");
            assertThat(st.ackedVersion()).isEqualTo(good);
            assertThat(st.nackError()).contains("cannot bind port " + taken.getLocalPort());
            assertThat(client.appliedVersion()).isEqualTo(good);
            assertThat(proxy.config.listeners()).extracting(l -> l.port()).containsExactly(ingressPort);

            HttpResponse<String> syncz = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + cp.admin().port() + "/debug/syncz")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(syncz.statusCode()).isEqualTo(200);
            ControlPlaneStatus fromAdmin = AdminServer.JSON.readValue(syncz.body(), ControlPlaneStatus.class);
            String table = StatusTable.format(fromAdmin);
            assertThat(table).contains(TestIdentities.GATEWAY.toString()).contains("NACKED")
                    .contains("NACK from " + TestIdentities.GATEWAY + " (gw-1) for version " + bad)
                    .contains("cannot bind port " + taken.getLocalPort());
        }
    }

    @Test
    void proxyWithoutSvidIsRefused() throws Exception {
        Running cp = startControlPlane();
        TestProxy proxy = ingressProxy();
        IdentitySource noSvid = new IdentitySource() {
            @Override
            public X509Svid svid() {
                return null;
            }

            @Override
            public BundleSource<X509Bundle> bundles() {
                return X509BundleSet.of(exampleOrg.bundle());
            }
        };
        ControlPlaneClient client = connect(cp.controlPlane().port(), noSvid, TestIdentities.ISTIOD, proxy);

        await("the refusal", () -> client.lastError().contains("UNAUTHENTICATED"));
        assertThat(client.lastError()).contains("an X509-SVID of trust domain example.org is required");
        assertThat(proxy.received.poll(1, TimeUnit.SECONDS)).isNull();
        assertThat(cp.controlPlane().status().proxies()).isEmpty();
        assertThat(client.connected()).isFalse();
    }

    @Test
    void proxyWithSvidOfAnotherTrustDomainIsRefused() throws Exception {
        // The control plane even holds other.org's bundle (federation): the SVID validates, but
        // other.org is not the control plane's trust domain.
        Running cp = startControlPlane(IdentitySource.of(exampleOrg.svid(TestIdentities.ISTIOD),
                X509BundleSet.of(exampleOrg.bundle(), otherOrg.bundle())), 0);
        TestProxy proxy = ingressProxy();
        IdentitySource foreign = otherOrg.identity(SpiffeId.parse("spiffe://other.org/ns/istio-system/sa/gw"),
                otherOrg.bundle(), exampleOrg.bundle());
        ControlPlaneClient client = connect(cp.controlPlane().port(), foreign, TestIdentities.ISTIOD, proxy);

        await("the refusal", () -> !client.lastError().isEmpty());
        assertThat(proxy.received.poll(1, TimeUnit.SECONDS)).isNull();
        assertThat(cp.controlPlane().status().proxies()).isEmpty();
    }

    @Test
    void proxyClaimingAnotherNamespaceThanItsSpiffeIdIsRefused() throws Exception {
        Running cp = startControlPlane();
        TestProxy proxy = ingressProxy();
        ControlPlaneClient client = connect(cp.controlPlane().port(), exampleOrg.identity(TestIdentities.PRODUCTPAGE),
                TestIdentities.ISTIOD, proxy);

        await("the refusal", () -> client.lastError().contains("PERMISSION_DENIED"));
        assertThat(client.lastError()).contains("namespace \"istio-system\"").contains("namespace \"default\"");
        assertThat(proxy.received).isEmpty();
    }

    /** The lines {@link ControlPlane} logs while {@code body} runs (and until it returns). */
    static final class CapturedLog implements AutoCloseable {
        private final ch.qos.logback.classic.Logger logger =
                (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(ControlPlane.class);
        private final ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> appender =
                new ch.qos.logback.core.read.ListAppender<>();

        CapturedLog() {
            appender.start();
            logger.addAppender(appender);
        }

        List<String> lines() {
            synchronized (appender.list) {
                return appender.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
            }
        }

        @Override
        public void close() {
            logger.detachAppender(appender);
        }
    }

    ControlPlaneClient connectSidecar(Running cp, SpiffeId id, String claimedNamespace, TestProxy proxy) throws IOException {
        ControlPlaneClient c = ControlPlaneClient.start("127.0.0.1:" + cp.controlPlane().port(), TestIdentities.ISTIOD,
                exampleOrg.identity(id), new ControlPlaneClient.Node(ProxyInfo.Kind.SIDECAR, claimedNamespace,
                        Map.of("app", "web"), "sidecar-" + claimedNamespace), proxy);
        toClose.add(c);
        return c;
    }

    TestProxy sidecarProxy(String namespace) {
        TestProxy p = new TestProxy(ProxyNode.sidecar(namespace, Map.of("app", "web"), "example.org", List.of(), 0), false);
        toClose.add(p);
        return p;
    }

    @Test
    void svidThatIsNotAProxyIdentityIsRefusedAndReceivesNothing() throws Exception {
        // The attack: any SVID of the trust domain (here spiffe://example.org/foo, no /ns/../sa/..)
        // asks for the configuration of a namespace of its choosing.
        Running cp = startControlPlane();
        SpiffeId foo = SpiffeId.parse("spiffe://example.org/foo");
        try (CapturedLog log = new CapturedLog()) {
            for (String claimed : List.of("istio-system", "default", "")) {
                TestProxy proxy = sidecarProxy(claimed.isEmpty() ? "default" : claimed);
                ControlPlaneClient client = connectSidecar(cp, foo, claimed, proxy);

                await("the refusal", () -> client.lastError().contains("PERMISSION_DENIED"));
                assertThat(client.lastError()).contains("SPIFFE ID spiffe://example.org/foo is not a proxy identity: "
                        + "expected spiffe://example.org/ns/<namespace>/sa/<service account>");
                assertThat(proxy.received.poll(500, TimeUnit.MILLISECONDS)).isNull();
                assertThat(client.appliedVersion()).isEmpty();
                assertThat(cp.controlPlane().status().proxies()).isEmpty();
                client.close();
            }
            assertThat(log.lines()).anyMatch(l -> l.startsWith("WARN refused proxy spiffe://example.org/foo from ")
                    && l.contains("is not a proxy identity"));
        }
    }

    @Test
    void proxyOfNamespaceAClaimingNamespaceCIsRefusedAndReceivesNothing() throws Exception {
        Running cp = startControlPlane();
        SpiffeId nsA = SpiffeId.parse("spiffe://example.org/ns/a/sa/b");
        TestProxy proxy = sidecarProxy("c");
        try (CapturedLog log = new CapturedLog()) {
            ControlPlaneClient client = connectSidecar(cp, nsA, "c", proxy);

            await("the refusal", () -> client.lastError().contains("PERMISSION_DENIED"));
            assertThat(client.lastError()).contains("proxy " + nsA + " may not claim namespace \"c\": its SPIFFE ID is in namespace \"a\"");
            assertThat(proxy.received.poll(500, TimeUnit.MILLISECONDS)).isNull();
            assertThat(cp.controlPlane().status().proxies()).isEmpty();
            assertThat(log.lines()).anyMatch(l -> l.startsWith("WARN refused proxy " + nsA + " from ")
                    && l.contains("may not claim namespace \"c\""));
        }
    }

    @Test
    void proxyOfNamespaceADoesNotReceiveThePrivateResourcesOfNamespaceB() throws Exception {
        MeshFixture.write(dir.resolve("namespaces.yaml"), MeshFixture.NAMESPACES_A_AND_B);
        Running cp = startControlPlane();
        await("the new files", () -> cp.controlPlane().current().documents().stream().anyMatch(d -> d.namespace().equals("b")));

        TestProxy inA = sidecarProxy("a");
        connectSidecar(cp, SpiffeId.parse("spiffe://example.org/ns/a/sa/web"), "a", inA);
        List<String> seenByA = next(inA).resources().stream().map(r -> r.kind() + " " + r.namespace() + "/" + r.name()).toList();
        assertThat(seenByA)
                .contains("VirtualService a/own-private", "ServiceEntry b/public", "WorkloadEntry b/public-1",
                        "DestinationRule b/exported-to-a", "PeerAuthentication istio-system/default")
                .noneMatch(r -> r.contains("b/private"))
                .doesNotContain("DestinationRule b/exported-to-c", "AuthorizationPolicy b/deny-all", "VirtualService b/hidden");

        // A proxy of namespace b sees its own private resources (and not a's).
        TestProxy inB = sidecarProxy("b");
        connectSidecar(cp, SpiffeId.parse("spiffe://example.org/ns/b/sa/web"), "", inB);
        List<String> seenByB = next(inB).resources().stream().map(r -> r.kind() + " " + r.namespace() + "/" + r.name()).toList();
        assertThat(seenByB).contains("VirtualService b/private", "DestinationRule b/private", "ServiceEntry b/private",
                "WorkloadEntry b/private-1", "AuthorizationPolicy b/deny-all").doesNotContain("VirtualService a/own-private",
                "VirtualService b/hidden");
    }

    @Test
    void impostorControlPlaneIsRefusedByTheProxy() throws Exception {
        SpiffeId impostor = SpiffeId.parse("spiffe://example.org/ns/default/sa/impostor");
        Running cp = startControlPlane(exampleOrg.identity(impostor), 0);
        TestProxy proxy = ingressProxy();
        ControlPlaneClient client = connectGateway(cp, proxy);

        await("the refusal", () -> client.lastError().contains(impostor.toString()));
        assertThat(client.lastError()).contains("expected the SPIFFE ID " + TestIdentities.ISTIOD);
        assertThat(proxy.received.poll(1, TimeUnit.SECONDS)).isNull();
        assertThat(cp.controlPlane().status().proxies()).isEmpty();
    }

    @Test
    void restartedControlPlaneResendsCurrentStateToReconnectingProxy() throws Exception {
        Running cp = startControlPlane();
        int port = cp.controlPlane().port();
        TestProxy proxy = ingressProxy();
        ControlPlaneClient client = connectGateway(cp, proxy);
        String v1 = next(proxy).version();

        cp.close();
        toClose.remove(cp);
        await("the proxy to notice", () -> !client.connected());
        assertThat(client.appliedVersion()).isEqualTo(v1); // still serving its last config
        assertThat(proxy.config.listeners()).extracting(l -> l.port()).containsExactly(ingressPort);
        MeshFixture.write(dir.resolve("gateways.yaml"), MeshFixture.gateways(ingressPort, egressPort, "/while-down"));

        Running restarted = startControlPlane(exampleOrg.identity(TestIdentities.ISTIOD), port);
        ControlPlaneClient.ConfigSnapshot resent = next(proxy);
        assertThat(resent.yaml()).contains("/while-down");
        await("the ACK after restart", () -> restarted.controlPlane().status().proxies().size() == 1
                && onlyProxy(restarted).ackedVersion().equals(resent.version()));
        assertThat(client.appliedVersion()).isEqualTo(resent.version());
    }

    @Test
    void restartedControlPlaneWithUnchangedFilesIsAckedWithoutReapplying() throws Exception {
        Running cp = startControlPlane();
        int port = cp.controlPlane().port();
        TestProxy proxy = ingressProxy();
        ControlPlaneClient client = connectGateway(cp, proxy);
        String v1 = next(proxy).version();
        cp.close();
        toClose.remove(cp);
        await("the proxy to notice", () -> !client.connected());

        Running restarted = startControlPlane(exampleOrg.identity(TestIdentities.ISTIOD), port);
        await("the ACK after restart", () -> restarted.controlPlane().status().proxies().size() == 1
                && onlyProxy(restarted).ackedVersion().equals(v1));
        assertThat(proxy.received).isEmpty(); // the handler was not called again for the same version
        assertThat(onlyProxy(restarted).state()).isEqualTo("SYNCED");
    }

    @Test
    void invalidFilesAtStartupServeNothingUntilFixed() throws Exception {
        Files.writeString(dir.resolve("broken.yaml"), "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: x}\nspec: [\n");
        Running cp = startControlPlane();
        assertThat(cp.controlPlane().status().rejectedErrors()).isNotEmpty().allMatch(e -> e.contains("broken.yaml"));
        assertThat(cp.controlPlane().current().documents()).isEmpty();

        Files.delete(dir.resolve("broken.yaml"));
        await("the fixed set", () -> cp.controlPlane().current().documents().size() == 9);
    }
}
