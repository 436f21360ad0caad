package io.mithril.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.hcl.HclException;
import io.mithril.k8s.psat.PsatClusterConfig;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Kubernetes plugins' {@code plugin_data}, written as SPIRE's documentation writes it. */
class K8sPluginsParserTest {

    private static String conf(String plugins) {
        return """
                server {
                    trust_domain = "example.org"
                    data_dir = "/tmp/mithril-k8s-parse"
                }
                plugins {
                    DataStore "sql" {
                        plugin_data {
                            database_type = "sqlite3"
                        }
                    }
                    KeyManager "memory" {
                        plugin_data {}
                    }
                %s
                }
                """
                .formatted(plugins);
    }

    @Test
    void spiresK8sPsatSamplesParse() throws Exception {
        ServerConfig c =
                ServerConfigParser.parse(
                        conf(
                                """
                    NodeAttestor "k8s_psat" {
                        plugin_data {
                            clusters = {
                                "MyCluster" = {
                                    service_account_allow_list = ["production:spire-agent"]
                                    kube_config_file = "path/to/kubeconfig/file"
                                    allowed_node_label_keys = ["topology.kubernetes.io/zone"]
                                }
                                "MyClusterPods" = {
                                    service_account_allow_list = ["spire:spire-broker-agent"]
                                    audience = []
                                    use_pod_uid_for_agent_id = true
                                }
                            }
                        }
                    }
                """),
                        "server.conf");
        assertThat(c.joinToken()).isFalse();
        assertThat(c.kubernetes().psatClusters())
                .containsExactly(
                        new PsatClusterConfig(
                                "MyCluster",
                                List.of("production:spire-agent"),
                                null,
                                Path.of("path/to/kubeconfig/file"),
                                List.of("topology.kubernetes.io/zone"),
                                List.of(),
                                false),
                        new PsatClusterConfig(
                                "MyClusterPods",
                                List.of("spire:spire-broker-agent"),
                                List.of(),
                                null,
                                List.of(),
                                List.of(),
                                true));
        assertThat(c.kubernetes().psatClusters().get(0).audience()).containsExactly("spire-server");
    }

    @Test
    void badK8sPsatSettingsAreRefusedWithTheirPosition() {
        assertThatThrownBy(
                        () ->
                                ServerConfigParser.parse(
                                        conf(
                                                """
                    NodeAttestor "k8s_psat" {
                        plugin_data {
                            clusters = {
                                "c1" = {
                                    service_acount_allow_list = ["spire:spire-agent"]
                                }
                            }
                        }
                    }
                """),
                                        "server.conf"))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("server.conf:18:21:")
                .hasMessageContaining("did you mean \"service_account_allow_list\"");
        assertThatThrownBy(() -> psatCluster("service_account_allow_list = []"))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("must have at least one service account allowed");
        assertThatThrownBy(() -> psatCluster("service_account_allow_list = [\"spire-agent\"]"))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("\"<namespace>:<service account>\"");
    }

    private static ServerConfig psatCluster(String body) throws HclException {
        return ServerConfigParser.parse(
                conf(
                        """
                    NodeAttestor "k8s_psat" {
                        plugin_data {
                            clusters = {
                                "c1" = {
                                    %s
                                }
                            }
                        }
                    }
                """
                                .formatted(body)),
                "server.conf");
    }

    @Test
    void bundlePublisherAndTheOlderNotifierName() throws Exception {
        ServerConfig c =
                ServerConfigParser.parse(
                        conf(
                                """
                    NodeAttestor "join_token" {
                        plugin_data {}
                    }
                    BundlePublisher "k8s_configmap" {
                        plugin_data {
                            clusters = {
                                "example-cluster-1" = {
                                    configmap_name = "example.org"
                                    configmap_key = "bundle"
                                    namespace = "spire"
                                    kubeconfig_path = "/file/path/cluster-1"
                                    format = "pem"
                                }
                            }
                        }
                    }
                    Notifier "k8sbundle" {
                        plugin_data {
                            namespace = "mithril"
                        }
                    }
                """),
                        "server.conf");
        assertThat(c.kubernetes().bundleConfigMaps())
                .containsExactly(
                        new K8sPlugins.BundleConfigMap(
                                "k8s_configmap",
                                "spire",
                                "example.org",
                                "bundle",
                                Path.of("/file/path/cluster-1"),
                                "pem"),
                        new K8sPlugins.BundleConfigMap(
                                "k8sbundle", "mithril", "spire-bundle", "bundle.crt", null, "pem"));
        assertThatThrownBy(
                        () ->
                                ServerConfigParser.parse(
                                        conf(
                                                """
                    NodeAttestor "join_token" {
                        plugin_data {}
                    }
                    Notifier "k8sbundle" {
                        plugin_data {
                            webhook_label = "spiffe.io/webhook"
                        }
                    }
                """),
                                        "server.conf"))
                .isInstanceOf(HclException.class)
                .hasMessageContaining("webhook_label");
    }
}
