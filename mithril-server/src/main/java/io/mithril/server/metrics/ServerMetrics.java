package io.mithril.server.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;

/**
 * The server's Prometheus metrics, in a registry of its own (several servers may run in one JVM in
 * tests): SVIDs signed, node attestations, CA expiry. {@link #serve} exposes {@code /metrics}.
 */
public final class ServerMetrics {

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter svidsSigned =
            Counter.builder()
                    .name("mithril_server_svids_signed_total")
                    .help("SVIDs signed, by kind (x509, jwt, agent, server)")
                    .labelNames("kind")
                    .register(registry);
    private final Counter svidsRefused =
            Counter.builder()
                    .name("mithril_server_svid_requests_refused_total")
                    .help("SVID requests refused (unauthorised entry, SPIFFE ID mismatch, bad CSR)")
                    .register(registry);
    private final Counter attestations =
            Counter.builder()
                    .name("mithril_server_node_attestations_total")
                    .help("Node attestations, by attestor type and result")
                    .labelNames("type", "result")
                    .register(registry);
    private final Gauge caExpiry =
            Gauge.builder()
                    .name("mithril_server_x509_ca_expiry_unix_seconds")
                    .help("NotAfter of the active X.509 CA, unix seconds")
                    .register(registry);
    private final Counter entries =
            Counter.builder()
                    .name("mithril_server_entry_creations_total")
                    .help("Registration entries created through this process")
                    .register(registry);

    private final Gauge cacheEntries =
            Gauge.builder()
                    .name("mithril_server_authorized_entries_cache_entries")
                    .help("Registration entries held by the authorised-entries cache")
                    .register(registry);
    private final Gauge cacheAgents =
            Gauge.builder()
                    .name("mithril_server_authorized_entries_cache_agents")
                    .help("Agents held by the authorised-entries cache")
                    .register(registry);
    private final Counter cacheRebuilds =
            Counter.builder()
                    .name("mithril_server_authorized_entries_cache_rebuilds_total")
                    .help(
                            "Rebuilds of the authorised-entries cache from the datastore (startup, or another server wrote)")
                    .register(registry);

    /**
     * The authorised-entries cache was rebuilt from the datastore with this many entries and
     * agents.
     */
    public void authorizedEntriesCacheBuilt(int entries, int agents) {
        cacheRebuilds.inc();
        authorizedEntriesCacheSize(entries, agents);
    }

    public void authorizedEntriesCacheSize(int entries, int agents) {
        cacheEntries.set(entries);
        cacheAgents.set(agents);
    }

    public void svidSigned(String kind) {
        svidsSigned.labelValues(kind).inc();
    }

    public void svidRefused() {
        svidsRefused.inc();
    }

    public void attestation(String type, boolean ok) {
        attestations.labelValues(type, ok ? "ok" : "denied").inc();
    }

    public void caExpiry(long unixSeconds) {
        caExpiry.set(unixSeconds);
    }

    public void entryCreated() {
        entries.inc();
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    /**
     * Starts the {@code /metrics} HTTP listener.
     *
     * @throws IOException when the port cannot be bound
     */
    public HTTPServer serve(String host, int port) throws IOException {
        return HTTPServer.builder().hostname(host).port(port).registry(registry).buildAndStart();
    }
}
