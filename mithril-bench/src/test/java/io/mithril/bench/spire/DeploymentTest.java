package io.mithril.bench.spire;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.api.workload.client.X509Context;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bench's side-by-side deployment, Mithril's half: the server.conf/agent.conf text the SPIRE
 * side also runs with starts this project's server and agent (each a JVM of its own) and the
 * agent serves an entry created through the admin API. (The SPIRE half runs in the interop tests'
 * harness only when Go is there; the bench itself is never timed in tests.)
 */
class DeploymentTest {

    @Test
    void mithrilServerAndAgentRunFromSpiresConfigurationText(@TempDir Path dir) throws Exception {
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        try (Deployment d = Deployment.mithril(dir.resolve("m"))) {
            assertThat(Files.readString(dir.resolve("m/agent.conf"))).contains("sync_interval = \"200ms\"");
            d.createEntries("spiffe://example.org/bench/t-", 2, uid);
            try (WorkloadApiClient c = WorkloadApiClient.connect(d.address())) {
                X509Context ctx = null;
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (System.nanoTime() < deadline) {
                    try {
                        ctx = c.fetchX509Context(Duration.ofSeconds(5));
                        if (ctx.svids().size() == 2) {
                            break;
                        }
                    } catch (Exception e) {
                        Thread.sleep(200);
                    }
                }
                assertThat(ctx).isNotNull();
                assertThat(ctx.svids()).hasSize(2);
            }
            assertThat(d.serverRssKb()).isPositive();
            assertThat(d.agentRssKb()).isPositive();
        }
    }

    @Test
    void registrationJsonIsSpiresFormat() throws Exception {
        JsonNode root = new ObjectMapper().readTree(Deployment.registrationJson("spiffe://example.org/w-", 2, i -> 1000 + i));
        assertThat(root.get("entries")).hasSize(2);
        JsonNode e = root.get("entries").get(1);
        assertThat(e.get("spiffe_id").asText()).isEqualTo("spiffe://example.org/w-1");
        assertThat(e.get("parent_id").asText()).isEqualTo(Deployment.NODE);
        assertThat(e.get("selectors").get(0).get("type").asText()).isEqualTo("unix");
        assertThat(e.get("selectors").get(0).get("value").asText()).isEqualTo("uid:1001");
    }
}
