package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.testing.ForeignUid;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.pki.Pem;
import io.mithril.server.testing.ServerFixture;
import io.mithril.spiffe.id.SpiffeId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * x509pop: the node proves possession of a key whose certificate (made by openssl) chains to the
 * server's CA.
 */
class X509PopAttestationTest {

    private Path pki;
    private ServerFixture server;
    private Agent agent;

    @BeforeEach
    void setUp() throws Exception {
        pki = Files.createTempDirectory("mithril-x509pop-");
        openssl(
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=node-ca",
                "-days",
                "1");
        openssl(
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "node.key",
                "-out",
                "node.csr",
                "-subj",
                "/CN=node-1");
        openssl(
                "x509",
                "-req",
                "-in",
                "node.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "node.pem",
                "-days",
                "1");
        server = new ServerFixture(pki.resolve("ca.pem"));
    }

    private void openssl(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p =
                new ProcessBuilder(cmd).directory(pki.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (agent != null) {
            agent.close();
        }
        server.close();
        ForeignUid.run(List.of("rm", "-rf", pki.toString()));
    }

    private String popAgentId() throws Exception {
        byte[] leaf = Pem.readCertificate(pki.resolve("node.pem")).getEncoded();
        return "spiffe://example.org/spire/agent/x509pop/"
                + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(leaf));
    }

    private Agent startPopAgent(Path socket) throws Exception {
        AgentConfig base =
                AgentConfig.of(
                        ServerFixture.TD,
                        server.dir.resolve("agent"),
                        "127.0.0.1",
                        server.port(),
                        socket,
                        server.bundlePem(),
                        null);
        AgentConfig cfg =
                new AgentConfig(
                        base.trustDomain(),
                        base.dataDir(),
                        base.logLevel(),
                        base.serverAddress(),
                        base.serverPort(),
                        base.socketPath(),
                        base.trustBundlePath(),
                        false,
                        null,
                        new AgentConfig.NodeAttestorConfig(
                                "x509pop", pki.resolve("node.pem"), pki.resolve("node.key"), null),
                        "disk",
                        base.dataDir(),
                        base.unix(),
                        Duration.ofMillis(200),
                        null,
                        null,
                        AgentConfig.SdsConfig.DEFAULTS);
        return Agent.start(cfg);
    }

    private static String fetchId(Path socket) {
        try (WorkloadApiClient c = WorkloadApiClient.connect("unix://" + socket)) {
            return c.fetchX509Context(Duration.ofSeconds(10)).defaultSvid().spiffeId().toString();
        }
    }

    @Test
    void agentAttestsByProofOfPossessionAndServesEntriesParentedByItsX509popId() throws Exception {
        String agentId = popAgentId();
        server.register("spiffe://example.org/on-pop-node", agentId, 0, "unix:uid:0");
        Path socket = Files.createDirectories(server.dir.resolve("sock")).resolve("api.sock");
        agent = startPopAgent(socket);
        assertThat(agent.agentId().toString()).isEqualTo(agentId);
        assertThat(fetchId(socket)).isEqualTo("spiffe://example.org/on-pop-node");
    }

    @Test
    void evictedX509popAgentAttestsAgainByItselfAndSyncsNewEntries() throws Exception {
        String agentId = popAgentId();
        server.register("spiffe://example.org/on-pop-node", agentId, 0, "unix:uid:0");
        Path socket = Files.createDirectories(server.dir.resolve("sock")).resolve("api.sock");
        agent = startPopAgent(socket);
        String serialBefore =
                server.server()
                        .dataStore()
                        .fetchAttestedNode(SpiffeId.parse(agentId))
                        .orElseThrow()
                        .serialNumber();

        assertThat(server.server().dataStore().deleteAttestedNode(SpiffeId.parse(agentId)))
                .isTrue(); // spire-server agent evict
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .until(
                        () ->
                                server.server()
                                        .dataStore()
                                        .fetchAttestedNode(SpiffeId.parse(agentId))
                                        .isPresent());
        assertThat(server.server().dataStore().fetchAttestedNode(SpiffeId.parse(agentId)))
                .as("attested again")
                .isPresent()
                .get()
                .extracting(n -> n.serialNumber())
                .isNotEqualTo(serialBefore);
        // and it syncs again: an entry made after the eviction reaches its workload
        server.register(
                "spiffe://example.org/after-eviction", agentId, 0, "unix:uid:0", "unix:gid:0");
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .untilAsserted(
                        () -> {
                            try (WorkloadApiClient c =
                                    WorkloadApiClient.connect("unix://" + socket)) {
                                assertThat(c.fetchX509Context(Duration.ofSeconds(10)).svids())
                                        .extracting(v -> v.spiffeId().toString())
                                        .contains(
                                                "spiffe://example.org/on-pop-node",
                                                "spiffe://example.org/after-eviction");
                            }
                        });
    }

    @Test
    void bannedX509popAgentStopsSyncingInsteadOfAttestingAgain() throws Exception {
        String agentId = popAgentId();
        SpiffeId id = SpiffeId.parse(agentId);
        server.register("spiffe://example.org/on-pop-node", agentId, 0, "unix:uid:0");
        Path socket = Files.createDirectories(server.dir.resolve("sock")).resolve("api.sock");
        agent = startPopAgent(socket);
        assertThat(fetchId(socket)).isEqualTo("spiffe://example.org/on-pop-node");
        var node = server.server().dataStore().fetchAttestedNode(id).orElseThrow();
        server.server()
                .dataStore()
                .upsertAttestedNode(
                        new io.mithril.server.datastore.AttestedNode(
                                node.spiffeId(),
                                node.attestationType(),
                                node.serialNumber(),
                                node.expiresAt(),
                                true,
                                node.selectors(),
                                node.createdAt())); // agent ban
        Thread.sleep(1000); // five sync intervals: the first is refused with AGENT_BANNED
        // lift the ban behind the agent's back: an agent that kept syncing (or re-attesting) would
        // pick up a new entry
        server.server().dataStore().upsertAttestedNode(node);
        server.register("spiffe://example.org/after-ban", agentId, 0, "unix:uid:0", "unix:gid:0");
        try (WorkloadApiClient c = WorkloadApiClient.connect("unix://" + socket)) {
            await("a banned agent asks the server nothing more")
                    .during(Duration.ofMillis(1500))
                    .atMost(Duration.ofSeconds(15))
                    .pollInterval(Duration.ofMillis(250))
                    .until(
                            () ->
                                    c.fetchX509Context(Duration.ofSeconds(10)).svids().stream()
                                            .map(v -> v.spiffeId().toString())
                                            .toList()
                                            .equals(List.of("spiffe://example.org/on-pop-node")));
        }
        assertThat(server.server().dataStore().fetchAttestedNode(id).orElseThrow().serialNumber())
                .as("not attested again")
                .isEqualTo(node.serialNumber());
    }
}
