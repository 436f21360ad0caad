package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.config.AgentConfigParser;
import io.mithril.agent.testing.FakeKubelet;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.server.testing.ServerFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Workload API with {@code WorkloadAttestor "k8s"} configured by SPIRE's HCL: this test's own
 * JVM calls the agent, its pid's cgroup file (written under the attestor's proc root) puts it in a
 * pod's container, the kubelet (HTTPS, bearer token) lists that pod, and the entry on {@code
 * k8s:ns}/{@code k8s:sa} gives it its SVID.
 */
class K8sWorkloadApiTest {

    static final String POD_UID = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
    static final String CONTAINER =
            "45490e76e0878aaa4d9808f7d2eefba37f093c3efbba9838b6d8ab804d9bd814";

    ServerFixture server;
    FakeKubelet kubelet;
    Agent agent;

    @BeforeEach
    void setUp() throws Exception {
        server = new ServerFixture();
        kubelet = new FakeKubelet();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (agent != null) {
            agent.close();
        }
        kubelet.close();
        server.close();
    }

    private Agent start(Path proc) throws Exception {
        Path socket = Files.createDirectories(server.dir.resolve("sock")).resolve("api.sock");
        Path token = Files.writeString(server.dir.resolve("sa-token"), FakeKubelet.TOKEN);
        String hcl =
                """
                agent {
                    data_dir = "%s"
                    server_address = "127.0.0.1"
                    server_port = %d
                    socket_path = "%s"
                    trust_bundle_path = "%s"
                    trust_domain = "example.org"
                    join_token = "%s"
                }
                plugins {
                    NodeAttestor "join_token" {
                        plugin_data {}
                    }
                    KeyManager "memory" {
                        plugin_data {}
                    }
                    WorkloadAttestor "k8s" {
                        plugin_data {
                            kubelet_secure_port = %d
                            kubelet_ca_path = "%s"
                            token_path = "%s"
                            node_name = "localhost"
                            max_poll_attempts = 5
                            poll_retry_interval = "100ms"
                        }
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
                                server.joinToken(),
                                kubelet.port(),
                                kubelet.writeCa(server.dir.resolve("kubelet-ca.pem")),
                                token);
        AgentConfig c = AgentConfigParser.parse(hcl, "agent.conf");
        assertThat(c.k8s().port()).isEqualTo(kubelet.port());
        return Agent.start(
                c.withK8s(c.k8s().withProcRoot(proc)).withSyncInterval(Duration.ofMillis(200)));
    }

    @Test
    void aPodsContainerGetsTheSvidOfItsServiceAccount() throws Exception {
        Path proc = server.dir.resolve("proc");
        long self = ProcessHandle.current().pid();
        Files.createDirectories(proc.resolve(Long.toString(self)));
        Files.writeString(
                proc.resolve(Long.toString(self)).resolve("cgroup"),
                """
                12:pids:/kubepods/besteffort/pod%s/%s
                0::/kubepods/besteffort/pod%s/%s
                """
                        .formatted(POD_UID, CONTAINER, POD_UID, CONTAINER));
        kubelet.setPods(
                FakeKubelet.pod("default", "sleep-7d9c8b6f5-x2x9k", POD_UID, "sleep", CONTAINER));
        server.register(
                "spiffe://example.org/ns/default/sa/sleep", 0, "k8s:ns:default", "k8s:sa:sleep");
        agent = start(proc);
        try (WorkloadApiClient c = WorkloadApiClient.connect("unix://" + agent.socketPath())) {
            assertThat(
                            c.fetchX509Context(Duration.ofSeconds(30))
                                    .defaultSvid()
                                    .spiffeId()
                                    .toString())
                    .isEqualTo("spiffe://example.org/ns/default/sa/sleep");
        }
    }
}
