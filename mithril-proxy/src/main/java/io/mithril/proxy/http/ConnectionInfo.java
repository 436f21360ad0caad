package io.mithril.proxy.http;

import io.mithril.mesh.config.FilterChain;
import io.mithril.mesh.config.Listener;

/**
 * What a connection brought: the listener and filter chain that took it, whether it is TLS, the
 * peer's verified SPIFFE ID and certificate hash (mTLS only), and its address.
 *
 * @param listenerPort the listener's configured port (matched by {@code port} in routes)
 */
public record ConnectionInfo(
        Listener listener,
        FilterChain chain,
        int listenerPort,
        boolean tls,
        String peerSpiffeId,
        String peerCertificateHash,
        String sourceAddress,
        String protocol) {}
