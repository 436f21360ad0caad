package io.mithril.agent.config;

import io.mithril.hcl.HclException;
import io.mithril.hcl.HclObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reads {@code WorkloadAttestor "k8s" { plugin_data { .. } }} with SPIRE's keys. */
final class K8sWorkloadAttestorParser {

    private static final Logger log = LoggerFactory.getLogger(K8sWorkloadAttestorParser.class);

    static final Set<String> KEYS =
            Set.of(
                    "kubelet_read_only_port",
                    "kubelet_secure_port",
                    "skip_kubelet_verification",
                    "kubelet_ca_path",
                    "token_path",
                    "use_anonymous_authentication",
                    "node_name_env",
                    "node_name",
                    "max_poll_attempts",
                    "poll_retry_interval",
                    "disable_container_selectors",
                    "reload_interval",
                    "use_new_container_locator",
                    "verbose_container_locator_logs",
                    "disable_kubelet_client",
                    "certificate_path",
                    "private_key_path",
                    "enable_namespace_labels",
                    "sigstore",
                    "experimental");

    private K8sWorkloadAttestorParser() {}

    static K8sWorkloadAttestorConfig parse(HclObject data, String what, UnaryOperator<String> env)
            throws HclException {
        data.requireOnly(KEYS, what);
        for (String k :
                new String[] {
                    "certificate_path",
                    "private_key_path",
                    "enable_namespace_labels",
                    "sigstore",
                    "experimental",
                    "disable_kubelet_client"
                }) {
            if (data.has(k)) {
                throw new HclException(
                        data.position(k),
                        what + ": " + k + " is not supported by Mithril's k8s attestor; remove it");
            }
        }
        // SPIRE: use_new_container_locator unset means true.
        boolean newLocator = data.bool("use_new_container_locator", true);
        if (newLocator) {
            log.info("{}: using the new container locator", what);
        } else {
            log.warn(
                    "{}: using the legacy container locator (use_new_container_locator = false). This option will be removed in a "
                            + "future release.",
                    data.position("use_new_container_locator"));
        }
        if (data.bool("skip_kubelet_verification", false)) {
            log.warn(
                    "{}: skip_kubelet_verification = true: the kubelet's certificate is not checked, so the agent's token goes to "
                            + "whatever answers on the kubelet's port; set kubelet_ca_path instead (see docs/plugin_agent_workloadattestor_k8s.md)",
                    data.position("skip_kubelet_verification"));
        }
        long readOnly = data.number("kubelet_read_only_port", 0);
        long secure = data.number("kubelet_secure_port", 0);
        String nodeNameEnv =
                data.string("node_name_env")
                        .filter(s -> !s.isEmpty())
                        .orElse(K8sWorkloadAttestorConfig.DEFAULT_NODE_NAME_ENV);
        String nodeName =
                data.string("node_name")
                        .filter(s -> !s.isEmpty())
                        .orElseGet(
                                () -> {
                                    String v = env.apply(nodeNameEnv);
                                    return v == null ? "" : v;
                                });
        Duration interval =
                data.duration(
                        "poll_retry_interval",
                        K8sWorkloadAttestorConfig.DEFAULT_POLL_RETRY_INTERVAL);
        if (interval.isNegative() || interval.isZero()) {
            interval = K8sWorkloadAttestorConfig.DEFAULT_POLL_RETRY_INTERVAL;
        }
        long attempts = data.number("max_poll_attempts", 0);
        try {
            return new K8sWorkloadAttestorConfig(
                    (int) readOnly,
                    (int) secure,
                    data.bool("skip_kubelet_verification", false),
                    data.string("kubelet_ca_path")
                            .filter(s -> !s.isEmpty())
                            .map(Path::of)
                            .orElse(K8sWorkloadAttestorConfig.DEFAULT_KUBELET_CA_PATH),
                    data.string("token_path")
                            .filter(s -> !s.isEmpty())
                            .map(Path::of)
                            .orElse(K8sWorkloadAttestorConfig.DEFAULT_TOKEN_PATH),
                    data.bool("use_anonymous_authentication", false),
                    nodeName,
                    attempts <= 0
                            ? K8sWorkloadAttestorConfig.DEFAULT_MAX_POLL_ATTEMPTS
                            : (int) attempts,
                    interval,
                    data.bool("disable_container_selectors", false),
                    newLocator,
                    data.bool("verbose_container_locator_logs", false),
                    null);
        } catch (IllegalArgumentException e) {
            throw new HclException(data.position(), what + ": " + e.getMessage());
        }
    }
}
