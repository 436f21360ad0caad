package io.mithril.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.hcl.HclException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code UpstreamAuthority "spire"} read with SPIRE's keys, and its bad inputs refused. */
class SpireUpstreamConfigTest {

    static String conf(String pluginData) {
        return """
                server {
                    trust_domain = "example.org"
                    data_dir = "/run/spire/data"
                }
                plugins {
                    DataStore "sql" { plugin_data { database_type = "sqlite3" } }
                    KeyManager "memory" { plugin_data {} }
                    NodeAttestor "join_token" { plugin_data {} }
                    UpstreamAuthority "spire" {
                        plugin_data {
                %s
                        }
                    }
                }
                """
                .formatted(pluginData);
    }

    @Test
    void spiresSampleConfigurationIsRead() throws HclException {
        // doc/plugin_server_upstreamauthority_spire.md's sample, commas included.
        ServerConfig c =
                ServerConfigParser.parse(
                        conf(
                                """
                                    server_address = "upstream-spire-server",
                                    server_port = "8081",
                                    workload_api_socket = "/tmp/spire-agent/public/api.sock"
                                """),
                        "server.conf");
        assertThat(c.spireUpstream())
                .isEqualTo(
                        new ServerConfig.SpireUpstreamConfig(
                                "upstream-spire-server",
                                8081,
                                Path.of("/tmp/spire-agent/public/api.sock")));
        assertThat(c.upstream()).isNull();
    }

    @Test
    void requirePqKemFalseIsAccepted() throws HclException {
        ServerConfig c =
                ServerConfigParser.parse(
                        conf(
                                """
                                    server_address = "root"
                                    server_port = 8081
                                    workload_api_socket = "unix:///tmp/agent.sock"
                                    experimental { require_pq_kem = false }
                                """),
                        "server.conf");
        assertThat(c.spireUpstream().workloadApiSocket()).isEqualTo(Path.of("/tmp/agent.sock"));
    }

    @Test
    void eachMissingKeyIsNamed() {
        assertThatThrownBy(
                        () ->
                                ServerConfigParser.parse(
                                        conf(
                                                "server_port = \"8081\"\n workload_api_socket = \"/s\""),
                                        "server.conf"))
                .isInstanceOf(HclException.class)
                .hasMessageStartingWith("server.conf:")
                .hasMessageContaining("server_address is required");
        assertThatThrownBy(
                        () ->
                                ServerConfigParser.parse(
                                        conf(
                                                "server_address = \"r\"\n workload_api_socket = \"/s\""),
                                        "server.conf"))
                .hasMessageContaining("server_port is required");
        assertThatThrownBy(
                        () ->
                                ServerConfigParser.parse(
                                        conf("server_address = \"r\"\n server_port = \"8081\""),
                                        "server.conf"))
                .hasMessageContaining("workload_api_socket is required");
    }

    @Test
    void badValuesAreRefusedWithTheirPlace() {
        assertThatThrownBy(
                        () ->
                                ServerConfigParser.parse(
                                        conf(
                                                "server_address = \"r\"\n server_port = \"80810\"\n"
                                                        + " workload_api_socket = \"/s\""),
                                        "server.conf"))
                .hasMessageContaining("server_port 80810 is not a port number");
        assertThatThrownBy(
                        () ->
                                ServerConfigParser.parse(
                                        conf(
                                                "server_address = \"r\"\n server_prot = \"8081\"\n"
                                                        + " workload_api_socket = \"/s\""),
                                        "server.conf"))
                .hasMessageContaining("server_prot");
    }

    @Test
    void theWindowsPipeAndPostQuantumKemAreRefusedClearly() {
        assertThatThrownBy(
                        () ->
                                ServerConfigParser.parse(
                                        conf(
                                                "server_address = \"r\"\n server_port = \"8081\"\n"
                                                        + " experimental { workload_api_named_pipe_name = \"\\\\\\\\spire-agent\\\\\\\\public\\\\\\\\api\" }"),
                                        "server.conf"))
                .hasMessageContaining(
                        "workload_api_named_pipe_name is not supported on this platform; please use workload_api_socket instead");
        assertThatThrownBy(
                        () ->
                                ServerConfigParser.parse(
                                        conf(
                                                "server_address = \"r\"\n server_port = \"8081\"\n"
                                                        + " workload_api_socket = \"/s\"\n"
                                                        + " experimental { require_pq_kem = true }"),
                                        "server.conf"))
                .hasMessageContaining("require_pq_kem = true is not supported");
    }

    @Test
    void anotherUpstreamAuthorityNameListsTheSupportedOnes() {
        assertThatThrownBy(
                        () ->
                                ServerConfigParser.parse(
                                        conf("").replace("\"spire\"", "\"vault\""), "server.conf"))
                .hasMessageContaining(
                        "UpstreamAuthority \"vault\" is not supported (supported: disk, spire)");
    }
}
