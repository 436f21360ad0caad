package io.mithril.samples.bookinfo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The headers the bookinfo services copy from an incoming request to the calls it makes, so the
 * mesh can tie the spans of one request together and route on the user: the same list as Istio's
 * productpage, details and reviews (x-request-id, B3, W3C trace context, ..., end-user).
 */
public final class TraceHeaders {

    /** In the order Istio's samples list them. */
    public static final List<String> PROPAGATED =
            List.of(
                    "x-request-id",
                    "x-ot-span-context",
                    "x-datadog-trace-id",
                    "x-datadog-parent-id",
                    "x-datadog-sampling-priority",
                    "traceparent",
                    "tracestate",
                    "x-cloud-trace-context",
                    "grpc-trace-bin",
                    "x-b3-traceid",
                    "x-b3-spanid",
                    "x-b3-parentspanid",
                    "x-b3-sampled",
                    "x-b3-flags",
                    "b3",
                    "sw8",
                    "end-user",
                    "user-agent",
                    "cookie",
                    "authorization",
                    "jwt");

    private TraceHeaders() {}

    /** The propagated headers present on {@code request}, lower-case names. */
    public static Map<String, String> from(Request request) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String name : PROPAGATED) {
            request.header(name).ifPresent(v -> out.put(name, v));
        }
        return out;
    }
}
