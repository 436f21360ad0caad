package io.mithril.proxy;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Istio's standard metrics: {@code istio_requests_total} and {@code
 * istio_request_duration_milliseconds}, labelled with the reporter, the caller's principal, the
 * destination service and the response code. One registry per proxy.
 */
public final class ProxyMetrics {

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Histogram duration;
    private final Counter refused;
    private final java.time.Clock clock;
    private final java.util.ArrayDeque<RefusedHandshake> recentRefusals =
            new java.util.ArrayDeque<>();

    /** A TLS handshake this proxy refused: when, on which listener, from where and why. */
    public record RefusedHandshake(
            java.time.Instant at, String listener, String peer, String reason) {}

    /** How many refused handshakes {@link #refusedHandshakes()} keeps (the newest). */
    public static final int REFUSALS_KEPT = 64;

    public ProxyMetrics() {
        this(java.time.Clock.systemUTC());
    }

    public ProxyMetrics(java.time.Clock clock) {
        this.clock = clock;
        String[] labels = {
            "reporter", "source_principal", "destination_service", "response_code", "response_flags"
        };
        requests =
                Counter.builder()
                        .name("istio_requests_total")
                        .help("Requests handled by this proxy")
                        .labelNames(labels)
                        .register(registry);
        duration =
                Histogram.builder()
                        .name("istio_request_duration_milliseconds")
                        .help("Request duration in milliseconds")
                        .classicOnly()
                        .classicUpperBounds(
                                1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
                        .labelNames(labels)
                        .register(registry);
        refused =
                Counter.builder()
                        .name("mithril_proxy_tls_handshakes_refused_total")
                        .help("Inbound TLS handshakes refused, by listener")
                        .labelNames("listener")
                        .register(registry);
    }

    /** Counts a refused inbound handshake and keeps it among the newest {@link #REFUSALS_KEPT}. */
    public void handshakeRefused(String listener, String peer, String reason) {
        refused.labelValues(listener).inc();
        synchronized (recentRefusals) {
            if (recentRefusals.size() == REFUSALS_KEPT) {
                recentRefusals.removeFirst();
            }
            recentRefusals.addLast(new RefusedHandshake(clock.instant(), listener, peer, reason));
        }
    }

    /** The newest refused handshakes, oldest first. */
    public java.util.List<RefusedHandshake> refusedHandshakes() {
        synchronized (recentRefusals) {
            return java.util.List.copyOf(recentRefusals);
        }
    }

    /** Counts one request. */
    public void record(
            String reporter,
            String sourcePrincipal,
            String destinationService,
            int code,
            String flags,
            double millis) {
        String[] values = {
            reporter,
            sourcePrincipal == null ? "unknown" : sourcePrincipal,
            destinationService == null ? "unknown" : destinationService,
            Integer.toString(code),
            flags
        };
        requests.labelValues(values).inc();
        duration.labelValues(values).observe(millis);
    }

    /** The Prometheus text exposition. */
    public String scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
