package io.mithril.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.hcl.HclException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerConfigParserTest {

    @TempDir Path dir;

    /**
     * A SPIRE server.conf as written for the disk-CA seed (quoted numbers, both plugin_data forms).
     */
    static final String SPIRE_CONF =
            """
            server {
                bind_address = "0.0.0.0"
                bind_port = "8081"
                socket_path = "/tmp/spire-server/private/api.sock"
                trust_domain = "example.org"
                data_dir = "/run/spire/data"
                log_level = "DEBUG"
                ca_key_type = "rsa-2048"
                default_x509_svid_ttl = "1h"
                ca_ttl = "12h"
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

                NodeAttestor "join_token" {
                    plugin_data {
                    }
                }

                NodeAttestor "x509pop" {
                    plugin_data {
                        ca_bundle_path = "/opt/spire/conf/server/agent-cacert.pem"
                    }
                }

                KeyManager "disk" {
                    plugin_data = {
                        keys_path = "/run/spire/data/keys.json"
                    }
                }

                UpstreamAuthority "disk" {
                    plugin_data {
                        key_file_path = "/run/spire/secrets/bootstrap.key"
                        cert_file_path = "/run/spire/secrets/bootstrap.crt"
                    }
                }
            }

            health_checks {
                listener_enabled = true
                bind_address = "0.0.0.0"
                bind_port = "8080"
                live_path = "/live"
                ready_path = "/ready"
            }
            """;

    @Test
    void realSpireServerConfParsesWithEverySetting() throws Exception {
        ServerConfig c = ServerConfigParser.parse(SPIRE_CONF, "server.conf");
        assertThat(c.trustDomain().name()).isEqualTo("example.org");
        assertThat(c.bindPort()).isEqualTo(8081);
        assertThat(c.socketPath()).isEqualTo(Path.of("/tmp/spire-server/private/api.sock"));
        assertThat(c.caKeyType()).isEqualTo("rsa-2048");
        assertThat(c.caTtl()).isEqualTo(Duration.ofHours(12));
        assertThat(c.defaultX509SvidTtl()).isEqualTo(Duration.ofHours(1));
        assertThat(c.caSubject().toDistinguishedName()).isEqualTo("O=SPIFFE,C=US");
        assertThat(c.dataStore().connectionString()).isEqualTo("/run/spire/data/datastore.sqlite3");
        assertThat(c.keyManager().keysPath()).isEqualTo(Path.of("/run/spire/data/keys.json"));
        assertThat(c.joinToken()).isTrue();
        assertThat(c.x509pop().caBundlePaths())
                .containsExactly(Path.of("/opt/spire/conf/server/agent-cacert.pem"));
        assertThat(c.upstream().certFilePath())
                .isEqualTo(Path.of("/run/spire/secrets/bootstrap.crt"));
        assertThat(c.upstream().bundleFilePath()).isNull();
        assertThat(c.healthChecks().bindPort()).isEqualTo(8080);
        assertThat(c.logLevel()).isEqualTo("DEBUG");
    }

    @Test
    void defaultsFollowSpire() throws Exception {
        ServerConfig c =
                ServerConfigParser.parse(
                        """
                server { trust_domain = "example.org"  data_dir = "d" }
                plugins { DataStore "sql" { plugin_data { database_type = "sqlite3" } }
                          KeyManager "memory" {}
                          NodeAttestor "join_token" {} }
                """,
                        "s.conf");
        assertThat(c.bindPort()).isEqualTo(8081);
        assertThat(c.caTtl()).isEqualTo(Duration.ofHours(24));
        assertThat(c.defaultX509SvidTtl()).isEqualTo(Duration.ofHours(1));
        assertThat(c.defaultJwtSvidTtl()).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.caKeyType()).isEqualTo("ec-p256");
        assertThat(c.socketPath()).isEqualTo(ServerConfig.DEFAULT_SOCKET_PATH);
        assertThat(c.upstream()).isNull();
    }

    @Test
    void unknownServerKeyIsAnErrorWithFileAndLine() throws Exception {
        Path f = dir.resolve("server.conf");
        Files.writeString(
                f, SPIRE_CONF.replace("    bind_port = \"8081\"", "    bind_prot = \"8081\""));
        assertThatThrownBy(() -> ServerConfigParser.parseFile(f))
                .isInstanceOf(HclException.class)
                .hasMessageStartingWith(f + ":3:")
                .hasMessageContaining("bind_prot")
                .hasMessageContaining("bind_port");
    }

    @Test
    void unknownPluginIsAnErrorWithItsLine() {
        String conf = SPIRE_CONF.replace("NodeAttestor \"x509pop\"", "NodeAttestor \"aws_iid\"");
        assertThatThrownBy(() -> ServerConfigParser.parse(conf, "server.conf"))
                .isInstanceOf(HclException.class)
                .hasMessageStartingWith("server.conf:31:")
                .hasMessageContaining("NodeAttestor \"aws_iid\" is not supported");
    }

    @Test
    void unknownPluginDataKeyIsAnError() {
        String conf = SPIRE_CONF.replace("key_file_path =", "key_file =");
        assertThatThrownBy(() -> ServerConfigParser.parse(conf, "server.conf"))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("key_file")
                .hasMessageContaining("server.conf:");
    }

    @Test
    void invalidTrustDomainNamesTheLine() {
        String conf =
                SPIRE_CONF.replace(
                        "trust_domain = \"example.org\"", "trust_domain = \"Example Org\"");
        assertThatThrownBy(() -> ServerConfigParser.parse(conf, "server.conf"))
                .isInstanceOf(HclException.class)
                .hasMessageStartingWith("server.conf:5:")
                .hasMessageContaining("trust_domain");
    }

    @Test
    void unsupportedDatabaseTypeIsAnError() {
        String conf =
                SPIRE_CONF.replace("database_type = \"sqlite3\"", "database_type = \"mysql\"");
        assertThatThrownBy(() -> ServerConfigParser.parse(conf, "server.conf"))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("mysql")
                .hasMessageContaining("server.conf:21:");
    }

    @Test
    void spirePoolKeysSizeThePostgresPool() throws Exception {
        String conf =
                SPIRE_CONF
                        .replace("database_type = \"sqlite3\"", "database_type = \"postgres\"")
                        .replace(
                                "connection_string = \"/run/spire/data/datastore.sqlite3\"",
                                "connection_string = \"dbname=spire host=db\"\n max_open_conns = 20\n max_idle_conns = \"5\"\n conn_max_lifetime = \"1h\"");
        ServerConfig.DataStoreConfig d = ServerConfigParser.parse(conf, "server.conf").dataStore();
        assertThat(d.maxOpenConns()).isEqualTo(20);
        assertThat(d.maxIdleConns()).isEqualTo(5);
        assertThat(d.connMaxLifetime()).isEqualTo(Duration.ofHours(1));
        ServerConfig.DataStoreConfig defaults =
                ServerConfigParser.parse(SPIRE_CONF, "server.conf").dataStore();
        assertThat(defaults.maxOpenConns())
                .isEqualTo(ServerConfig.DataStoreConfig.DEFAULT_MAX_OPEN_CONNS);
        assertThat(defaults.maxIdleConns())
                .isEqualTo(ServerConfig.DataStoreConfig.DEFAULT_MAX_IDLE_CONNS);
        assertThat(defaults.connMaxLifetime()).isZero();
        assertThatThrownBy(
                        () ->
                                ServerConfigParser.parse(
                                        SPIRE_CONF.replace(
                                                "database_type = \"sqlite3\"",
                                                "database_type = \"sqlite3\"\n max_open_conns = 0"),
                                        "server.conf"))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("max_open_conns must be between 1 and 10000")
                .hasMessageContaining("server.conf:");
    }

    @Test
    void missingDataStoreIsAnError() {
        assertThatThrownBy(
                        () ->
                                ServerConfigParser.parse(
                                        """
                server { trust_domain = "example.org"  data_dir = "d" }
                plugins { KeyManager "memory" {}  NodeAttestor "join_token" {} }
                """,
                                        "s.conf"))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("DataStore \"sql\" is required");
    }

    @Test
    void projectExampleConfigsParseWithExpandEnv() throws Exception {
        for (String c : new String[] {"cluster1", "cluster2"}) {
            Path f = Path.of("../examples/two-clusters/" + c + "/server.conf");
            org.junit.jupiter.api.Assumptions.assumeTrue(
                    Files.exists(f), "example config " + f + " not in this checkout");
            ServerConfig cfg = ServerConfigParser.parseFile(f, true);
            assertThat(cfg.trustDomain().name()).isEqualTo("example.org");
            assertThat(cfg.upstream()).isNotNull();
            assertThat(cfg.caKeyType()).isEqualTo("rsa-2048");
        }
    }

    private static ServerConfig withServerKeys(String keys) throws HclException {
        return ServerConfigParser.parse(
                "server {\n  trust_domain = \"example.org\"\n  data_dir = \"/tmp/x\"\n"
                        + keys
                        + "\n}\nplugins {\n  DataStore \"sql\" { plugin_data { database_type = \"sqlite3\" } }\n"
                        + "  KeyManager \"memory\" { plugin_data {} }\n"
                        + "  NodeAttestor \"join_token\" { plugin_data {} }\n}\n",
                "server.conf");
    }

    @Test
    void ratelimitAndAuditLogAreSpireDefaultsWhenAbsent() throws HclException {
        assertThat(withServerKeys("").api())
                .isEqualTo(io.mithril.server.config.ApiPolicy.SPIRE_DEFAULTS);
    }

    @Test
    void ratelimitAuditLogAndCacheReloadIntervalAreRead() throws HclException {
        ServerConfig cfg =
                withServerKeys(
                        "  ratelimit { attestation = false\n signing = true }\n"
                                + "  audit_log_enabled = true\n"
                                + "  experimental { cache_reload_interval = \"5s\"\n"
                                + " prune_events_older_than = \"12h\" }");
        assertThat(cfg.api())
                .isEqualTo(
                        new io.mithril.server.config.ApiPolicy(
                                false, true, true, java.time.Duration.ofSeconds(5)));
        assertThat(
                        withServerKeys("  cache_reload_interval = \"250ms\"")
                                .api()
                                .cacheReloadInterval())
                .isEqualTo(java.time.Duration.ofMillis(250));
    }

    @Test
    void keysMithrilCannotHonourAreRefusedSayingWhy() {
        assertThatThrownBy(() -> withServerKeys("  admin_ids = [\"spiffe://example.org/admin\"]"))
                .isInstanceOf(HclException.class)
                .hasMessageStartingWith(
                        "server.conf:4:3: admin_ids: Mithril serves the admin API only on its local socket");
        assertThatThrownBy(() -> withServerKeys("  profiling_enabled = true"))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("profiling_enabled: Mithril has no pprof endpoint");
        assertThatThrownBy(() -> withServerKeys("  experimental { events_based_cache = true }"))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("experimental.events_based_cache is not implemented");
        assertThatThrownBy(() -> withServerKeys("  ratelimit { attestations = false }"))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("attestations");
        assertThatThrownBy(() -> withServerKeys("  log_format = \"yaml\""))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("log_format \"yaml\" is not \"text\" or \"json\"");
    }
}
