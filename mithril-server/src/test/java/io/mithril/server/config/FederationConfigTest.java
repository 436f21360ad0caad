package io.mithril.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.hcl.HclException;
import io.mithril.server.federation.Relationship;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** SPIRE's {@code server.federation} block, as in SPIRE's server_full.conf and federation docs. */
class FederationConfigTest {

    static ServerConfig parse(String federation) throws HclException {
        return ServerConfigParser.parse(
                """
                server {
                    trust_domain = "example.org"
                    data_dir = "/tmp/data"
                %s
                }
                plugins {
                    DataStore "sql" { plugin_data { database_type = "sqlite3" } }
                    KeyManager "memory" { plugin_data {} }
                    NodeAttestor "join_token" { plugin_data {} }
                }
                """
                        .formatted(federation),
                "server.conf");
    }

    @Test
    void spiresFederationBlockIsRead() throws HclException {
        FederationConfig f =
                parse(
                                """
                    federation {
                        bundle_endpoint {
                            address = "0.0.0.0"
                            port = 8443
                            refresh_hint = "10m"
                            profile "https_web" {
                                serving_cert_file {
                                    cert_file_path = "/etc/spire/bundle.crt"
                                    key_file_path = "/etc/spire/bundle.key"
                                    file_sync_interval = "30s"
                                }
                            }
                        }
                        federates_with "domain1.test" {
                            bundle_endpoint_url = "https://1.2.3.4:8443"
                            bundle_endpoint_profile "https_web" {}
                        }
                        federates_with "domain2.test" {
                            bundle_endpoint_url = "https://5.6.7.8:8443"
                            bundle_endpoint_profile "https_spiffe" {
                                endpoint_spiffe_id = "spiffe://domain2.test/beacon"
                            }
                        }
                    }
                """)
                        .federation();
        FederationConfig.BundleEndpoint be = f.bundleEndpoint();
        assertThat(be.address()).isEqualTo("0.0.0.0");
        assertThat(be.port()).isEqualTo(8443);
        assertThat(be.refreshHint()).isEqualTo(Duration.ofMinutes(10));
        assertThat(be.profile()).isEqualTo(Relationship.Profile.HTTPS_WEB);
        assertThat(be.certFilePath()).isEqualTo(Path.of("/etc/spire/bundle.crt"));
        assertThat(be.keyFilePath()).isEqualTo(Path.of("/etc/spire/bundle.key"));
        assertThat(be.fileSyncInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(f.federatesWith())
                .containsExactly(
                        Relationship.of("domain1.test", "https://1.2.3.4:8443", "https_web", null),
                        Relationship.of(
                                "domain2.test",
                                "https://5.6.7.8:8443",
                                "https_spiffe",
                                "spiffe://domain2.test/beacon"));
    }

    /**
     * A federates_with name is a trust domain, nothing more: with a path it is refused at its
     * label, never cut down to its trust domain (which would federate with something other than
     * what was written). {@code "domain.test/path"} is refused as SPIRE refuses it (a '/' is not a
     * trust domain character), and so is the SPIFFE ID form with a path.
     */
    @Test
    void aFederatesWithNameWithAPathIsRefusedAtItsLabel() {
        for (String name :
                new String[] {
                    "domain.test/path", "spiffe://domain.test/path", "spiffe://domain.test/"
                }) {
            assertThatThrownBy(
                            () ->
                                    parse(
                                            """
                        federation {
                            federates_with "%s" {
                                bundle_endpoint_url = "https://1.2.3.4:8443"
                                bundle_endpoint_profile "https_web" {}
                            }
                        }
                    """
                                                    .formatted(name)))
                    .as(name)
                    .isInstanceOf(HclException.class)
                    .hasMessageStartingWith("server.conf:5:")
                    .hasMessageContaining("federates_with \"" + name + "\"");
        }
        assertThatThrownBy(
                        () ->
                                parse(
                                        """
                    federation {
                        federates_with "spiffe://domain.test/path" {
                            bundle_endpoint_url = "https://1.2.3.4:8443"
                            bundle_endpoint_profile "https_web" {}
                        }
                    }
                """))
                .hasMessageContaining("a trust domain has no path");
    }

    @Test
    void httpsSpiffeEndpointWithDefaults() throws HclException {
        FederationConfig.BundleEndpoint be =
                parse(
                                """
                    federation {
                        bundle_endpoint {
                            profile "https_spiffe" {}
                        }
                    }
                """)
                        .federation()
                        .bundleEndpoint();
        assertThat(be.profile()).isEqualTo(Relationship.Profile.HTTPS_SPIFFE);
        assertThat(be.port()).isEqualTo(443);
        assertThat(be.refreshHint()).isEqualTo(Duration.ofMinutes(5));
        assertThat(parse("").federation()).isEqualTo(FederationConfig.NONE);
    }

    @Test
    void mistakesAreNamedWithTheirPosition() {
        assertThatThrownBy(
                        () ->
                                parse(
                                        """
                    federation {
                        federates_with "domain.test" {
                            bundle_endpoint_url = "https://1.2.3.4:8443"
                            bundle_endpoint_profile "https_spiffe" {}
                        }
                    }
                """))
                .isInstanceOf(HclException.class)
                .hasMessageStartingWith("server.conf:5:")
                .hasMessageContaining("needs endpoint_spiffe_id");
        assertThatThrownBy(
                        () ->
                                parse(
                                        """
                    federation {
                        federates_with "domain.test" {
                            bundle_endpoint_url = "http://1.2.3.4:8443"
                            bundle_endpoint_profile "https_web" {}
                        }
                    }
                """))
                .hasMessageContaining("must be an https URL");
        assertThatThrownBy(
                        () ->
                                parse(
                                        """
                    federation {
                        federates_with "example.org" {
                            bundle_endpoint_url = "https://1.2.3.4:8443"
                            bundle_endpoint_profile "https_web" {}
                        }
                    }
                """))
                .hasMessageContaining("does not federate with its own trust domain");
        assertThatThrownBy(
                        () ->
                                parse(
                                        """
                    federation {
                        bundle_endpoint {
                            profile "https_web" {
                                acme { domain_name = "example.org" }
                            }
                        }
                    }
                """))
                .hasMessageContaining("acme is not supported");
        assertThatThrownBy(
                        () ->
                                parse(
                                        """
                    federation {
                        bundle_endpoint {
                            profile "https_web" {}
                        }
                    }
                """))
                .hasMessageContaining("serving_cert_file");
        assertThatThrownBy(
                        () ->
                                parse(
                                        """
                    federation {
                        bundle_endpoint {
                            port = 8443
                            refreshhint = "5m"
                        }
                    }
                """))
                .hasMessageContaining("refreshhint");
        assertThatThrownBy(
                        () ->
                                parse(
                                        """
                    federation {
                        federates_with "domain.test" {
                            bundle_endpoint_url = "https://1.2.3.4:8443"
                            bundle_endpoint_profile "https_web" {}
                        }
                        federates_with "domain.test" {
                            bundle_endpoint_url = "https://1.2.3.4:8443"
                            bundle_endpoint_profile "https_web" {}
                        }
                    }
                """))
                .hasMessageContaining("trust domain given twice");
    }
}
