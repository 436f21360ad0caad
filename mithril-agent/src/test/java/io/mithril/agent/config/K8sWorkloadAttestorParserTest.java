package io.mithril.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.hcl.Hcl;
import io.mithril.hcl.HclException;
import io.mithril.hcl.HclObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code WorkloadAttestor "k8s"}'s keys, as SPIRE's documentation writes them. */
class K8sWorkloadAttestorParserTest {

    private static K8sWorkloadAttestorConfig parse(String body, Map<String, String> env)
            throws HclException {
        HclObject data = Hcl.parse(body, "agent.conf");
        return K8sWorkloadAttestorParser.parse(
                data, "WorkloadAttestor \"k8s\" plugin_data", env::get);
    }

    @Test
    void spiresDefaultsAndTheNodeNameFromTheEnvironment() throws Exception {
        K8sWorkloadAttestorConfig c =
                parse("skip_kubelet_verification = true\n", Map.of("MY_NODE_NAME", "node-7"));
        assertThat(c.secure()).isTrue();
        assertThat(c.port()).isEqualTo(10250);
        assertThat(c.nodeName()).isEqualTo("node-7");
        assertThat(c.tokenPath())
                .isEqualTo(Path.of("/var/run/secrets/kubernetes.io/serviceaccount/token"));
        assertThat(c.kubeletCaPath())
                .isEqualTo(Path.of("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"));
        assertThat(c.maxPollAttempts()).isEqualTo(60);
        assertThat(c.pollRetryInterval()).isEqualTo(Duration.ofMillis(500));
        assertThat(c.procRoot()).isEqualTo(Path.of("/proc"));
        K8sWorkloadAttestorConfig ro =
                parse(
                        "kubelet_read_only_port = 10255\nnode_name_env = \"NODE\"\ndisable_container_selectors = true\n",
                        Map.of("NODE", "n1"));
        assertThat(ro.secure()).isFalse();
        assertThat(ro.port()).isEqualTo(10255);
        assertThat(ro.nodeName()).isEqualTo("n1");
        assertThat(ro.disableContainerSelectors()).isTrue();
    }

    /** As in SPIRE, the new container locator is used unless use_new_container_locator = false. */
    @Test
    void theNewContainerLocatorIsTheDefault() throws Exception {
        K8sWorkloadAttestorConfig c = parse("", Map.of());
        assertThat(c.useNewContainerLocator()).isTrue();
        assertThat(c.verboseContainerLocatorLogs()).isFalse();
        K8sWorkloadAttestorConfig legacy =
                parse(
                        "use_new_container_locator = false\nverbose_container_locator_logs = true\n",
                        Map.of());
        assertThat(legacy.useNewContainerLocator()).isFalse();
        assertThat(legacy.verboseContainerLocatorLogs()).isTrue();
        assertThat(parse("use_new_container_locator = true\n", Map.of()).useNewContainerLocator())
                .isTrue();
        assertThatThrownBy(() -> parse("use_new_container_locator = \"yes\"\n", Map.of()))
                .hasMessageContaining("agent.conf:1");
    }

    /**
     * Unless told otherwise, the kubelet's serving certificate is verified, against the service
     * account's CA.
     */
    @Test
    void theKubeletsCertificateIsVerifiedByDefault() throws Exception {
        K8sWorkloadAttestorConfig c = parse("kubelet_secure_port = 10250\n", Map.of());
        assertThat(c.skipKubeletVerification()).isFalse();
        assertThat(c.kubeletCaPath()).isEqualTo(K8sWorkloadAttestorConfig.DEFAULT_KUBELET_CA_PATH);
        assertThat(parse("kubelet_ca_path = \"/hostCert/kubelet.crt\"\n", Map.of()).kubeletCaPath())
                .isEqualTo(Path.of("/hostCert/kubelet.crt"));
    }

    @Test
    void contradictionsAndUnsupportedKeysAreRefused() {
        assertThatThrownBy(
                        () ->
                                parse(
                                        "kubelet_read_only_port = 10255\nkubelet_secure_port = 10250\n",
                                        Map.of()))
                .hasMessageContaining("cannot use both the read-only and secure port");
        assertThatThrownBy(() -> parse("enable_namespace_labels = true\n", Map.of()))
                .hasMessageContaining("agent.conf:1:1")
                .hasMessageContaining("enable_namespace_labels is not supported");
        assertThatThrownBy(() -> parse("kubelet_readonly_port = 10255\n", Map.of()))
                .hasMessageContaining("did you mean \"kubelet_read_only_port\"");
    }
}
