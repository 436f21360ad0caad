package io.mithril.mesh.config;

import io.mithril.mesh.model.VirtualService.CorsPolicy;
import io.mithril.mesh.model.VirtualService.Headers;
import java.time.Duration;
import java.util.List;

/**
 * An Envoy route: a match and what to do. {@code source} names the Istio rule it came from ({@code
 * VirtualService ns/name http[i].match[j]}) for the config dump and logs.
 */
public record Route(
        String source,
        RouteMatch match,
        Action action,
        Headers headers,
        Duration timeout,
        RetryPolicy retries,
        Fault fault,
        Mirror mirror,
        CorsPolicy cors) {

    /** What a route does. */
    public sealed interface Action permits Forward, Redirect, DirectResponse {}

    /**
     * Forward to one of {@code clusters} chosen by weight, rewriting the path prefix and the
     * authority when set. {@code rewriteReplacesWholePath} is true when the match was not a prefix
     * (Istio then rewrites the whole path).
     */
    public record Forward(
            List<WeightedCluster> clusters,
            String prefixRewrite,
            String matchedPrefix,
            String authorityRewrite)
            implements Action {
        public Forward {
            clusters = List.copyOf(clusters);
        }

        public int totalWeight() {
            int t = 0;
            for (WeightedCluster c : clusters) {
                t += c.weight();
            }
            return t;
        }
    }

    /** A cluster and its weight, with per-destination header operations. */
    public record WeightedCluster(String cluster, int weight, Headers headers) {}

    /** Answer with a redirect. */
    public record Redirect(String path, String authority, Integer port, String scheme, int code)
            implements Action {}

    /** Answer directly. */
    public record DirectResponse(int status, String body) implements Action {}

    /** Retries: attempts after the first try, per-try timeout, conditions. */
    public record RetryPolicy(int attempts, Duration perTryTimeout, List<String> retryOn) {
        /**
         * Istio's default: 2 retries on connection failure, refused stream, unavailable, cancelled
         * and 503.
         */
        public static final RetryPolicy ISTIO_DEFAULT =
                new RetryPolicy(
                        2,
                        null,
                        List.of(
                                "connect-failure",
                                "refused-stream",
                                "unavailable",
                                "cancelled",
                                "retriable-status-codes"));

        public RetryPolicy {
            retryOn = List.copyOf(retryOn);
        }
    }

    /** Fault injection. */
    public record Fault(
            Duration delay, double delayPercent, Integer abortStatus, double abortPercent) {}

    /** Traffic mirroring (shadowing): a copy goes to {@code cluster}, its answer is dropped. */
    public record Mirror(String cluster, double percent) {}
}
