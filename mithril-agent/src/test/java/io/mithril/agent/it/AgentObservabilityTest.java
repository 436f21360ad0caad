package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.config.AgentConfigParser;
import io.mithril.agent.testing.FetchIdentityMain;
import io.mithril.agent.testing.ForeignUid;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.server.testing.ServerFixture;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * SPIRE's {@code health_checks} and {@code telemetry { Prometheus }} blocks of agent.conf, served
 * for real.
 */
class AgentObservabilityTest {

    private ServerFixture server;
    private Agent agent;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void setUp() throws Exception {
        server = new ServerFixture();
        Files.setPosixFilePermissions(server.dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path sockDir = Files.createDirectories(server.dir.resolve("sock"));
        Files.setPosixFilePermissions(sockDir, PosixFilePermissions.fromString("rwxr-xr-x"));
        String conf =
                """
                agent {
                    data_dir = "%s"
                    server_address = "127.0.0.1"
                    server_port = "%d"
                    socket_path = "%s"
                    trust_bundle_path = "%s"
                    trust_domain = "example.org"
                    join_token = "%s"
                }
                plugins {
                    NodeAttestor "join_token" { plugin_data {} }
                    KeyManager "disk" { plugin_data { directory = "%s" } }
                    WorkloadAttestor "unix" { plugin_data {} }
                }
                health_checks {
                    listener_enabled = true
                    bind_address = "127.0.0.1"
                    bind_port = "0"
                    live_path = "/live"
                    ready_path = "/ready"
                }
                telemetry {
                    Prometheus {
                        host = "127.0.0.1"
                        port = 0
                    }
                }
                """
                        .formatted(
                                server.dir.resolve("agent"),
                                server.port(),
                                sockDir.resolve("api.sock"),
                                server.bundlePem(),
                                server.joinToken(),
                                server.dir.resolve("agent"));
        server.register("spiffe://example.org/root-workload", 0, "unix:uid:0");
        AgentConfig cfg =
                AgentConfigParser.parse(conf, "agent.conf")
                        .withSyncInterval(Duration.ofMillis(200));
        agent = Agent.start(cfg);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (agent != null) {
            agent.close();
        }
        server.close();
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static List<String> lines(String metrics, String prefix) {
        return Arrays.stream(metrics.split("\n")).filter(l -> l.startsWith(prefix)).toList();
    }

    @Test
    void healthEndpointsAnswerLiveAndReadyOnceSynced() throws Exception {
        assertThat(agent.healthPort()).isPositive();
        HttpResponse<String> live = get(agent.healthPort(), "/live");
        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(live.body()).isEqualTo("{\"live\":true}");
        HttpResponse<String> ready = get(agent.healthPort(), "/ready");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).isEqualTo("{\"ready\":true}");
    }

    @Test
    void metricsCountWorkloadApiCallsByResultAndShowTheAgentsState() throws Exception {
        try (WorkloadApiClient c = WorkloadApiClient.connect("unix://" + agent.socketPath())) {
            assertThat(
                            c.fetchX509Context(Duration.ofSeconds(10))
                                    .defaultSvid()
                                    .spiffeId()
                                    .toString())
                    .isEqualTo("spiffe://example.org/root-workload");
        }
        assertThat(
                        ForeignUid.answers(
                                ForeignUid.runJava(
                                        4321,
                                        4321,
                                        FetchIdentityMain.class.getName(),
                                        "unix://" + agent.socketPath())))
                .containsExactly("STATUS PERMISSION_DENIED");

        String metrics = get(agent.metricsPort(), "/metrics").body();
        assertThat(lines(metrics, "mithril_agent_synced "))
                .containsExactly("mithril_agent_synced 1.0");
        assertThat(lines(metrics, "mithril_agent_x509_svids "))
                .containsExactly("mithril_agent_x509_svids 1.0");
        // the workload's entry, and the node alias entry the join token made
        assertThat(lines(metrics, "mithril_agent_registration_entries "))
                .containsExactly("mithril_agent_registration_entries 2.0");
        assertThat(lines(metrics, "mithril_agent_svid_expiry_unix_seconds ")).hasSize(1);
        assertThat(lines(metrics, "mithril_agent_syncs_total{"))
                .anySatisfy(l -> assertThat(l).contains("result=\"ok\""));
        List<String> calls = lines(metrics, "mithril_agent_workload_api_calls_total{");
        assertThat(calls)
                .anySatisfy(
                        l ->
                                assertThat(l)
                                        .contains("method=\"FetchX509SVID\"")
                                        .contains("code=\"PERMISSION_DENIED\"")
                                        .endsWith(" 1.0"));
        assertThat(calls)
                .as("the stream the first client read and closed")
                .anySatisfy(
                        l ->
                                assertThat(l)
                                        .contains("method=\"FetchX509SVID\"")
                                        .containsPattern("code=\"(OK|CANCELLED)\""));
        assertThat(lines(metrics, "mithril_agent_workload_api_open_calls "))
                .containsExactly("mithril_agent_workload_api_open_calls 0.0");
    }
}
