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
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509Svid;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sidecar configured over xDS by the real control plane accepts a peer of a federated trust
 * domain as Istio does with SPIRE: the peer's chain is checked against its own trust domain's
 * bundle (which the agent gives the proxy when its entry federates with that domain), the inbound
 * listener's trust domain validation (the mesh's trust domain and its {@code trustDomainAliases})
 * must list that domain, and AuthorizationPolicy principals name the foreign ID. Real TLS with the
 * real curl; every refusal is an attack performed.
 */
class FederatedPeersOverXdsTest {

    static final String ISTIOD = "spiffe://example.org/ns/istio-system/sa/istiod";
    static final String REMOTE_SLEEP = "spiffe://domain.test/ns/default/sa/sleep";

    static final String POLICY =
            """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: productpage-viewer, namespace: default}
            spec:
              selector: {matchLabels: {app: productpage}}
              action: ALLOW
              rules:
              - from:
                - source:
                    principals: ["domain.test/ns/default/sa/sleep"]
            """;

    final TestPki example = new TestPki("example.org");
    final TestPki domainTest = new TestPki("domain.test");

    /**
     * A productpage sidecar over xDS from a control plane with {@code aliases}; the sidecar holds
     * domain.test's bundle.
     */
    record Mesh(ControlPlane cp, Proxy sidecar, XdsClient xds, TestBackend app)
            implements AutoCloseable {
        int port() {
            return sidecar.listenerAddress(9080).getPort();
        }

        @Override
        public void close() throws Exception {
            for (AutoCloseable c : new AutoCloseable[] {xds, sidecar, cp, app}) {
                c.close();
            }
        }
    }

    Mesh mesh(List<TrustDomain> aliases) throws Exception {
        Identity istiod = example.identity(ISTIOD);
        ControlPlane cp =
                ControlPlane.start(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        io.mithril.spiffe.svid.IdentitySource.of(
                                X509Svid.of(istiod.chain(), istiod.privateKey()),
                                X509BundleSet.of(
                                        X509Bundle.of(example.trustDomain, List.of(example.root)))),
                        example.trustDomain,
                        "test",
                        aliases);
        cp.serve(ConfigSet.of(MeshDocuments.parse("policy.yaml", POLICY), Instant.now()));
        TestBackend app = new TestBackend("productpage");
        ProxyNode node =
                ProxyNode.sidecar(
                        "default",
                        Map.of("app", "productpage", "version", "v1"),
                        "example.org",
                        List.of(new ProxyNode.InboundPort(9080, app.port())),
                        15001);
        // The agent gives the proxy domain.test's bundle: productpage's entry federates with it.
        Map<TrustDomain, List<X509Certificate>> federated =
                Map.of(domainTest.trustDomain, List.of(domainTest.root));
        StaticIdentitySource id =
                new StaticIdentitySource(
                        example.identity(MeshFixture.PRODUCTPAGE_ID, List.of(), federated));
        Proxy sidecar =
                Proxy.start(
                        ProxySettings.of(
                                node,
                                Map.of(
                                        9080,
                                        new InetSocketAddress("127.0.0.1", 0),
                                        15001,
                                        new InetSocketAddress("127.0.0.1", 0)),
                                new InetSocketAddress("127.0.0.1", 0)),
                        id);
        XdsClient xds =
                XdsClient.start(
                        "127.0.0.1:" + cp.port(),
                        SpiffeId.parse(ISTIOD),
                        id,
                        XdsNodes.of(node, "127.0.0.1", "productpage-v1"),
                        node,
                        sidecar::applyCompiled);
        await().atMost(Duration.ofSeconds(20)).until(sidecar::ready);
        return new Mesh(cp, sidecar, xds, app);
    }

    static Processes.Result call(Mesh m, TestPki.Files client) throws Exception {
        // -k: this checks the sidecar's side (which clients it accepts), not the client's.
        return Processes.curl(
                "-k",
                "--cert",
                client.cert().toString(),
                "--key",
                client.key().toString(),
                "https://127.0.0.1:" + m.port() + "/productpage");
    }

    @Test
    void aFederatedPeerIsAcceptedWhenItsTrustDomainIsAnAliasAndItsIdIsAPrincipal(@TempDir Path dir)
            throws Exception {
        TestPki.Files remoteSleep =
                TestPki.write(domainTest.identity(REMOTE_SLEEP), dir, "remote-sleep");
        TestPki.Files remoteOther =
                TestPki.write(
                        domainTest.identity("spiffe://domain.test/ns/default/sa/other"),
                        dir,
                        "remote-other");
        TestPki.Files localSleep =
                TestPki.write(example.identity(MeshFixture.SLEEP_ID), dir, "local-sleep");
        try (Mesh m = mesh(List.of(TrustDomain.parse("domain.test")))) {
            Processes.Result ok = call(m, remoteSleep);
            assertThat(ok.status()).as(ok.err() + ok.out()).isEqualTo(200);
            assertThat(ok.body()).contains("backend=productpage");
            // Accepted in TLS, but the policy names another principal: RBAC's 403.
            assertThat(call(m, remoteOther).status()).isEqualTo(403);
            assertThat(call(m, localSleep).status()).isEqualTo(403);
        }
    }

    @Test
    void withoutTheAliasTheSidecarRefusesTheFederatedPeerInTheHandshake(@TempDir Path dir)
            throws Exception {
        TestPki.Files remoteSleep =
                TestPki.write(domainTest.identity(REMOTE_SLEEP), dir, "remote-sleep");
        try (Mesh m = mesh(List.of())) {
            // The bundle is held, but Istio's trust domain validation lists example.org only.
            assertThat(call(m, remoteSleep).out().strip()).isEqualTo("000");
        }
    }

    @Test
    void aCertificateFromAnUnknownCaClaimingTheFederatedTrustDomainIsRefused(@TempDir Path dir)
            throws Exception {
        // Attack: a CA nobody federates with mints "spiffe://domain.test/ns/default/sa/sleep".
        TestPki impostor = new TestPki("domain.test");
        TestPki.Files forged = TestPki.write(impostor.identity(REMOTE_SLEEP), dir, "forged");
        // And a real trust domain the sidecar holds no bundle for, listed as an alias all the same.
        TestPki otherTest = new TestPki("other.test");
        TestPki.Files unheld =
                TestPki.write(
                        otherTest.identity("spiffe://other.test/ns/default/sa/sleep"),
                        dir,
                        "unheld");
        try (Mesh m =
                mesh(List.of(TrustDomain.parse("domain.test"), TrustDomain.parse("other.test")))) {
            assertThat(call(m, forged).out().strip()).isEqualTo("000");
            assertThat(call(m, unheld).out().strip()).isEqualTo("000");
            // The real one still passes: the refusals were about the certificates.
            TestPki.Files real = TestPki.write(domainTest.identity(REMOTE_SLEEP), dir, "real");
            assertThat(call(m, real).status()).isEqualTo(200);
        }
    }
}
