package io.mithril.agent.config;

import io.mithril.api.observability.HealthChecksConfig;
import io.mithril.api.observability.TelemetryConfig;
import io.mithril.spiffe.id.TrustDomain;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The agent's configuration (SPIRE's {@code agent.conf}), resolved and validated.
 *
 * @param trustDomain the trust domain of the agent and its server
 * @param dataDir where the agent keeps its SVID, key and the last bundle
 * @param logLevel DEBUG, INFO, WARN or ERROR
 * @param serverAddress the server's host name or IP
 * @param serverPort the server's agent API port
 * @param socketPath the Workload API socket
 * @param trustBundlePath PEM roots to verify the server with at bootstrap, or null
 * @param insecureBootstrap trust the server without verification at first attestation
 * @param joinToken a join token (from the file or -joinToken), or null
 * @param nodeAttestor the node attestor plugin
 * @param keyManager {@code disk} or {@code memory}
 * @param keyManagerDirectory the disk key manager's directory
 * @param unix the unix workload attestor's settings
 * @param syncInterval how often entries and bundles are synced (SPIRE: about 5s)
 * @param telemetry the Prometheus {@code /metrics} listener ({@code telemetry { Prometheus { .. }
 *     }}), or null
 * @param healthChecks the HTTP health listener ({@code health_checks { .. }}), or null
 * @param sds the names Envoy's SDS requests use ({@code agent { sds { .. } }})
 * @param k8s the {@code k8s} workload attestor's settings, or null when it is not configured
 */
public record AgentConfig(
        TrustDomain trustDomain,
        Path dataDir,
        String logLevel,
        String serverAddress,
        int serverPort,
        Path socketPath,
        Path trustBundlePath,
        boolean insecureBootstrap,
        String joinToken,
        NodeAttestorConfig nodeAttestor,
        String keyManager,
        Path keyManagerDirectory,
        UnixAttestorConfig unix,
        Duration syncInterval,
        TelemetryConfig telemetry,
        HealthChecksConfig healthChecks,
        SdsConfig sds,
        K8sWorkloadAttestorConfig k8s) {

    /** Without the {@code k8s} workload attestor. */
    public AgentConfig(
            TrustDomain trustDomain,
            Path dataDir,
            String logLevel,
            String serverAddress,
            int serverPort,
            Path socketPath,
            Path trustBundlePath,
            boolean insecureBootstrap,
            String joinToken,
            NodeAttestorConfig nodeAttestor,
            String keyManager,
            Path keyManagerDirectory,
            UnixAttestorConfig unix,
            Duration syncInterval,
            TelemetryConfig telemetry,
            HealthChecksConfig healthChecks,
            SdsConfig sds) {
        this(
                trustDomain,
                dataDir,
                logLevel,
                serverAddress,
                serverPort,
                socketPath,
                trustBundlePath,
                insecureBootstrap,
                joinToken,
                nodeAttestor,
                keyManager,
                keyManagerDirectory,
                unix,
                syncInterval,
                telemetry,
                healthChecks,
                sds,
                null);
    }

    /** The default Workload API socket. */
    public static final Path DEFAULT_SOCKET_PATH = Path.of("/tmp/mithril/agent/public/api.sock");

    /** The default sync interval. */
    public static final Duration DEFAULT_SYNC_INTERVAL = Duration.ofSeconds(5);

    /**
     * The node attestor: {@code join_token}, {@code x509pop} with its PEM files, or {@code
     * k8s_psat} with its {@code cluster} and {@code token_path}.
     */
    public record NodeAttestorConfig(
            String type,
            Path certificatePath,
            Path privateKeyPath,
            Path intermediatesPath,
            String cluster,
            Path tokenPath) {
        public NodeAttestorConfig(
                String type, Path certificatePath, Path privateKeyPath, Path intermediatesPath) {
            this(type, certificatePath, privateKeyPath, intermediatesPath, null, null);
        }

        public static NodeAttestorConfig joinToken() {
            return new NodeAttestorConfig("join_token", null, null, null);
        }

        /**
         * {@code NodeAttestor "k8s_psat"}: the cluster name the server knows, and the projected
         * token's file.
         */
        public static NodeAttestorConfig k8sPsat(String cluster, Path tokenPath) {
            return new NodeAttestorConfig("k8s_psat", null, null, null, cluster, tokenPath);
        }
    }

    /**
     * SPIRE's {@code sds} block: the resource names Envoy asks the SDS API for.
     *
     * @param defaultSvidName the name of the caller's default X509-SVID ({@code default})
     * @param defaultBundleName the name of the trust domain's bundle ({@code ROOTCA})
     * @param defaultAllBundlesName the name of all bundles, own and federated ({@code ALL})
     * @param disableSpiffeCertValidation send {@code ALL} as plain trusted CAs instead of Envoy's
     *     SPIFFE certificate validator
     */
    public record SdsConfig(
            String defaultSvidName,
            String defaultBundleName,
            String defaultAllBundlesName,
            boolean disableSpiffeCertValidation) {
        /** SPIRE's defaults. */
        public static final SdsConfig DEFAULTS = new SdsConfig("default", "ROOTCA", "ALL", false);
    }

    /** The unix workload attestor: {@code discover_workload_path}, {@code workload_size_limit}. */
    public record UnixAttestorConfig(boolean discoverWorkloadPath, long workloadSizeLimit) {}

    /** A copy with another join token (the {@code -joinToken} flag wins over the file). */
    public AgentConfig withJoinToken(String token) {
        return new AgentConfig(
                trustDomain,
                dataDir,
                logLevel,
                serverAddress,
                serverPort,
                socketPath,
                trustBundlePath,
                insecureBootstrap,
                token,
                nodeAttestor,
                keyManager,
                keyManagerDirectory,
                unix,
                syncInterval,
                telemetry,
                healthChecks,
                sds,
                k8s);
    }

    /** A copy with another socket path. */
    public AgentConfig withSocketPath(Path path) {
        return new AgentConfig(
                trustDomain,
                dataDir,
                logLevel,
                serverAddress,
                serverPort,
                path,
                trustBundlePath,
                insecureBootstrap,
                joinToken,
                nodeAttestor,
                keyManager,
                keyManagerDirectory,
                unix,
                syncInterval,
                telemetry,
                healthChecks,
                sds,
                k8s);
    }

    /** A copy with another sync interval (tests use a short one). */
    public AgentConfig withSyncInterval(Duration interval) {
        return new AgentConfig(
                trustDomain,
                dataDir,
                logLevel,
                serverAddress,
                serverPort,
                socketPath,
                trustBundlePath,
                insecureBootstrap,
                joinToken,
                nodeAttestor,
                keyManager,
                keyManagerDirectory,
                unix,
                interval,
                telemetry,
                healthChecks,
                sds,
                k8s);
    }

    /** A copy with the {@code k8s} workload attestor configured (or not, with null). */
    public AgentConfig withK8s(K8sWorkloadAttestorConfig k8sConfig) {
        return new AgentConfig(
                trustDomain,
                dataDir,
                logLevel,
                serverAddress,
                serverPort,
                socketPath,
                trustBundlePath,
                insecureBootstrap,
                joinToken,
                nodeAttestor,
                keyManager,
                keyManagerDirectory,
                unix,
                syncInterval,
                telemetry,
                healthChecks,
                sds,
                k8sConfig);
    }

    /** A minimal configuration for programmatic use (tests, embedding): join_token, disk keys. */
    public static AgentConfig of(
            TrustDomain td,
            Path dataDir,
            String serverAddress,
            int serverPort,
            Path socketPath,
            Path trustBundlePath,
            String joinToken) {
        return new AgentConfig(
                td,
                dataDir,
                "INFO",
                serverAddress,
                serverPort,
                socketPath,
                trustBundlePath,
                trustBundlePath == null,
                joinToken,
                NodeAttestorConfig.joinToken(),
                "disk",
                dataDir,
                new UnixAttestorConfig(false, 0),
                DEFAULT_SYNC_INTERVAL,
                null,
                null,
                SdsConfig.DEFAULTS);
    }
}
