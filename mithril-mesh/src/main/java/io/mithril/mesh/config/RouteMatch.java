package io.mithril.mesh.config;

import io.mithril.mesh.model.StringMatch;
import java.util.Map;

/**
 * One Envoy route match (one Istio {@code match[]} block): every field set must match (AND). A null
 * field matches anything; {@link #ANY} matches every request.
 */
public record RouteMatch(
        StringMatch path,
        boolean ignoreCase,
        StringMatch method,
        StringMatch authority,
        StringMatch scheme,
        Map<String, StringMatch> headers,
        Map<String, StringMatch> withoutHeaders,
        Map<String, StringMatch> queryParams,
        Integer port) {

    /** Matches every request (Envoy's {@code prefix: /}). */
    public static final RouteMatch ANY =
            new RouteMatch(null, false, null, null, null, Map.of(), Map.of(), Map.of(), null);

    public RouteMatch {
        headers = Map.copyOf(headers);
        withoutHeaders = Map.copyOf(withoutHeaders);
        queryParams = Map.copyOf(queryParams);
    }

    /** Whether the request satisfies every condition. */
    public boolean matches(RequestAttributes r) {
        if (port != null && port != r.port()) {
            return false;
        }
        if (path != null && !path.matches(r.path(), ignoreCase)) {
            return false;
        }
        if (method != null && !method.matches(r.method(), false)) {
            return false;
        }
        if (authority != null && !authority.matches(r.authority(), false)) {
            return false;
        }
        if (scheme != null && !scheme.matches(r.scheme(), false)) {
            return false;
        }
        // The maps are usually empty: no iterator is made for them (this runs for every request).
        return (headers.isEmpty() || headersMatch(r))
                && (withoutHeaders.isEmpty() || noneOfWithoutHeaders(r))
                && (queryParams.isEmpty() || queryParamsMatch(r));
    }

    private boolean headersMatch(RequestAttributes r) {
        for (Map.Entry<String, StringMatch> h : headers.entrySet()) {
            if (!h.getValue().matches(r.header(h.getKey()), false)) {
                return false;
            }
        }
        return true;
    }

    private boolean noneOfWithoutHeaders(RequestAttributes r) {
        for (Map.Entry<String, StringMatch> h : withoutHeaders.entrySet()) {
            if (h.getValue().matches(r.header(h.getKey()), false)) {
                return false;
            }
        }
        return true;
    }

    private boolean queryParamsMatch(RequestAttributes r) {
        for (Map.Entry<String, StringMatch> q : queryParams.entrySet()) {
            if (!q.getValue().matches(r.queryParam(q.getKey()), false)) {
                return false;
            }
        }
        return true;
    }
}
