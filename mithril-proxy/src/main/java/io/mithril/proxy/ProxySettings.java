package io.mithril.proxy;

import io.mithril.mesh.config.ProxyNode;
import java.net.InetSocketAddress;
import java.util.Map;

/**
 * How a proxy runs: what it is (its {@link ProxyNode}), where listeners bind when not where the
 * configuration says ({@code publish}: listener port to address, like {@code kubectl
 * port-forward}), its admin address, and request limits.
 *
 * @param publish listener port (as in the Gateway or the sidecar's ports) to the address to bind
 * @param admin admin endpoint address (readiness, config, metrics), or null for none
 * @param maxHeaderBytes larger request headers get 431 (Envoy's default: 60 KiB)
 * @param maxBodyBytes larger request bodies get 413
 * @param accessLog whether to write one access log line per request (logger {@code access})
 */
public record ProxySettings(ProxyNode node, Map<Integer, InetSocketAddress> publish, InetSocketAddress admin,
                            int maxHeaderBytes, int maxBodyBytes, boolean accessLog) {

    public static final int DEFAULT_MAX_HEADER_BYTES = 60 * 1024;
    public static final int DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

    public ProxySettings {
        publish = Map.copyOf(publish);
    }

    /** Default limits. */
    public static ProxySettings of(ProxyNode node, Map<Integer, InetSocketAddress> publish, InetSocketAddress admin) {
        return new ProxySettings(node, publish, admin, DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_BODY_BYTES, true);
    }

    /** These settings without (or with) the access log. */
    public ProxySettings withAccessLog(boolean on) {
        return new ProxySettings(node, publish, admin, maxHeaderBytes, maxBodyBytes, on);
    }
}
