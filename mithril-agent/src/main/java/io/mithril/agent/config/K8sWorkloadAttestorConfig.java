package io.mithril.agent.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code WorkloadAttestor "k8s"}, with SPIRE's keys and defaults.
 *
 * @param kubeletReadOnlyPort {@code kubelet_read_only_port}: when above 0, the kubelet is asked
 *     over plain HTTP at {@code 127.0.0.1:<port>} (SPIRE's behaviour)
 * @param kubeletSecurePort {@code kubelet_secure_port} (default 10250), used when no read-only port
 * @param skipKubeletVerification {@code skip_kubelet_verification}
 * @param kubeletCaPath {@code kubelet_ca_path}: the CA the kubelet's certificate chains to
 * @param tokenPath {@code token_path}: the bearer token sent to the secure port
 * @param useAnonymousAuthentication {@code use_anonymous_authentication}: send no token
 * @param nodeName the kubelet host for the secure port: {@code node_name}, else the environment
 *     variable {@code node_name_env} (default {@code MY_NODE_NAME}); empty means 127.0.0.1 with the
 *     certificate chain checked but not its host name (as SPIRE)
 * @param maxPollAttempts {@code max_poll_attempts} (default 60)
 * @param pollRetryInterval {@code poll_retry_interval} (default 500ms)
 * @param disableContainerSelectors {@code disable_container_selectors}
 * @param useNewContainerLocator {@code use_new_container_locator} (default true, as SPIRE): find
 *     the container with SPIRE's new locator (cgroup file, then the cgroup mounts of {@code
 *     mountinfo}); false keeps SPIRE's legacy cgroup-file expressions
 * @param verboseContainerLocatorLogs {@code verbose_container_locator_logs}: the new locator logs
 *     (debug) every cgroup and mount it reads
 * @param procRoot where {@code <pid>/cgroup} and {@code <pid>/mountinfo} are read (the host's
 *     {@code /proc}; tests use their own)
 */
public record K8sWorkloadAttestorConfig(
        int kubeletReadOnlyPort,
        int kubeletSecurePort,
        boolean skipKubeletVerification,
        Path kubeletCaPath,
        Path tokenPath,
        boolean useAnonymousAuthentication,
        String nodeName,
        int maxPollAttempts,
        Duration pollRetryInterval,
        boolean disableContainerSelectors,
        boolean useNewContainerLocator,
        boolean verboseContainerLocatorLogs,
        Path procRoot) {

    public static final int DEFAULT_SECURE_PORT = 10250;
    public static final Path DEFAULT_KUBELET_CA_PATH =
            Path.of("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
    public static final Path DEFAULT_TOKEN_PATH =
            Path.of("/var/run/secrets/kubernetes.io/serviceaccount/token");
    public static final String DEFAULT_NODE_NAME_ENV = "MY_NODE_NAME";
    public static final int DEFAULT_MAX_POLL_ATTEMPTS = 60;
    public static final Duration DEFAULT_POLL_RETRY_INTERVAL = Duration.ofMillis(500);

    public K8sWorkloadAttestorConfig {
        if (kubeletReadOnlyPort > 0 && kubeletSecurePort > 0) {
            throw new IllegalArgumentException("cannot use both the read-only and secure port");
        }
        if (maxPollAttempts < 1) {
            throw new IllegalArgumentException("max_poll_attempts must be at least 1");
        }
        nodeName = nodeName == null ? "" : nodeName;
        procRoot = procRoot == null ? Path.of("/proc") : procRoot;
    }

    /** Whether the kubelet is reached over HTTPS. */
    public boolean secure() {
        return kubeletReadOnlyPort <= 0;
    }

    /** The port the kubelet is reached on. */
    public int port() {
        return kubeletReadOnlyPort > 0
                ? kubeletReadOnlyPort
                : kubeletSecurePort > 0 ? kubeletSecurePort : DEFAULT_SECURE_PORT;
    }

    /** A copy with {@code use_new_container_locator} set. */
    public K8sWorkloadAttestorConfig withNewContainerLocator(boolean use) {
        return new K8sWorkloadAttestorConfig(
                kubeletReadOnlyPort,
                kubeletSecurePort,
                skipKubeletVerification,
                kubeletCaPath,
                tokenPath,
                useAnonymousAuthentication,
                nodeName,
                maxPollAttempts,
                pollRetryInterval,
                disableContainerSelectors,
                use,
                verboseContainerLocatorLogs,
                procRoot);
    }

    /** A copy reading cgroup files under another {@code /proc} (tests write real files there). */
    public K8sWorkloadAttestorConfig withProcRoot(Path root) {
        return new K8sWorkloadAttestorConfig(
                kubeletReadOnlyPort,
                kubeletSecurePort,
                skipKubeletVerification,
                kubeletCaPath,
                tokenPath,
                useAnonymousAuthentication,
                nodeName,
                maxPollAttempts,
                pollRetryInterval,
                disableContainerSelectors,
                useNewContainerLocator,
                verboseContainerLocatorLogs,
                root);
    }
}
