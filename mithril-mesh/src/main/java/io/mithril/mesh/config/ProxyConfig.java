package io.mithril.mesh.config;

import java.util.List;
import java.util.Map;

/**
 * Everything one proxy needs, in Envoy's vocabulary: listeners (with their filter chains and TLS),
 * route configurations, clusters and the authorization policy. Immutable: the proxy swaps whole
 * snapshots atomically, so requests never see half a configuration.
 *
 * @param warnings things that compiled but probably are not what the operator meant (a route to a
 *     host no ServiceEntry declares, ...)
 */
public record ProxyConfig(
        ProxyNode node,
        List<Listener> listeners,
        Map<String, RouteConfiguration> routes,
        Map<String, Cluster> clusters,
        RbacPolicy rbac,
        List<String> warnings) {
    public ProxyConfig {
        listeners = List.copyOf(listeners);
        // Sorted, so that dumps and iteration are the same on every run.
        routes = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(routes));
        clusters = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(clusters));
        warnings = List.copyOf(warnings);
    }

    /** The listener on {@code port}, or null. */
    public Listener listener(int port) {
        for (Listener l : listeners) {
            if (l.port() == port) {
                return l;
            }
        }
        return null;
    }
}
