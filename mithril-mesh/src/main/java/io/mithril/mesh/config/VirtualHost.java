package io.mithril.mesh.config;

import java.util.List;

/**
 * An Envoy virtual host: the domains it answers for ({@code host}, {@code host:port}, {@code
 * *.suffix}, {@code *}) and its routes, in order: the first that matches wins.
 */
public record VirtualHost(String name, List<String> domains, List<Route> routes) {
    public VirtualHost {
        domains = List.copyOf(domains);
        routes = List.copyOf(routes);
    }

    /** The first route that matches, or null (Envoy then answers 404). */
    public Route route(RequestAttributes request) {
        for (Route r : routes) {
            if (r.match().matches(request)) {
                return r;
            }
        }
        return null;
    }
}
