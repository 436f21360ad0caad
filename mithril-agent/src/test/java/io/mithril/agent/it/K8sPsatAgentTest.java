package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.agent.Agent;
import io.mithril.agent.AgentStartException;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.config.AgentConfigParser;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.k8s.psat.PsatClusterConfig;
import io.mithril.k8s.testing.MockKubernetes;
import io.mithril.server.config.K8sPlugins;
import io.mithril.server.testing.ServerFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A real agent, configured by SPIRE's HCL ({@code NodeAttestor "k8s_psat" { plugin_data { cluster,
 * token_path } }}), attests to a real identity server whose {@code k8s_psat} asks the mock API
 * server's TokenReview; a node alias entry on the {@code k8s_psat} selectors then parents a
 * workload.
 */
class K8sPsatAgentTest {

    MockKubernetes k8s;
    ServerFixture server;
    Agent agent;
    String nodeUid;

    @BeforeEach
    void setUp() throws Exception {
        k8s = new MockKubernetes();
        nodeUid = k8s.addNode("node-1", Map.of());
        String podUid =
                k8s.addPod(
                        "spire",
                        "spire-agent-abcde",
                        "spire-agent",
                        "node-1",
                        "10.0.0.7",
                        Map.of());
        k8s.addToken(
                "projected-token",
                new MockKubernetes.Token(
                        "spire",
                        "spire-agent",
                        "spire-agent-abcde",
                        podUid,
                        List.of("spire-server")));
        Path dir = Files.createTempDirectory("mithril-psat-");
        Path kubeconfig = k8s.kubeconfig(dir.resolve("kubeconfig"));
        server =
                new ServerFixture(
                        null,
                        b ->
                                b.joinToken(false)
                                        .kubernetes(
                                                K8sPlugins.NONE.withPsatClusters(
                                                        List.of(
                                                                new PsatClusterConfig(
                                                                        "demo-cluster",
                                                                        List.of(
                                                                                "spire:spire-agent"),
                                                                        null,
                                                                        kubeconfig,
                                                                        List.of(),
                                                                        List.of(),
                                                                        false)))));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (agent != null) {
            agent.close();
        }
        server.close();
        k8s.close();
    }

    private AgentConfig config(Path tokenFile) throws Exception {
        Path socket = Files.createDirectories(server.dir.resolve("sock")).resolve("api.sock");
        String hcl =
                """
                agent {
                    data_dir = "%s"
                    server_address = "127.0.0.1"
                    server_port = "%d"
                    socket_path = "%s"
                    trust_bundle_path = "%s"
                    trust_domain = "example.org"
                }
                plugins {
                    NodeAttestor "k8s_psat" {
                        plugin_data {
                            cluster = "demo-cluster"
                            token_path = "%s"
                        }
                    }
                    KeyManager "memory" {
                        plugin_data {}
                    }
                    WorkloadAttestor "unix" {
                        plugin_data {}
                    }
                }
                """
                        .formatted(
                                server.dir.resolve("agent"),
                                server.port(),
                                socket,
                                server.bundlePem(),
                                tokenFile);
        return AgentConfigParser.parse(hcl, "agent.conf").withSyncInterval(Duration.ofMillis(200));
    }

    @Test
    void theAgentAttestsWithItsProjectedTokenAndANodeAliasParentsItsWorkloads() throws Exception {
        Path token =
                Files.writeString(server.dir.resolve("spire-agent-token"), "projected-token\n");
        String uid = Integer.toString((int) new com.sun.security.auth.module.UnixSystem().getUid());
        server.register(
                "spiffe://example.org/k8s-nodes/demo-cluster",
                "spiffe://example.org/spire/server",
                0,
                "k8s_psat:cluster:demo-cluster",
                "k8s_psat:agent_ns:spire",
                "k8s_psat:agent_sa:spire-agent");
        server.register(
                "spiffe://example.org/ns/default/sa/sleep",
                "spiffe://example.org/k8s-nodes/demo-cluster",
                0,
                "unix:uid:" + uid);
        agent = Agent.start(config(token));
        assertThat(agent.agentId().toString())
                .isEqualTo("spiffe://example.org/spire/agent/k8s_psat/demo-cluster/" + nodeUid);
        try (WorkloadApiClient c = WorkloadApiClient.connect("unix://" + agent.socketPath())) {
            assertThat(
                            c.fetchX509Context(Duration.ofSeconds(10))
                                    .defaultSvid()
                                    .spiffeId()
                                    .toString())
                    .isEqualTo("spiffe://example.org/ns/default/sa/sleep");
        }
    }

    @Test
    void aTokenTheClusterDoesNotKnowStopsTheAgentWithTheServersReason() throws Exception {
        Path token =
                Files.writeString(server.dir.resolve("spire-agent-token"), "stolen-or-forged\n");
        assertThatThrownBy(() -> Agent.start(config(token)))
                .isInstanceOf(AgentStartException.class)
                .hasMessageContaining(
                        "token not authenticated according to TokenReview API for cluster \"demo-cluster\"");
        assertThat(server.server().dataStore().listAttestedNodes()).isEmpty();
    }

    @Test
    void aMissingTokenFileIsNamed() throws Exception {
        Path token = server.dir.resolve("no-such-token");
        assertThatThrownBy(() -> Agent.start(config(token)))
                .isInstanceOf(AgentStartException.class)
                .hasMessageContaining("unable to load token from " + token);
    }
}
