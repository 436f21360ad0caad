package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.k8s.testing.MockKubernetes;
import io.mithril.pki.Pem;
import io.mithril.server.config.K8sPlugins;
import io.mithril.server.testing.ServerFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code BundlePublisher "k8s_configmap"} and {@code Notifier "k8sbundle"} against fabric8's mock
 * API server (CRUD): the server writes its bundle into the ConfigMap on start and on every change,
 * and an agent bootstraps from the ConfigMap's content as its {@code trust_bundle_path} (the file a
 * ConfigMap volume mounts).
 */
class K8sBundleConfigMapTest {

    /** A clock the test moves forward, to make the CA rotate. */
    static final class MovableClock extends Clock {
        volatile Instant now = Instant.now();

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    MockKubernetes k8s;
    ServerFixture server;
    Agent agent;
    Path kubeconfig;

    @BeforeEach
    void setUp() throws Exception {
        k8s = new MockKubernetes();
        kubeconfig = k8s.kubeconfig(Files.createTempFile("kubeconfig", ".yaml"));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (server != null) {
            server.close();
        }
        k8s.close();
        Files.deleteIfExists(kubeconfig);
    }

    private String bundleIn(String namespace, String name, String key) {
        ConfigMap cm = k8s.client().configMaps().inNamespace(namespace).withName(name).get();
        return cm == null || cm.getData() == null ? null : cm.getData().get(key);
    }

    @Test
    void theBundleIsPublishedOnStartAndOnEveryChangeAndAgentsBootstrapFromIt() throws Exception {
        MovableClock clock = new MovableClock();
        server =
                new ServerFixture(
                        null,
                        b ->
                                b.clock(clock)
                                        .kubernetes(
                                                K8sPlugins.NONE.withBundleConfigMaps(
                                                        List.of(
                                                                new K8sPlugins.BundleConfigMap(
                                                                        "k8s_configmap",
                                                                        "spire",
                                                                        "spire-bundle",
                                                                        "bundle.crt",
                                                                        kubeconfig,
                                                                        "pem")))));
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                server.server()
                                        .bundle()
                                        .toPem()
                                        .equals(bundleIn("spire", "spire-bundle", "bundle.crt")));
        assertThat(Pem.readCertificates(bundleIn("spire", "spire-bundle", "bundle.crt")))
                .hasSize(1);

        // The kubelet mounts the ConfigMap as a file; the agent trusts the server through it.
        Path mounted =
                Files.writeString(
                        server.dir.resolve("bundle.crt"),
                        bundleIn("spire", "spire-bundle", "bundle.crt"));
        Path socket = Files.createDirectories(server.dir.resolve("sock")).resolve("api.sock");
        agent =
                Agent.start(
                        AgentConfig.of(
                                ServerFixture.TD,
                                server.dir.resolve("agent"),
                                "127.0.0.1",
                                server.port(),
                                socket,
                                mounted,
                                server.joinToken()));
        assertThat(agent.agentId().toString())
                .startsWith("spiffe://example.org/spire/agent/join_token/");

        // Past half of the CA's life the next CA is prepared and its root joins the bundle.
        clock.now = clock.now.plus(Duration.ofHours(13));
        server.server().caManager().rotate();
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                server.server()
                                        .bundle()
                                        .toPem()
                                        .equals(bundleIn("spire", "spire-bundle", "bundle.crt")));
        assertThat(Pem.readCertificates(bundleIn("spire", "spire-bundle", "bundle.crt")))
                .hasSize(2);
    }

    @Test
    void theK8sbundleNotifierFillsTheConfigMapOnceItExists() throws Exception {
        server =
                new ServerFixture(
                        null,
                        b ->
                                b.kubernetes(
                                        K8sPlugins.NONE.withBundleConfigMaps(
                                                List.of(
                                                        new K8sPlugins.BundleConfigMap(
                                                                "k8sbundle",
                                                                "spire",
                                                                "spire-bundle",
                                                                "bundle.crt",
                                                                kubeconfig,
                                                                "pem")))));
        // SPIRE's notifier updates an existing ConfigMap: none yet, so nothing is created...
        await().during(Duration.ofSeconds(1))
                .atMost(Duration.ofSeconds(5))
                .until(
                        () ->
                                k8s.client()
                                                .configMaps()
                                                .inNamespace("spire")
                                                .withName("spire-bundle")
                                                .get()
                                        == null);
        // ...and once the operator creates it, the next retry fills it, keeping its other keys.
        k8s.client()
                .configMaps()
                .inNamespace("spire")
                .resource(
                        new ConfigMapBuilder()
                                .withNewMetadata()
                                .withName("spire-bundle")
                                .withNamespace("spire")
                                .endMetadata()
                                .addToData("other", "kept")
                                .build())
                .create();
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                server.server()
                                        .bundle()
                                        .toPem()
                                        .equals(bundleIn("spire", "spire-bundle", "bundle.crt")));
        assertThat(bundleIn("spire", "spire-bundle", "other")).isEqualTo("kept");
    }
}
