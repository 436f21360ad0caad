package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.sync.AgentIdentity;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.pki.Certificates;
import io.mithril.server.testing.ServerFixture;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The agent renews its own SVID at half life, keeps it on disk, and goes on syncing with it. */
class AgentSvidRenewalTest {

    private ServerFixture server;
    private Agent agent;

    @AfterEach
    void tearDown() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void agentSvidIsRenewedBeforeItExpiresAndTheAgentKeepsWorking() throws Exception {
        server = new ServerFixture(null, b -> b.agentTtl(Duration.ofSeconds(12)));
        server.register("spiffe://example.org/root-workload", 0, "unix:uid:0");
        Path socket = Files.createDirectories(server.dir.resolve("sock")).resolve("api.sock");
        Path dataDir = server.dir.resolve("agent");
        agent =
                Agent.start(
                        AgentConfig.of(
                                        ServerFixture.TD,
                                        dataDir,
                                        "127.0.0.1",
                                        server.port(),
                                        socket,
                                        server.bundlePem(),
                                        server.joinToken())
                                .withSyncInterval(Duration.ofMillis(200)));
        var firstLeaf =
                Certificates.parseDer(Files.readAllBytes(dataDir.resolve(AgentIdentity.SVID_FILE)))
                        .get(0);
        BigInteger first = firstLeaf.getSerialNumber();

        BigInteger now =
                await("a renewed agent SVID on disk")
                        .atMost(Duration.ofSeconds(20))
                        .pollInterval(Duration.ofMillis(200))
                        .until(
                                () ->
                                        Certificates.parseDer(
                                                        Files.readAllBytes(
                                                                dataDir.resolve(
                                                                        AgentIdentity.SVID_FILE)))
                                                .get(0)
                                                .getSerialNumber(),
                                s -> !s.equals(first));
        assertThat(now).isNotEqualTo(first);
        assertThat(System.currentTimeMillis()).isLessThan(firstLeaf.getNotAfter().getTime());
        assertThat(agent.agentId().toString())
                .isEqualTo(Certificates.spiffeId(firstLeaf).orElseThrow().toString());

        // A new entry still reaches workloads: the agent syncs with its renewed SVID.
        server.register("spiffe://example.org/after-renewal", 0, "unix:uid:0");
        try (WorkloadApiClient c = WorkloadApiClient.connect("unix://" + socket)) {
            await().atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> c.fetchX509Context(Duration.ofSeconds(5)).svids().size() == 2);
        }
    }
}
