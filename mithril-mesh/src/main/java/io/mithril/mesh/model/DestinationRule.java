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

    /** {@code trafficPolicy}; any part may be null (not set). */
    public record TrafficPolicy(
            LoadBalancer loadBalancer,
            ConnectionPool connectionPool,
            OutlierDetection outlierDetection,
            ClientTls tls) {
        public static final TrafficPolicy EMPTY = new TrafficPolicy(null, null, null, null);

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
