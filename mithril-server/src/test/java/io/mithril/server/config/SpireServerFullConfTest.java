package io.mithril.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.hcl.HclException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every key of the {@code server} block and every plugin of SPIRE's own {@code
 * conf/server/server_full.conf} (spiffe/spire v1.13.6, Apache-2.0), set as that file sets it (or as
 * its comment documents it), is either read or refused with an error that names it. Keys and values
 * are transcribed from that file, commented-out ones included.
 */
class SpireServerFullConfTest {

    static final Map<String, String> SERVER_KEYS =
            Map.ofEntries(
                    Map.entry("admin_ids", "[\"spiffe://example.org/my/admin\"]"),
                    Map.entry("bind_address", "\"127.0.0.1\""),
                    Map.entry("bind_port", "\"8081\""),
                    Map.entry("ca_key_type", "\"ec-p256\""),
                    Map.entry(
                            "ca_subject",
                            "{ country = [\"US\"]\n organization = [\"SPIFFE\"]\n common_name = \"\" }"),
                    Map.entry("ca_ttl", "\"24h\""),
                    Map.entry("data_dir", "\"./.data\""),
                    Map.entry(
                            "federation",
                            "{ bundle_endpoint { address = \"0.0.0.0\"\n port = 8443\n refresh_hint = \"5m\" }\n"
                                    + " federates_with \"domain1.test\" { bundle_endpoint_url = \"https://1.2.3.4:8443\"\n"
                                    + " bundle_endpoint_profile \"https_web\" {} } }"),
                    Map.entry("jwt_key_type", "\"ec-p256\""),
                    Map.entry("jwt_issuer", "\"\""),
                    Map.entry("log_file", "\"\""),
                    Map.entry("log_level", "\"INFO\""),
                    Map.entry("log_format", "\"text\""),
                    Map.entry("log_source_location", "true"),
                    Map.entry("ratelimit", "{ attestation = true\n signing = true }"),
                    Map.entry("socket_path", "\"/tmp/spire-server/private/api.sock\""),
                    Map.entry("max_attested_node_info_staleness", "\"0s\""),
                    Map.entry("agent_ttl", "\"72h\""),
                    Map.entry("default_x509_svid_ttl", "\"1h\""),
                    Map.entry("default_jwt_svid_ttl", "\"5m\""),
                    Map.entry("trust_domain", "\"example.org\""),
                    Map.entry("audit_log_enabled", "false"),
                    Map.entry(
                            "experimental",
                            "{ cache_reload_interval = \"5s\"\n prune_events_older_than = \"12h\" }"));

    /** server_full.conf's plugins, in file order. */
    static final List<String[]> PLUGINS =
            List.of(
                    new String[] {"CredentialComposer", "uniqueid"},
                    new String[] {"DataStore", "sql"},
                    new String[] {"KeyManager", "aws_kms"},
                    new String[] {"KeyManager", "disk"},
                    new String[] {"KeyManager", "gcp_kms"},
                    new String[] {"KeyManager", "azure_key_vault"},
                    new String[] {"KeyManager", "memory"},
                    new String[] {"NodeAttestor", "aws_iid"},
                    new String[] {"NodeAttestor", "azure_msi"},
                    new String[] {"NodeAttestor", "gcp_iit"},
                    new String[] {"NodeAttestor", "join_token"},
                    new String[] {"NodeAttestor", "k8s_psat"},
                    new String[] {"NodeAttestor", "sshpop"},
                    new String[] {"NodeAttestor", "x509pop"},
                    new String[] {"NodeAttestor", "tpm_devid"},
                    new String[] {"Notifier", "gcs_bundle"},
                    new String[] {"Notifier", "k8sbundle"},
                    new String[] {"UpstreamAuthority", "disk"},
                    new String[] {"UpstreamAuthority", "aws_pca"},
                    new String[] {"UpstreamAuthority", "awssecret"},
                    new String[] {"UpstreamAuthority", "gcp_cas"},
                    new String[] {"UpstreamAuthority", "vault"},
                    new String[] {"UpstreamAuthority", "spire"},
                    new String[] {"UpstreamAuthority", "cert-manager"},
                    new String[] {"UpstreamAuthority", "ejbca"},
                    new String[] {"BundlePublisher", "aws_s3"},
                    new String[] {"BundlePublisher", "aws_rolesanywhere_trustanchor"},
                    new String[] {"BundlePublisher", "k8s_configmap"});

    static final Map<String, String> PLUGIN_DATA =
            Map.of(
                    "DataStore sql",
                            "database_type = \"sqlite3\"\n connection_string = \"./.data/datastore.sqlite3\"",
                    "KeyManager disk", "keys_path = \"./.data/keys.json\"",
                    "NodeAttestor x509pop",
                            "ca_bundle_path = \"./conf/server/dummy_upstream_ca.crt\"",
                    "UpstreamAuthority disk",
                            "cert_file_path = \"./conf/server/dummy_upstream_ca.crt\"\n"
                                    + " key_file_path = \"./conf/server/dummy_upstream_ca.key\"");

    static final String BASE_PLUGINS =
            """
                DataStore "sql" { plugin_data { database_type = "sqlite3"
                    connection_string = "./.data/datastore.sqlite3" } }
                KeyManager "memory" { plugin_data {} }
                NodeAttestor "join_token" { plugin_data {} }
            """;

    static String config(Map<String, String> keys, String plugins) {
        Map<String, String> all =
                new LinkedHashMap<>(
                        Map.of("data_dir", "\"./.data\"", "trust_domain", "\"example.org\""));
        all.putAll(keys);
        StringBuilder b = new StringBuilder("server {\n");
        all.forEach((k, v) -> b.append("    ").append(k).append(" = ").append(v).append('\n'));
        return b.append("}\nplugins {\n").append(plugins).append("}\n").toString();
    }

    static String plugins(String type, String name) {
        String data = PLUGIN_DATA.getOrDefault(type + " " + name, "");
        String block = "    " + type + " \"" + name + "\" { plugin_data { " + data + " } }\n";
        return switch (type) {
            case "DataStore" ->
                    "    KeyManager \"memory\" { plugin_data {} }\n    NodeAttestor \"join_token\" { plugin_data {} }\n"
                            + block;
            case "KeyManager" ->
                    BASE_PLUGINS.replace("KeyManager \"memory\" { plugin_data {} }", "") + block;
            default -> BASE_PLUGINS + block;
        };
    }

    /** Read, or refused by an error naming one of {@code names}; true when read. */
    static boolean readOrRefusedNamingIt(String text, String... names) {
        try {
            ServerConfigParser.parse(text, "server_full.conf");
            return true;
        } catch (HclException e) {
            assertThat(e.getMessage())
                    .as("the error names %s", List.of(names))
                    .containsAnyOf(names);
            return false;
        }
    }

    static Stream<String> serverKeys() {
        return SERVER_KEYS.keySet().stream().sorted();
    }

    @ParameterizedTest(name = "server.{0}")
    @MethodSource("serverKeys")
    void everyServerKeyIsReadOrRefusedNamingIt(String key) {
        readOrRefusedNamingIt(config(Map.of(key, SERVER_KEYS.get(key)), BASE_PLUGINS), key);
    }

    static Stream<String[]> pluginCases() {
        return PLUGINS.stream();
    }

    @ParameterizedTest(name = "{0} \"{1}\"")
    @MethodSource("pluginCases")
    void everyPluginIsReadOrRefusedNamingIt(String type, String name) {
        readOrRefusedNamingIt(
                config(Map.of(), plugins(type, name)), "\"" + name + "\"", "\"" + type + "\"");
    }

    /** The figures docs/server.md quotes. */
    @Test
    void tally() {
        List<String> refusedKeys = new ArrayList<>();
        SERVER_KEYS.forEach(
                (k, v) -> {
                    if (!readOrRefusedNamingIt(config(Map.of(k, v), BASE_PLUGINS), k)) {
                        refusedKeys.add(k);
                    }
                });
        List<String> refusedPlugins = new ArrayList<>();
        for (String[] p : PLUGINS) {
            if (!readOrRefusedNamingIt(
                    config(Map.of(), plugins(p[0], p[1])),
                    "\"" + p[1] + "\"",
                    "\"" + p[0] + "\"")) {
                refusedPlugins.add(p[0] + " " + p[1]);
            }
        }
        System.out.printf(
                "server_full.conf: %d server keys, %d honoured, refused: %s; %d plugins, refused: %s%n",
                SERVER_KEYS.size(),
                SERVER_KEYS.size() - refusedKeys.size(),
                refusedKeys,
                PLUGINS.size(),
                refusedPlugins);
        // admin_ids grants SPIFFE IDs the admin API over TCP; Mithril serves it on its socket only.
        assertThat(refusedKeys).containsExactly("admin_ids");
    }

    @Test
    void aTelemetrySinkThatIsNotServedLogsAWarningNamingIt() throws HclException {
        ch.qos.logback.classic.Logger logger =
                (ch.qos.logback.classic.Logger)
                        org.slf4j.LoggerFactory.getLogger(
                                io.mithril.api.observability.ObservabilityConfig.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs =
                new ch.qos.logback.core.read.ListAppender<>();
        logs.start();
        logger.addAppender(logs);
        try {
            ServerConfig c =
                    ServerConfigParser.parse(
                            config(Map.of(), BASE_PLUGINS)
                                    + "telemetry {\n  Prometheus { port = 9988 }\n  DogStatsd = [ { address = \"localhost:8125\" } ]\n"
                                    + "  InMem { }\n}\n",
                            "server.conf");
            assertThat(c.telemetry()).isNotNull();
            assertThat(logs.list)
                    .extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .anyMatch(
                            m ->
                                    m.startsWith(
                                            "server.conf:13:3: telemetry sink DogStatsd is not served by Mithril"))
                    .anyMatch(m -> m.contains("telemetry sink InMem is not served"))
                    .noneMatch(m -> m.contains("Prometheus is not served"));
        } finally {
            logger.detachAppender(logs);
        }
    }
}
