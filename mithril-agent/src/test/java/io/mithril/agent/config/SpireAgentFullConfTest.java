package io.mithril.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.hcl.HclException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every key of the {@code agent} block and every plugin of SPIRE's own {@code
 * conf/agent/agent_full.conf} (spiffe/spire v1.13.6, Apache-2.0), set as that file sets it (or as
 * its comment documents it), is either read or refused with an error that names it; none is
 * silently dropped by an unknown-key rule that would not name it. The keys and values are
 * transcribed from that file, commented-out ones included (even its misspelt {@code
 * trust_budnle_unix_socket}, which SPIRE itself refuses as unknown).
 */
class SpireAgentFullConfTest {

    /** agent_full.conf's agent block: key and the value the file gives it. */
    static final Map<String, String> AGENT_KEYS =
            Map.ofEntries(
                    Map.entry("data_dir", "\"./.data\""),
                    Map.entry("insecure_bootstrap", "false"),
                    Map.entry("rebootstrap_mode", "\"never\""),
                    Map.entry("rebootstrap_delay", "\"10m\""),
                    Map.entry("retry_bootstrap", "false"),
                    Map.entry("join_token", "\"\""),
                    Map.entry("log_file", "\"\""),
                    Map.entry("log_format", "\"text\""),
                    Map.entry("log_source_location", "true"),
                    Map.entry("log_level", "\"DEBUG\""),
                    Map.entry("server_address", "\"127.0.0.1\""),
                    Map.entry("server_port", "\"8081\""),
                    Map.entry("socket_path", "\"/tmp/spire-agent/public/api.sock\""),
                    Map.entry("trust_bundle_path", "\"./conf/agent/dummy_root_ca.crt\""),
                    Map.entry("trust_bundle_url", "\"\""),
                    Map.entry("trust_bundle_unix_socket", "\"/tmp/your-webserver.sock\""),
                    Map.entry("trust_budnle_unix_socket", "\"/tmp/your-webserver.sock\""),
                    Map.entry("trust_bundle_format", "\"pem\""),
                    Map.entry("trust_domain", "\"example.org\""),
                    Map.entry("workload_x509_svid_key_type", "\"ec-p256\""),
                    Map.entry("admin_socket_path", "\"\""),
                    Map.entry(
                            "authorized_delegates",
                            "[\"spiffe://example.org/authorized_client1\"]"),
                    Map.entry(
                            "sds",
                            "{ default_svid_name = \"default\"\n default_bundle_name = \"ROOTCA\"\n"
                                    + " default_all_bundles_name = \"ALL\"\n disable_spiffe_cert_validation = false }"),
                    Map.entry("allowed_foreign_jwt_claims", "[]"),
                    Map.entry(
                            "experimental",
                            "{ named_pipe_name = \"\\\\spire-agent\\\\public\\\\api\"\n admin_named_pipe_name = \"\"\n"
                                    + " use_sync_authorized_entries = true }"));

    /** agent_full.conf's plugins, in file order. */
    static final List<String[]> PLUGINS =
            List.of(
                    new String[] {"KeyManager", "disk", "directory = \"./.data\""},
                    new String[] {"KeyManager", "memory", ""},
                    new String[] {"NodeAttestor", "aws_iid", ""},
                    new String[] {"NodeAttestor", "azure_msi", ""},
                    new String[] {"NodeAttestor", "gcp_iit", ""},
                    new String[] {"NodeAttestor", "join_token", ""},
                    new String[] {"NodeAttestor", "k8s_psat", "cluster = \"k8s-cluster\""},
                    new String[] {"NodeAttestor", "sshpop", ""},
                    new String[] {
                        "NodeAttestor",
                        "x509pop",
                        "private_key_path = \"./conf/agent/dummy_agent.key.pem\"\n"
                                + "certificate_path = \"./conf/agent/dummy_agent.crt.pem\""
                    },
                    new String[] {"NodeAttestor", "tpm_devid", ""},
                    new String[] {"SVIDStore", "gcp_secretmanager", ""},
                    new String[] {"SVIDStore", "aws_secretsmanager", ""},
                    new String[] {"WorkloadAttestor", "docker", ""},
                    new String[] {"WorkloadAttestor", "k8s", ""},
                    new String[] {"WorkloadAttestor", "systemd", ""},
                    new String[] {"WorkloadAttestor", "unix", ""});

    static String config(Map<String, String> agentKeys, String plugins) {
        StringBuilder b = new StringBuilder("agent {\n");
        Map<String, String> base =
                new java.util.LinkedHashMap<>(
                        Map.of(
                                "data_dir",
                                "\"./.data\"",
                                "server_address",
                                "\"127.0.0.1\"",
                                "trust_domain",
                                "\"example.org\""));
        base.putAll(agentKeys);
        base.forEach((k, v) -> b.append("    ").append(k).append(" = ").append(v).append('\n'));
        b.append("}\nplugins {\n").append(plugins).append("}\n");
        return b.toString();
    }

    static final String BASE_PLUGINS =
            """
                NodeAttestor "join_token" { plugin_data {} }
                KeyManager "memory" { plugin_data {} }
            """;

    static Stream<String> agentKeys() {
        return AGENT_KEYS.keySet().stream().sorted();
    }

    /** Read, or refused naming the key; the outcome is returned for the tally. */
    static boolean readOrRefusedNamingIt(String text, String name) {
        try {
            AgentConfigParser.parse(text, "agent_full.conf");
            return true;
        } catch (HclException e) {
            assertThat(e.getMessage()).as("the error names %s", name).contains(name);
            return false;
        }
    }

    @ParameterizedTest(name = "agent.{0}")
    @MethodSource("agentKeys")
    void everyAgentKeyIsReadOrRefusedNamingIt(String key) {
        readOrRefusedNamingIt(config(Map.of(key, AGENT_KEYS.get(key)), BASE_PLUGINS), key);
    }

    static Stream<String[]> plugins() {
        return PLUGINS.stream();
    }

    @ParameterizedTest(name = "{0} \"{1}\"")
    @MethodSource("plugins")
    void everyPluginIsReadOrRefusedNamingIt(String type, String name, String data) {
        String block = "    " + type + " \"" + name + "\" { plugin_data { " + data + " } }\n";
        String plugins =
                switch (type) {
                    case "KeyManager" ->
                            "    NodeAttestor \"join_token\" { plugin_data {} }\n" + block;
                    case "NodeAttestor" -> "    KeyManager \"memory\" { plugin_data {} }\n" + block;
                    default -> BASE_PLUGINS + block;
                };
        readOrRefusedNamingIt(config(Map.of(), plugins), "\"" + name + "\"");
    }

    /** The figures docs/agent.md quotes (read / refused, of the file's 25 keys and 16 plugins). */
    @Test
    void tally() {
        List<String> refusedKeys = new ArrayList<>();
        for (String k : AGENT_KEYS.keySet()) {
            if (!readOrRefusedNamingIt(config(Map.of(k, AGENT_KEYS.get(k)), BASE_PLUGINS), k)) {
                refusedKeys.add(k);
            }
        }
        List<String> refusedPlugins = new ArrayList<>();
        for (String[] p : PLUGINS) {
            String block = "    " + p[0] + " \"" + p[1] + "\" { plugin_data { " + p[2] + " } }\n";
            String plugins =
                    p[0].equals("KeyManager")
                            ? "    NodeAttestor \"join_token\" { plugin_data {} }\n" + block
                            : p[0].equals("NodeAttestor")
                                    ? "    KeyManager \"memory\" { plugin_data {} }\n" + block
                                    : BASE_PLUGINS + block;
            if (!readOrRefusedNamingIt(config(Map.of(), plugins), "\"" + p[1] + "\"")) {
                refusedPlugins.add(p[0] + " " + p[1]);
            }
        }
        System.out.printf(
                "agent_full.conf: %d agent keys, %d honoured, refused: %s; %d plugins, refused: %s%n",
                AGENT_KEYS.size(),
                AGENT_KEYS.size() - refusedKeys.size(),
                refusedKeys,
                PLUGINS.size(),
                refusedPlugins);
        // SPIRE's file sets these to features the agent does not have (and misspells one key).
        assertThat(refusedKeys)
                .containsExactlyInAnyOrder(
                        "trust_budnle_unix_socket",
                        "trust_bundle_unix_socket",
                        "authorized_delegates");
    }

    @Test
    void rebootstrapModeNeverIsHonouredAndTheOthersAreRefused() {
        assertThat(
                        readOrRefusedNamingIt(
                                config(Map.of("rebootstrap_mode", "\"never\""), BASE_PLUGINS), ""))
                .isTrue();
        assertThatThrownBy(
                        () ->
                                AgentConfigParser.parse(
                                        config(
                                                Map.of("rebootstrap_mode", "\"auto\""),
                                                BASE_PLUGINS),
                                        "a.conf"))
                .hasMessageContaining("rebootstrap_mode \"auto\" is not supported");
        assertThatThrownBy(
                        () ->
                                AgentConfigParser.parse(
                                        config(
                                                Map.of("rebootstrap_mode", "\"sometimes\""),
                                                BASE_PLUGINS),
                                        "a.conf"))
                .hasMessageContaining("a.conf:")
                .hasMessageContaining("is not one of never, auto, always");
        assertThatThrownBy(
                        () ->
                                AgentConfigParser.parse(
                                        config(
                                                Map.of("rebootstrap_delay", "\"soon\""),
                                                BASE_PLUGINS),
                                        "a.conf"))
                .hasMessageContaining("rebootstrap_delay");
    }

    @Test
    void pluginDataFileIsReadAndExclusiveWithPluginData(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("disk.hcl");
        Files.writeString(data, "directory = \"" + dir.resolve("keys") + "\"\n");
        AgentConfig c =
                AgentConfigParser.parse(
                        config(
                                Map.of(),
                                "    NodeAttestor \"join_token\" { plugin_data {} }\n"
                                        + "    KeyManager \"disk\" { plugin_data_file = \""
                                        + data
                                        + "\" }\n"),
                        "a.conf");
        assertThat(c.keyManagerDirectory()).isEqualTo(dir.resolve("keys"));
        Files.writeString(data, "directory = \"x\"\nunknown_key = 1\n");
        assertThatThrownBy(
                        () ->
                                AgentConfigParser.parse(
                                        config(
                                                Map.of(),
                                                "    NodeAttestor \"join_token\" { plugin_data {} }\n"
                                                        + "    KeyManager \"disk\" { plugin_data_file = \""
                                                        + data
                                                        + "\" }\n"),
                                        "a.conf"))
                .hasMessageContaining(data + ":2:")
                .hasMessageContaining("unknown_key");
        assertThatThrownBy(
                        () ->
                                AgentConfigParser.parse(
                                        config(
                                                Map.of(),
                                                "    NodeAttestor \"join_token\" { plugin_data {} }\n"
                                                        + "    KeyManager \"disk\" {\n plugin_data { directory = \"y\" }\n plugin_data_file = \""
                                                        + data
                                                        + "\" }\n"),
                                        "a.conf"))
                .hasMessageContaining("plugin_data and plugin_data_file are mutually exclusive");
        assertThatThrownBy(
                        () ->
                                AgentConfigParser.parse(
                                        config(
                                                Map.of(),
                                                "    NodeAttestor \"join_token\" { plugin_data {} }\n"
                                                        + "    KeyManager \"disk\" { plugin_data_file = \""
                                                        + dir.resolve("missing.hcl")
                                                        + "\" }\n"),
                                        "a.conf"))
                .hasMessageContaining("missing.hcl")
                .hasMessageContaining("not a readable file");
    }
}
