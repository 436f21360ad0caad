package io.mithril.mesh.config;

import java.util.List;

/**
 * An Envoy listener: an address and port, and the filter chains that serve connections on it.
 *
 * @param name e.g. {@code 0.0.0.0_8080}
 * @param direction gateway, sidecar inbound or sidecar outbound
 */
public record Listener(
        String name,
        String address,
        int port,
        Direction direction,
        List<FilterChain> filterChains) {

    /** Where the listener sits. */
    public enum Direction {
        GATEWAY,
        INBOUND,
        OUTBOUND
    }

    public Listener {
        filterChains = List.copyOf(filterChains);
    }

    /**
     * The chain for a connection: among the chains of its kind (TLS or plaintext), the first whose
     * {@code serverNames} take the SNI, else the first without {@code serverNames}; null when none
     * (Envoy then closes the connection).
     */
    public FilterChain chainFor(String sni, boolean tls) {
        FilterChain fallback = null;
        for (FilterChain c : filterChains) {
            if ((c.tls() != null) != tls) {
                continue;
            }
            if (c.serverNames().isEmpty()) {
                if (fallback == null) {
                    fallback = c;
                }
            } else if (c.acceptsServerName(sni)) {
                return c;
            }
        }
        return fallback;
    }

    /** Whether any chain terminates TLS. */
    public boolean hasTls() {
        return filterChains.stream().anyMatch(c -> c.tls() != null);
    }

    /** Whether any chain takes plaintext. */
    public boolean hasPlaintext() {
        return filterChains.stream().anyMatch(c -> c.tls() == null);
    }
}
