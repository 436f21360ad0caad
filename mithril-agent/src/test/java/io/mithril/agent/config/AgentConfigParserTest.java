package io.mithril.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.hcl.HclException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class AgentConfigParserTest {

    private static final String SPIRE_STYLE =
            """
            agent {
                data_dir = "./data/agent"
                log_level = "DEBUG"
                server_address = "127.0.0.1"
                server_port = "8081"
                socket_path ="/tmp/spire-agent/public/api.sock"
                trust_bundle_path = "./conf/agent/dummy_root_ca.crt"
                trust_domain = "example.org"
            }
            plugins {
                NodeAttestor "join_token" {
                    plugin_data {
                    }
                }
                KeyManager "disk" {
                    plugin_data = {
                        directory = "./data/agent/keys"
                    }
                }
                WorkloadAttestor "unix" {
                    plugin_data {
                        discover_workload_path = true
                    }
                }
            }
            """;

    @Test
    void readsSpireAgentConfigWithQuotedNumbersAndBothPluginDataForms() throws HclException {
        AgentConfig c = AgentConfigParser.parse(SPIRE_STYLE, "agent.conf");
        assertThat(c.trustDomain().name()).isEqualTo("example.org");
        assertThat(c.serverPort()).isEqualTo(8081);
        assertThat(c.socketPath()).isEqualTo(Path.of("/tmp/spire-agent/public/api.sock"));
        assertThat(c.trustBundlePath()).isEqualTo(Path.of("./conf/agent/dummy_root_ca.crt"));
        assertThat(c.nodeAttestor().type()).isEqualTo("join_token");
        assertThat(c.keyManager()).isEqualTo("disk");
        assertThat(c.keyManagerDirectory()).isEqualTo(Path.of("./data/agent/keys"));
        assertThat(c.unix().discoverWorkloadPath()).isTrue();
        assertThat(c.logLevel()).isEqualTo("DEBUG");
    }

    @Test
    void experimentalSyncIntervalIsHonouredAsSpireDoes() throws HclException {
        String withSync =
                SPIRE_STYLE.replace(
                        "trust_domain = \"example.org\"",
                        "trust_domain = \"example.org\"\n experimental { sync_interval = \"200ms\" }");
        assertThat(AgentConfigParser.parse(withSync, "agent.conf").syncInterval())
                .isEqualTo(java.time.Duration.ofMillis(200));
        assertThat(AgentConfigParser.parse(SPIRE_STYLE, "agent.conf").syncInterval())
                .isEqualTo(AgentConfig.DEFAULT_SYNC_INTERVAL);
        assertThatThrownBy(
                        () ->
                                AgentConfigParser.parse(
                                        withSync.replace("200ms", "soon"), "agent.conf"))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("agent.conf:")
                .hasMessageContaining("sync_interval");
    }

    @Test
    void socketPathDefaultsToMithrilsPublicSocket() throws HclException {
        AgentConfig c =
                AgentConfigParser.parse(
                        SPIRE_STYLE.replace(
                                "socket_path =\"/tmp/spire-agent/public/api.sock\"", ""),
                        "agent.conf");
        assertThat(c.socketPath()).isEqualTo(Path.of("/tmp/mithril/agent/public/api.sock"));
    }

    @Test
    void unknownKeyIsReportedWithPositionAndSuggestion() {
        assertThatThrownBy(
                        () ->
                                AgentConfigParser.parse(
                                        SPIRE_STYLE.replace("server_port", "server_prot"),
                                        "agent.conf"))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("agent.conf:5:")
                .hasMessageContaining("server_prot")
                .hasMessageContaining("did you mean \"server_port\"");
    }

    @Test
    void trustBundleAndInsecureBootstrapAreExclusive() {
        String both =
                SPIRE_STYLE.replace(
                        "trust_domain = \"example.org\"",
                        "trust_domain = \"example.org\"\n insecure_bootstrap = true");
        assertThatThrownBy(() -> AgentConfigParser.parse(both, "agent.conf"))
                .hasMessageContaining("mutually exclusive");
    }

    @Test
    void unsupportedNodeAttestorIsNamed() {
        assertThatThrownBy(
                        () ->
                                AgentConfigParser.parse(
                                        SPIRE_STYLE.replace(
                                                "NodeAttestor \"join_token\"",
                                                "NodeAttestor \"aws_iid\""),
                                        "agent.conf"))
                .hasMessageContaining("NodeAttestor \"aws_iid\" is not supported");
    }

    @Test
    void x509popNeedsItsKeyAndCertificatePaths() throws HclException {
        String pop =
                SPIRE_STYLE.replace(
                        "NodeAttestor \"join_token\" {\n        plugin_data {\n",
                        "NodeAttestor \"x509pop\" {\n        plugin_data {\n private_key_path = \"/opt/node.key\"\n certificate_path = \"/opt/node.crt\"\n");
        AgentConfig c = AgentConfigParser.parse(pop, "agent.conf");
        assertThat(c.nodeAttestor().type()).isEqualTo("x509pop");
        assertThat(c.nodeAttestor().privateKeyPath()).isEqualTo(Path.of("/opt/node.key"));
        assertThatThrownBy(
                        () ->
                                AgentConfigParser.parse(
                                        pop.replace("private_key_path = \"/opt/node.key\"", ""),
                                        "agent.conf"))
                .hasMessageContaining("private_key_path is required");
    }

    @Test
    void missingTrustDomainSaysWhatToWrite() {
        assertThatThrownBy(
                        () ->
                                AgentConfigParser.parse(
                                        SPIRE_STYLE.replace("trust_domain = \"example.org\"", ""),
                                        "agent.conf"))
                .hasMessageContaining("trust_domain is required");
    }
}
