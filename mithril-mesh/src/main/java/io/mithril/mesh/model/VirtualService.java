package io.mithril.mesh.model;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * {@code networking.istio.io VirtualService}: HTTP routing for {@code hosts}, bound to {@code
 * gateways} (or to the mesh's sidecars when none is given, i.e. {@code mesh}). The first {@code
 * http} rule that matches wins.
 */
public record VirtualService(
        Metadata metadata,
        Origin origin,
        List<String> hosts,
        List<String> gateways,
        List<HttpRoute> http,
        List<String> exportTo)
        implements Resource {
    public VirtualService {
        hosts = List.copyOf(hosts);
        gateways = List.copyOf(gateways);
        http = List.copyOf(http);
        exportTo = List.copyOf(exportTo);
    }

    /** {@code http[]}: match blocks (ORed) and what to do. */
    public record HttpRoute(
            String name,
            List<HttpMatchRequest> match,
            List<HttpRouteDestination> route,
            HttpRedirect redirect,
            HttpDirectResponse directResponse,
            HttpRewrite rewrite,
            Duration timeout,
            HttpRetry retries,
            HttpFault fault,
            Headers headers,
            Destination mirror,
            Double mirrorPercentage,
            CorsPolicy corsPolicy) {
        public HttpRoute {
            match = List.copyOf(match);
            route = List.copyOf(route);
        }
    }

    /** {@code match[]}: every field given must match (AND). */
    public record HttpMatchRequest(
            String name,
            StringMatch uri,
            StringMatch scheme,
            StringMatch method,
            StringMatch authority,
            Map<String, StringMatch> headers,
            Map<String, StringMatch> withoutHeaders,
            Map<String, StringMatch> queryParams,
            Integer port,
            boolean ignoreUriCase,
            Map<String, String> sourceLabels,
            List<String> gateways,
            String sourceNamespace) {
        public HttpMatchRequest {
            headers = Map.copyOf(headers);
            withoutHeaders = Map.copyOf(withoutHeaders);
            queryParams = Map.copyOf(queryParams);
            sourceLabels = Map.copyOf(sourceLabels);
            gateways = List.copyOf(gateways);
        }
    }

    /** {@code route[]}: a destination and its weight (0 when not given). */
    public record HttpRouteDestination(Destination destination, int weight, Headers headers) {}

    /** {@code destination}: service host, subset, port. */
    public record Destination(String host, String subset, Integer port) {}

    /** {@code redirect}. */
    public record HttpRedirect(
            String uri, String authority, Integer port, String scheme, int redirectCode) {}

    /** {@code directResponse}. */
    public record HttpDirectResponse(int status, String body) {}

    /**
     * {@code rewrite}: replaces the matched prefix (or the whole path for exact/regex) and the
     * authority.
     */
    public record HttpRewrite(String uri, String authority) {}

    /** {@code retries}. */
    public record HttpRetry(int attempts, Duration perTryTimeout, List<String> retryOn) {
        public HttpRetry {
            retryOn = List.copyOf(retryOn);
        }
    }

    /** {@code fault}: delay and/or abort, each applied to a percentage of requests. */
    public record HttpFault(Delay delay, Abort abort) {
        /** {@code fault.delay}. */
        public record Delay(Duration fixedDelay, double percentage) {}

        /** {@code fault.abort}. */
        public record Abort(int httpStatus, double percentage) {}
    }

    /** {@code headers}: request and response manipulations. */
    public record Headers(HeaderOperations request, HeaderOperations response) {
        public static final Headers NONE =
                new Headers(HeaderOperations.NONE, HeaderOperations.NONE);
    }

    /** {@code set}, {@code add}, {@code remove}. */
    public record HeaderOperations(
            Map<String, String> set, Map<String, String> add, List<String> remove) {
        public static final HeaderOperations NONE =
                new HeaderOperations(Map.of(), Map.of(), List.of());

        public HeaderOperations {
            set = Map.copyOf(set);
            add = Map.copyOf(add);
            remove = List.copyOf(remove);
        }

        public boolean isEmpty() {
            return set.isEmpty() && add.isEmpty() && remove.isEmpty();
        }
    }

    /** {@code corsPolicy}. */
    public record CorsPolicy(
            List<StringMatch> allowOrigins,
            List<String> allowMethods,
            List<String> allowHeaders,
            List<String> exposeHeaders,
            Duration maxAge,
            Boolean allowCredentials) {
        public CorsPolicy {
            allowOrigins = List.copyOf(allowOrigins);
            allowMethods = List.copyOf(allowMethods);
            allowHeaders = List.copyOf(allowHeaders);
            exposeHeaders = List.copyOf(exposeHeaders);
        }
    }
}
