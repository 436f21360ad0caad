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

    private static AgentConfig withAgentKeys(String keys) throws HclException {
        return AgentConfigParser.parse(
                SPIRE_STYLE.replace(
                        "    trust_domain = \"example.org\"\n",
                        "    trust_domain = \"example.org\"\n" + keys + "\n"),
                "agent.conf");
    }

    @Test
    void spireKeysForFeaturesTheAgentLacksAreReadAtTheirInertValues() throws HclException {
        withAgentKeys(
                "trust_bundle_url = \"\"\ntrust_bundle_format = \"spiffe\"\nadmin_socket_path = \"\"\n"
                        + "authorized_delegates = []\nallowed_foreign_jwt_claims = []\n"
                        + "retry_bootstrap = false\nworkload_x509_svid_key_type = \"ec-p256\"\n"
                        + "allow_unauthenticated_verifiers = false\nprofiling_enabled = false\n"
                        + "profiling_port = 8000\nexperimental { named_pipe_name = \"\"\n"
                        + "use_sync_authorized_entries = true\nsync_interval = \"2s\" }");
    }

    @Test
    void spireKeysAskingForWhatTheAgentLacksAreRefusedSayingWhy() {
        String[][] cases = {
            {"trust_bundle_url = \"https://example.org/bundle\"", "trust_bundle_url: fetching"},
            {"trust_bundle_unix_socket = \"/tmp/web.sock\"", "trust_bundle_unix_socket: fetching"},
            {"trust_bundle_format = \"jwks\"", "trust_bundle_format \"jwks\" is not"},
            {"admin_socket_path = \"/tmp/admin.sock\"", "admin_socket_path: the agent's admin API"},
            {"authorized_delegates = [\"spiffe://example.org/d\"]", "Delegated Identity API"},
            {"allowed_foreign_jwt_claims = [\"tenant\"]", "allowed_foreign_jwt_claims:"},
            {"retry_bootstrap = true", "retry_bootstrap = true: the agent does not retry"},
            {"workload_x509_svid_key_type = \"rsa-2048\"", "workload keys are ec-p256"},
            {"availability_target = \"24h\"", "availability_target: not implemented"},
            {"x509_svid_cache_max_size = 1000", "x509_svid_cache_max_size: not implemented"},
            {"allow_unauthenticated_verifiers = true", "answers only attested callers"},
            {"profiling_enabled = true", "no pprof endpoint"},
            {"experimental { flags = [] }", "experimental.flags is not implemented"},
        };
        for (String[] c : cases) {
            assertThatThrownBy(() -> withAgentKeys(c[0]))
                    .as(c[0])
                    .isInstanceOf(HclException.class)
                    .hasMessageStartingWith("agent.conf:")
                    .hasMessageContaining(c[1]);
        }
    }
}
