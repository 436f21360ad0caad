package io.mithril.mesh.model;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * {@code networking.istio.io DestinationRule}: policies for traffic to {@code host} (which may be a
 * wildcard such as {@code *.svc.cluster.local}; the most specific rule wins).
 */
public record DestinationRule(
        Metadata metadata,
        Origin origin,
        String host,
        TrafficPolicy trafficPolicy,
        List<Subset> subsets,
        List<String> exportTo)
        implements Resource {
    public DestinationRule {
        subsets = List.copyOf(subsets);
        exportTo = List.copyOf(exportTo);
    }

    /**
     * {@code trafficPolicy}; any part may be null (not set). {@code portLevelSettings} holds the
     * policies of single service ports (each without port-level settings of its own).
     */
    public record TrafficPolicy(
            LoadBalancer loadBalancer,
            ConnectionPool connectionPool,
            OutlierDetection outlierDetection,
            ClientTls tls,
            Map<Integer, TrafficPolicy> portLevelSettings) {
        public static final TrafficPolicy EMPTY = new TrafficPolicy(null, null, null, null);

        public TrafficPolicy {
            portLevelSettings =
                    portLevelSettings == null ? Map.of() : Map.copyOf(portLevelSettings);
        }

        /** A policy without port-level settings. */
        public TrafficPolicy(
                LoadBalancer loadBalancer,
                ConnectionPool connectionPool,
                OutlierDetection outlierDetection,
                ClientTls tls) {
            this(loadBalancer, connectionPool, outlierDetection, tls, Map.of());
        }

        /**
         * This policy with {@code over}'s parts replacing ours where {@code over} sets them (subset
         * policies).
         */
        public TrafficPolicy overriddenBy(TrafficPolicy over) {
            if (over == null) {
                return this;
            }
            return new TrafficPolicy(
                    over.loadBalancer != null ? over.loadBalancer : loadBalancer,
                    over.connectionPool != null ? over.connectionPool : connectionPool,
                    over.outlierDetection != null ? over.outlierDetection : outlierDetection,
                    over.tls != null ? over.tls : tls);
        }

        /**
         * The policy in force on service port {@code port}, as istiod merges it ({@code
         * MergeTrafficPolicy}): a port-level setting for that port replaces the load balancer,
         * connection pool, outlier detection and TLS all together (what it leaves out falls back to
         * the defaults, not to this policy's values); otherwise this policy.
         */
        public TrafficPolicy atPort(int port) {
            TrafficPolicy p = portLevelSettings.get(port);
            return p == null
                    ? new TrafficPolicy(loadBalancer, connectionPool, outlierDetection, tls)
                    : new TrafficPolicy(
                            p.loadBalancer, p.connectionPool, p.outlierDetection, p.tls);
        }
    }

    /** {@code loadBalancer.simple}. */
    public enum SimpleLb {
        UNSPECIFIED,
        LEAST_CONN,
        LEAST_REQUEST,
        RANDOM,
        PASSTHROUGH,
        ROUND_ROBIN
    }

    /** {@code loadBalancer}. */
    public record LoadBalancer(SimpleLb simple) {}

    /** {@code connectionPool} (tcp.maxConnections, tcp.connectTimeout, http.*). */
    public record ConnectionPool(
            Integer maxConnections,
            Duration connectTimeout,
            Integer http1MaxPendingRequests,
            Integer http2MaxRequests,
            Integer maxRequestsPerConnection,
            Integer maxRetries,
            Duration idleTimeout) {}

    /** {@code outlierDetection}. */
    public record OutlierDetection(
            int consecutive5xxErrors,
            Duration interval,
            Duration baseEjectionTime,
            int maxEjectionPercent) {}

    /** {@code tls.mode} of a DestinationRule. */
    public enum ClientTlsMode {
        DISABLE,
        SIMPLE,
        MUTUAL,
        ISTIO_MUTUAL
    }

    /** {@code trafficPolicy.tls}. */
    public record ClientTls(
            ClientTlsMode mode,
            String clientCertificate,
            String privateKey,
            String caCertificates,
            String credentialName,
            List<String> subjectAltNames,
            String sni,
            boolean insecureSkipVerify) {
        public ClientTls {
            subjectAltNames = List.copyOf(subjectAltNames);
        }
    }

    /** {@code subsets[]}: a named group of endpoints (by labels) with its own policy. */
    public record Subset(String name, Map<String, String> labels, TrafficPolicy trafficPolicy) {
        public Subset {
            labels = Map.copyOf(labels);
        }
    }
}
