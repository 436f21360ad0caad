package io.mithril.mesh.config;

import java.util.List;
import java.util.Locale;

/**
 * An Envoy route configuration: virtual hosts chosen by the request's authority with Envoy's
 * precedence (exact domain, then the longest {@code *.suffix} wildcard, then {@code prefix*}, then
 * {@code *}).
 */
public record RouteConfiguration(String name, List<VirtualHost> virtualHosts) {
    public RouteConfiguration {
        virtualHosts = List.copyOf(virtualHosts);
    }

    /**
     * The virtual host for {@code authority} (host or host:port), or null when none answers for it.
     */
    public VirtualHost virtualHost(String authority) {
        String host = authority == null ? "" : authority.toLowerCase(Locale.ROOT);
        VirtualHost exact = find(host);
        if (exact != null) {
            return exact;
        }
        // Envoy retries without the port when no domain carries it.
        int colon = host.lastIndexOf(':');
        String bare = colon > 0 && host.indexOf(']') < colon ? host.substring(0, colon) : host;
        if (!bare.equals(host)) {
            exact = find(bare);
            if (exact != null) {
                return exact;
            }
        }
        VirtualHost best = null;
        int bestLen = -1;
        for (VirtualHost vh : virtualHosts) {
            for (String d : vh.domains()) {
                if (d.startsWith("*") && d.length() > 1) {
                    String suffix = d.substring(1).toLowerCase(Locale.ROOT);
                    if ((host.endsWith(suffix) && host.length() > suffix.length()
                                    || bare.endsWith(suffix) && bare.length() > suffix.length())
                            && suffix.length() > bestLen) {
                        best = vh;
                        bestLen = suffix.length();
                    }
                }
            }
        }
        if (best != null) {
            return best;
        }
        for (VirtualHost vh : virtualHosts) {
            for (String d : vh.domains()) {
                if (d.endsWith("*")
                        && d.length() > 1
                        && host.startsWith(
                                d.substring(0, d.length() - 1).toLowerCase(Locale.ROOT))) {
                    return vh;
                }
            }
        }
        for (VirtualHost vh : virtualHosts) {
            if (vh.domains().contains("*")) {
                return vh;
            }
        }
        return null;
    }

    private VirtualHost find(String host) {
        for (VirtualHost vh : virtualHosts) {
            for (String d : vh.domains()) {
                if (!d.contains("*") && d.equalsIgnoreCase(host)) {
                    return vh;
                }
            }
        }
        return null;
    }

    /** The route for a request: its virtual host's first matching route, or null (404). */
    public Route route(RequestAttributes request) {
        VirtualHost vh = virtualHost(request.authority());
        return vh == null ? null : vh.route(request);
    }
}
