package io.mithril.hcl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shapes of SPIRE's example configs and Mithril's seed configs parse into what SPIRE reads. */
class SpireConfigTest {

    /** SPIRE's conf/server/server.conf (plus KeyManager "disk" and UpstreamAuthority "disk"). */
    static final String SPIRE_SERVER_CONF =
            """
            server {
                bind_address = "127.0.0.1"
                bind_port = "8081"
                socket_path = "/tmp/spire-server/private/api.sock"
                trust_domain = "example.org"
                data_dir = "./.data"
                log_level = "DEBUG"
                ca_ttl = "24h"
                default_x509_svid_ttl = "1h"
                ca_subject {
                    country = ["US"]
                    organization = ["SPIFFE"]
                    common_name = ""
                }
            }

            plugins {
                DataStore "sql" {
                    plugin_data {
                        database_type = "sqlite3"
                        connection_string = "./.data/datastore.sqlite3"
                    }
                }

                NodeAttestor "join_token" {
                    plugin_data {
                    }
                }

                KeyManager "disk" {
                    plugin_data = {
                        keys_path = "./.data/keys.json"
                    }
                }

                UpstreamAuthority "disk" {
                    plugin_data {
                        key_file_path = "./conf/server/dummy_upstream_ca.key"
                        cert_file_path = "./conf/server/dummy_upstream_ca.crt"
                    }
                }
            }

            health_checks {
                listener_enabled = true
                bind_address = "localhost"
                bind_port = "8080"
                live_path = "/live"
                ready_path = "/ready"
            }
            """;

    /** Mithril's seed server.conf: rsa-2048, default_svid_ttl, ca_subject = { .. } with commas. */
    static final String MITHRIL_SERVER_CONF =
            """
            server {
              bind_address = "0.0.0.0"
              bind_port = "8081"
              socket_path = "/run/spire/sockets/server.sock"
              trust_domain = "example.org"
              data_dir = "/run/spire/data"
              log_level = "DEBUG"
              #AWS requires the use of RSA.  EC cryptography is not supported
              ca_key_type = "rsa-2048"

              default_svid_ttl = "1h"
              ca_subject = {
                country = ["US"],
                organization = ["SPIFFE"],
                common_name = "",
              }
            }

            plugins {
              DataStore "sql" {
                plugin_data {
                  database_type = "sqlite3"
                  connection_string = "/run/spire/data/datastore.sqlite3"
                }
              }

              NodeAttestor "k8s_psat" {
                plugin_data {
                  clusters = {
                    "demo-cluster" = {
                      use_token_review_api_validation = true
                      service_account_allow_list = ["spire:spire-agent"]
                    }
                  }
                }
              }

              KeyManager "disk" {
                plugin_data {
                  keys_path = "/run/spire/data/keys.json"
                }
              }

              UpstreamAuthority "disk" {
                plugin_data {
                    cert_file_path = "/run/spire/ca/cert.pem"
                    key_file_path = "/run/spire/ca/key.pem"
                }
              }
            }
            """;

    /** SPIRE's conf/agent/agent.conf. */
    static final String SPIRE_AGENT_CONF =
            """
            agent {
                data_dir = "./.data"
                log_level = "DEBUG"
                server_address = "127.0.0.1"
                server_port = "8081"
                socket_path ="/tmp/spire-agent/public/api.sock"
                trust_bundle_path = "./conf/agent/dummy_root_ca.crt"
                trust_domain = "example.org"
                insecure_bootstrap = false
            }

            plugins {
                NodeAttestor "join_token" {
                    plugin_data {
                    }
                }
                KeyManager "disk" {
                    plugin_data {
                        directory = "./.data"
                    }
                }
                WorkloadAttestor "unix" {
                    plugin_data {
                    }
                }
                WorkloadAttestor "k8s" {
                    plugin_data {
                        skip_kubelet_verification = true
                    }
                }
            }
            """;

    @Test
    void spireServerConfGivesServerSettingsWithQuotedPort() throws Exception {
        HclObject server =
                Hcl.parse(SPIRE_SERVER_CONF, "server.conf").object("server").orElseThrow();
        assertThat(server.string("bind_address", null)).isEqualTo("127.0.0.1");
        assertThat(server.number("bind_port", 0)).isEqualTo(8081);
        assertThat(server.string("trust_domain", null)).isEqualTo("example.org");
        assertThat(server.string("socket_path", null))
                .isEqualTo("/tmp/spire-server/private/api.sock");
        assertThat(server.duration("ca_ttl", Duration.ZERO)).isEqualTo(Duration.ofHours(24));
        assertThat(server.duration("default_x509_svid_ttl", Duration.ZERO))
                .isEqualTo(Duration.ofHours(1));
        server.requireOnly(
                Set.of(
                        "bind_address",
                        "bind_port",
                        "socket_path",
                        "trust_domain",
                        "data_dir",
                        "log_level",
                        "ca_ttl",
                        "default_x509_svid_ttl",
                        "ca_subject"),
                "server block");
    }

    @Test
    void spireServerConfCaSubjectBlockGivesLists() throws Exception {
        HclObject subject =
                Hcl.parse(SPIRE_SERVER_CONF, "server.conf")
                        .object("server")
                        .orElseThrow()
                        .object("ca_subject")
                        .orElseThrow();
        assertThat(subject.strings("country")).containsExactly("US");
        assertThat(subject.strings("organization")).containsExactly("SPIFFE");
        assertThat(subject.string("common_name", null)).isEmpty();
    }

    @Test
    void spireServerConfPluginsAreLabelledBlocksWithPluginData() throws Exception {
        HclObject plugins =
                Hcl.parse(SPIRE_SERVER_CONF, "server.conf").object("plugins").orElseThrow();
        assertThat(plugins.entries())
                .extracting(HclEntry::key)
                .containsExactly("DataStore", "NodeAttestor", "KeyManager", "UpstreamAuthority");
        HclEntry dataStore = plugins.all("DataStore").get(0);
        assertThat(dataStore.labels()).containsExactly("sql");
        HclObject data = ((HclObject) dataStore.value()).object("plugin_data").orElseThrow();
        assertThat(data.string("database_type", null)).isEqualTo("sqlite3");
        assertThat(data.string("connection_string", null)).isEqualTo("./.data/datastore.sqlite3");
        assertThat(plugins.all("NodeAttestor").get(0).labels()).containsExactly("join_token");
        assertThat(
                        ((HclObject) plugins.all("NodeAttestor").get(0).value())
                                .object("plugin_data")
                                .orElseThrow()
                                .entries())
                .isEmpty();
        HclObject keyManager = (HclObject) plugins.all("KeyManager").get(0).value();
        assertThat(keyManager.object("plugin_data").orElseThrow().string("keys_path", null))
                .isEqualTo("./.data/keys.json");
        HclObject upstream =
                ((HclObject) plugins.all("UpstreamAuthority").get(0).value())
                        .object("plugin_data")
                        .orElseThrow();
        assertThat(upstream.string("cert_file_path", null))
                .isEqualTo("./conf/server/dummy_upstream_ca.crt");
        assertThat(upstream.string("key_file_path", null))
                .isEqualTo("./conf/server/dummy_upstream_ca.key");
        assertThat(upstream.has("bundle_file_path")).isFalse();
    }

    @Test
    void spireServerConfHealthChecksReadBoolAndPorts() throws Exception {
        HclObject health =
                Hcl.parse(SPIRE_SERVER_CONF, "server.conf").object("health_checks").orElseThrow();
        assertThat(health.bool("listener_enabled", false)).isTrue();
        assertThat(health.number("bind_port", 0)).isEqualTo(8080);
    }

    @Test
    void mithrilServerConfReadsRsaKeyTypeSvidTtlAndCommaSeparatedCaSubject() throws Exception {
        HclObject server =
                Hcl.parse(MITHRIL_SERVER_CONF, "server.conf").object("server").orElseThrow();
        assertThat(server.string("ca_key_type", null)).isEqualTo("rsa-2048");
        assertThat(server.duration("default_svid_ttl", Duration.ZERO))
                .isEqualTo(Duration.ofHours(1));
        HclObject subject = server.object("ca_subject").orElseThrow();
        assertThat(subject.strings("country")).containsExactly("US");
        assertThat(subject.strings("organization")).containsExactly("SPIFFE");
        assertThat(subject.string("common_name")).contains("");
    }

    @Test
    void mithrilServerConfNestedQuotedKeysParse() throws Exception {
        HclObject plugins =
                Hcl.parse(MITHRIL_SERVER_CONF, "server.conf").object("plugins").orElseThrow();
        HclObject psat =
                ((HclObject) plugins.all("NodeAttestor").get(0).value())
                        .object("plugin_data")
                        .orElseThrow();
        HclObject cluster =
                psat.object("clusters").orElseThrow().object("demo-cluster").orElseThrow();
        assertThat(cluster.bool("use_token_review_api_validation", false)).isTrue();
        assertThat(cluster.strings("service_account_allow_list"))
                .containsExactly("spire:spire-agent");
    }

    @Test
    void spireAgentConfGivesAgentSettingsAndRepeatedWorkloadAttestors() throws Exception {
        HclObject root = Hcl.parse(SPIRE_AGENT_CONF, "agent.conf");
        HclObject agent = root.object("agent").orElseThrow();
        assertThat(agent.string("server_address", null)).isEqualTo("127.0.0.1");
        assertThat(agent.number("server_port", 0)).isEqualTo(8081);
        assertThat(agent.string("socket_path", null)).isEqualTo("/tmp/spire-agent/public/api.sock");
        assertThat(agent.bool("insecure_bootstrap", true)).isFalse();
        HclObject plugins = root.object("plugins").orElseThrow();
        List<HclEntry> attestors = plugins.all("WorkloadAttestor");
        assertThat(attestors).extracting(e -> e.labels().get(0)).containsExactly("unix", "k8s");
        assertThat(plugins.objects("WorkloadAttestor")).hasSize(2);
        assertThat(
                        ((HclObject) plugins.all("KeyManager").get(0).value())
                                .object("plugin_data")
                                .orElseThrow()
                                .string("directory", null))
                .isEqualTo("./.data");
    }

    @Test
    void parseFileReadsARealFileAndNamesItInPositions(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("server.conf");
        Files.writeString(file, SPIRE_SERVER_CONF);
        HclObject root = Hcl.parseFile(file);
        assertThat(root.object("server").orElseThrow().get("bind_port").orElseThrow().position())
                .hasToString(file + ":3:17");
    }
}
