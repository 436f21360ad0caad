package io.mithril.mesh.config;

import java.util.List;

/**
 * An Envoy filter chain: which connections it takes (TLS or plaintext, SNI {@code serverNames}) and
 * what it does with them (terminate TLS, then route HTTP with {@code routeConfigName}).
 *
 * @param name for logs and the config dump
 * @param serverNames SNI names this chain takes ({@code *.example.com} allowed); empty = any
 * @param tls TLS to terminate, or null for plaintext
 * @param routeConfigName the route configuration for HTTP on this chain
 * @param httpsRedirect answer every request with a 301 to https (Gateway {@code tls.httpsRedirect})
 * @param inbound true on a sidecar's inbound chain (authorization applies, XFCC set)
 */
public record FilterChain(
        String name,
        List<String> serverNames,
        DownstreamTls tls,
        String routeConfigName,
        boolean httpsRedirect,
        boolean inbound) {
    public FilterChain {
        serverNames = List.copyOf(serverNames);
    }

    /** Whether this chain takes a connection with this SNI (null when the client sent none). */
    public boolean acceptsServerName(String sni) {
        if (serverNames.isEmpty()) {
            return true;
        }
        if (sni == null) {
            return false;
        }
        for (String n : serverNames) {
            if (n.equals("*")
                    || n.equalsIgnoreCase(sni)
                    || n.startsWith("*.")
                            && sni.length() > n.length() - 1
                            && sni.regionMatches(
                                    true, sni.length() - (n.length() - 1), n, 1, n.length() - 1)) {
                return true;
            }
        }
        return false;
    }
}
