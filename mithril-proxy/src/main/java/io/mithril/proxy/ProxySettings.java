package io.mithril.proxy;

import io.mithril.mesh.config.ProxyNode;
import io.mithril.proxy.http.RequestPath;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How a proxy runs: what it is (its {@link ProxyNode}), where listeners bind when not where the
 * configuration says ({@code publish}: listener port to address, like {@code kubectl
 * port-forward}), its admin address, request limits and timeouts, and how request paths are
 * normalized.
 *
 * @param publish listener port (as in the Gateway or the sidecar's ports) to the address to bind
 * @param admin admin endpoint address (readiness, config, metrics), or null for none
 * @param limits sizes and timeouts a client cannot exceed
 * @param pathNormalization Istio's {@code meshConfig.pathNormalization.normalization}
 * @param accessLog whether to write one access log line per request (logger {@code access})
 */
public record ProxySettings(
        ProxyNode node,
        Map<Integer, InetSocketAddress> publish,
        InetSocketAddress admin,
        Limits limits,
        RequestPath.Normalization pathNormalization,
        boolean accessLog) {

    public static final int DEFAULT_MAX_HEADER_BYTES = 60 * 1024;

    /**
     * No limit on request bodies, as Envoy and Istio have none: bodies stream, the proxy does not
     * hold them.
     */
    public static final long DEFAULT_MAX_BODY_BYTES = 0;

    /**
     * What one client may hold of a proxy. Envoy's names and defaults where it has one.
     *
     * @param maxHeaderBytes larger request headers get 431 (Envoy's {@code max_request_headers_kb}:
     *     60 KiB)
     * @param maxBodyBytes larger request bodies get 413 (or, when the answer has begun, a reset);
     *     0: no limit (Envoy's default: bodies stream)
     * @param bufferedBodyBytes request body bytes all requests together may keep for retries and
     *     mirrors (at most 1 MiB each, Envoy's buffer limit); a request that finds it used up keeps
     *     no copy and is not retried
     * @param requestHeadersTimeout from the connection's start, or the end of the previous
     *     response, to the end of the request headers (Envoy's {@code request_headers_timeout});
     *     408 or close
     * @param streamIdleTimeout no byte of a request in flight for this long: 408 (Envoy's {@code
     *     stream_idle_timeout}, 5 min)
     * @param idleTimeout a connection without a request for this long is closed (Envoy's {@code
     *     idle_timeout}, 1 h)
     */
    public record Limits(
            int maxHeaderBytes,
            long maxBodyBytes,
            long bufferedBodyBytes,
            Duration requestHeadersTimeout,
            Duration streamIdleTimeout,
            Duration idleTimeout) {

        public Limits {
            if (maxHeaderBytes <= 0 || maxBodyBytes < 0 || bufferedBodyBytes < 0) {
                throw new IllegalArgumentException(
                        "limits must be positive: header "
                                + maxHeaderBytes
                                + ", body "
                                + maxBodyBytes
                                + ", buffered "
                                + bufferedBodyBytes);
            }
            Objects.requireNonNull(requestHeadersTimeout, "requestHeadersTimeout");
            Objects.requireNonNull(streamIdleTimeout, "streamIdleTimeout");
            Objects.requireNonNull(idleTimeout, "idleTimeout");
        }

        /**
         * Envoy's defaults, with a request header timeout of 10 s (Envoy has none by default; a
         * client that never finishes its headers must not hold a connection), no body limit, and a
         * shared budget for retry copies of a quarter of the direct memory, at most 256 MiB.
         */
        public static Limits defaults() {
            long direct = io.netty.util.internal.PlatformDependent.maxDirectMemory();
            return new Limits(
                    DEFAULT_MAX_HEADER_BYTES,
                    DEFAULT_MAX_BODY_BYTES,
                    Math.min(256L << 20, Math.max(16L << 20, direct / 4)),
                    Duration.ofSeconds(10),
                    Duration.ofMinutes(5),
                    Duration.ofHours(1));
        }

        public Limits withMaxHeaderBytes(int bytes) {
            return new Limits(
                    bytes,
                    maxBodyBytes,
                    bufferedBodyBytes,
                    requestHeadersTimeout,
                    streamIdleTimeout,
                    idleTimeout);
        }

        public Limits withMaxBodyBytes(long bytes) {
            return new Limits(
                    maxHeaderBytes,
                    bytes,
                    bufferedBodyBytes,
                    requestHeadersTimeout,
                    streamIdleTimeout,
                    idleTimeout);
        }

        public Limits withBufferedBodyBytes(long bytes) {
            return new Limits(
                    maxHeaderBytes,
                    maxBodyBytes,
                    bytes,
                    requestHeadersTimeout,
                    streamIdleTimeout,
                    idleTimeout);
        }

        public Limits withTimeouts(Duration requestHeaders, Duration streamIdle, Duration idle) {
            return new Limits(
                    maxHeaderBytes,
                    maxBodyBytes,
                    bufferedBodyBytes,
                    requestHeaders,
                    streamIdle,
                    idle);
        }
    }

    public ProxySettings {
        publish = Map.copyOf(publish);
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(pathNormalization, "pathNormalization");
    }

    /** Default limits, paths normalized with {@code DECODE_AND_MERGE_SLASHES}, access log on. */
    public static ProxySettings of(
            ProxyNode node, Map<Integer, InetSocketAddress> publish, InetSocketAddress admin) {
        return new ProxySettings(
                node,
                publish,
                admin,
                Limits.defaults(),
                RequestPath.Normalization.DECODE_AND_MERGE_SLASHES,
                true);
    }

    /** These settings without (or with) the access log. */
    public ProxySettings withAccessLog(boolean on) {
        return new ProxySettings(node, publish, admin, limits, pathNormalization, on);
    }

    /** These settings with other limits. */
    public ProxySettings withLimits(Limits l) {
        return new ProxySettings(node, publish, admin, l, pathNormalization, accessLog);
    }

    /** These settings with another path normalization. */
    public ProxySettings withPathNormalization(RequestPath.Normalization n) {
        return new ProxySettings(node, publish, admin, limits, n, accessLog);
    }

    public int maxHeaderBytes() {
        return limits.maxHeaderBytes();
    }

    public long maxBodyBytes() {
        return limits.maxBodyBytes();
    }
}
