package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.testing.ForeignUid;
import io.mithril.agent.testing.ServerFixture;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.pki.Pem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** x509pop: the node proves possession of a key whose certificate (made by openssl) chains to the server's CA. */
class X509PopAttestationTest {

    private Path pki;
    private ServerFixture server;
    private Agent agent;

    @BeforeEach
    void setUp() throws Exception {
        pki = Files.createTempDirectory("mithril-x509pop-");
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
                "-out", "ca.pem", "-subj", "/CN=node-ca", "-days", "1");
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "node.key",
                "-out", "node.csr", "-subj", "/CN=node-1");
        openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "node.pem", "-days", "1");
        server = new ServerFixture(pki.resolve("ca.pem"));
    }

    private void openssl(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(pki.toFile()).redirectErrorStream(true).start();
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

    @Test
    void agentAttestsByProofOfPossessionAndServesEntriesParentedByItsX509popId() throws Exception {
        byte[] leaf = Pem.readCertificate(pki.resolve("node.pem")).getEncoded();
        String agentId = "spiffe://example.org/spire/agent/x509pop/" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(leaf));
        server.register("spiffe://example.org/on-pop-node", agentId, 0, "unix:uid:0");
        Path socket = Files.createDirectories(server.dir.resolve("sock")).resolve("api.sock");
        AgentConfig base = AgentConfig.of(ServerFixture.TD, server.dir.resolve("agent"), "127.0.0.1", server.port(), socket,
                server.bundlePem(), null);
        AgentConfig cfg = new AgentConfig(base.trustDomain(), base.dataDir(), base.logLevel(), base.serverAddress(), base.serverPort(),
                base.socketPath(), base.trustBundlePath(), false, null,
                new AgentConfig.NodeAttestorConfig("x509pop", pki.resolve("node.pem"), pki.resolve("node.key"), null),
                "disk", base.dataDir(), base.unix(), Duration.ofMillis(200), null, null);
        agent = Agent.start(cfg);
        assertThat(agent.agentId().toString()).isEqualTo(agentId);
        try (WorkloadApiClient c = WorkloadApiClient.connect("unix://" + socket)) {
            assertThat(c.fetchX509Context(Duration.ofSeconds(10)).defaultSvid().spiffeId().toString())
                    .isEqualTo("spiffe://example.org/on-pop-node");
        }
    }
}
