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
 * side also runs with starts this project's server and agent (each a JVM of its own) and the agent
 * serves an entry created through the admin API. (The SPIRE half runs in the interop tests' harness
 * only when Go is there; the bench itself is never timed in tests.)
 */
class DeploymentTest {

    @Test
    void mithrilServerAndAgentRunFromSpiresConfigurationText(@TempDir Path dir) throws Exception {
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        try (Deployment d = Deployment.mithril(dir.resolve("m"))) {
            assertThat(Files.readString(dir.resolve("m/agent.conf")))
                    .contains("sync_interval = \"200ms\"");
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

    /**
     * A local user must not read the join token the server hands the agent, nor the agent.conf that
     * holds it (a stolen token attests a node). The directory is opened up to show that the files'
     * own modes are what stop the attacker, who can read the public bundle beside them.
     */
    @Test
    void anotherLocalUserCannotReadTheJoinTokenNorTheAgentConfThatHoldsIt(@TempDir Path dir)
            throws Exception {
        try (Deployment d = Deployment.mithril(dir.resolve("m"))) {
            Path m = dir.resolve("m");
            Files.setPosixFilePermissions(
                    dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(
                    m, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            assertThat(asOtherUser("cat", m.resolve("bundle.pem").toString()))
                    .as("the attacker reaches the directory")
                    .contains("BEGIN CERTIFICATE");
            for (String secret : new String[] {"token", "agent.conf"}) {
                assertThat(Files.getPosixFilePermissions(m.resolve(secret)))
                        .isEqualTo(
                                java.nio.file.attribute.PosixFilePermissions.fromString(
                                        "rw-------"));
                assertThat(asOtherUser("cat", m.resolve(secret).toString()))
                        .as(secret)
                        .contains("Permission denied");
            }
        }
    }

    /** Runs a command as uid 64123 (no account, no groups) and returns its output. */
    private static String asOtherUser(String... command) throws Exception {
        java.util.List<String> cmd =
                new java.util.ArrayList<>(
                        java.util.List.of(
                                "setpriv", "--reuid=64123", "--regid=64123", "--clear-groups"));
        cmd.addAll(java.util.List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out =
                new String(
                        p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    @Test
    void registrationJsonIsSpiresFormat() throws Exception {
        JsonNode root =
                new ObjectMapper()
                        .readTree(
                                Deployment.registrationJson(
                                        "spiffe://example.org/w-", 2, i -> 1000 + i));
        assertThat(root.get("entries")).hasSize(2);
        JsonNode e = root.get("entries").get(1);
        assertThat(e.get("spiffe_id").asText()).isEqualTo("spiffe://example.org/w-1");
        assertThat(e.get("parent_id").asText()).isEqualTo(Deployment.NODE);
        assertThat(e.get("selectors").get(0).get("type").asText()).isEqualTo("unix");
        assertThat(e.get("selectors").get(0).get("value").asText()).isEqualTo("uid:1001");
    }
}
