package io.mithril.proxy;

import io.mithril.mesh.config.ProxyConfig;
import io.mithril.proxy.identity.Identity;
import io.netty.handler.ssl.SslContext;
import java.util.Map;

/**
 * One immutable state of the proxy: compiled configuration, identity, and the TLS contexts built
 * from both. The proxy swaps whole snapshots atomically; a connection or request reads the current
 * one once and never locks.
 *
 * @param serverTls TLS context of each TLS filter chain, by {@code listenerName/chainName}
 * @param upstreamTls TLS context of each cluster that originates TLS, by cluster name
 * @param tlsErrors why a chain or cluster has no context (no SVID yet, unreadable files)
 */
public record Snapshot(
        long version,
        ProxyConfig config,
        Identity identity,
        Map<String, SslContext> serverTls,
        Map<String, SslContext> upstreamTls,
        Map<String, String> tlsErrors) {
    public Snapshot {
        serverTls = Map.copyOf(serverTls);
        upstreamTls = Map.copyOf(upstreamTls);
        tlsErrors = Map.copyOf(tlsErrors);
    }

    static String chainKey(String listener, String chain) {
        return listener + "/" + chain;
    }
}
