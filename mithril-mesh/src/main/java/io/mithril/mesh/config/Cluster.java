package io.mithril.mesh.config;

import io.mithril.mesh.model.DestinationRule;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * An Envoy cluster: the endpoints of one service port (and subset), how to pick one, and how to
 * talk to it. Named as Istio names them: {@code
 * outbound|9080|v1|reviews.default.svc.cluster.local}.
 *
 * @param serviceHost the service's host name ({@code destination_service} in metrics)
 * @param type STATIC addresses, or STRICT_DNS host names resolved when connecting
 * @param tls upstream TLS origination, or null for plaintext
 * @param outlierDetection null when off
 * @param connectionPool null for defaults
 */
public record Cluster(
        String name,
        String serviceHost,
        int port,
        String subset,
        Type type,
        List<Endpoint> endpoints,
        DestinationRule.SimpleLb lbPolicy,
        UpstreamTls tls,
        DestinationRule.OutlierDetection outlierDetection,
        DestinationRule.ConnectionPool connectionPool,
        Duration connectTimeout,
        String destinationRule) {

    /** How endpoint addresses are used. */
    public enum Type {
        STATIC,
        STRICT_DNS
    }

    public Cluster {
        endpoints = List.copyOf(endpoints);
    }

    /** Istio's cluster name for a service port and subset. */
    public static String outboundName(int port, String subset, String host) {
        return "outbound|" + port + "|" + (subset == null ? "" : subset) + "|" + host;
    }

    /** An address, port and weight, with the labels and the identity of the workload there. */
    public record Endpoint(
            String address, int port, int weight, Map<String, String> labels, String spiffeId) {
        public Endpoint {
            labels = Map.copyOf(labels);
        }
    }
}
