package io.mithril.agent.metrics;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.mithril.agent.cache.SvidCache;
import io.mithril.agent.sync.AgentIdentity;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * The agent's Prometheus metrics, in a registry of its own (several agents may run in one JVM in
 * tests): Workload API calls by method and status code, open Workload API streams, syncs with the
 * server by result, and, read at scrape time from the agent's state, whether it is synced, the
 * registration entries and X509-SVIDs it holds, and its own SVID's expiry. {@link #serve} exposes
 * {@code /metrics}.
 */
public final class AgentMetrics {

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter calls =
            Counter.builder()
                    .name("mithril_agent_workload_api_calls_total")
                    .help(
                            "Workload API calls, by method and gRPC status code (OK, PERMISSION_DENIED, ...)")
                    .labelNames("method", "code")
                    .register(registry);
    private final Gauge open =
            Gauge.builder()
                    .name("mithril_agent_workload_api_open_calls")
                    .help(
                            "Workload API calls in progress (FetchX509SVID and other streams stay open)")
                    .register(registry);
    private final Counter syncs =
            Counter.builder()
                    .name("mithril_agent_syncs_total")
                    .help("Syncs with the server, by result (ok, failed)")
                    .labelNames("result")
                    .register(registry);

    /** Metrics that read {@code cache} and {@code identity} when scraped. */
    public AgentMetrics(SvidCache cache, AgentIdentity identity) {
        GaugeWithCallback.builder()
                .name("mithril_agent_synced")
                .help("1 once the agent has synced with the server, else 0")
                .callback(cb -> cb.call(cache.isSynced() ? 1 : 0))
                .register(registry);
        GaugeWithCallback.builder()
                .name("mithril_agent_registration_entries")
                .help("Registration entries this agent is authorised for")
                .callback(cb -> cb.call(cache.entries().size()))
                .register(registry);
        GaugeWithCallback.builder()
                .name("mithril_agent_x509_svids")
                .help("X509-SVIDs the agent holds for its workloads")
                .callback(
                        cb ->
                                cb.call(
                                        cache.entries().keySet().stream()
                                                .filter(id -> cache.svid(id) != null)
                                                .count()))
                .register(registry);
        GaugeWithCallback.builder()
                .name("mithril_agent_svid_expiry_unix_seconds")
                .help("NotAfter of the agent's own X509-SVID, unix seconds")
                .callback(
                        cb -> {
                            List<X509Certificate> chain = identity.chain();
                            if (!chain.isEmpty()) {
                                cb.call(chain.get(0).getNotAfter().toInstant().getEpochSecond());
                            }
                        })
                .register(registry);
    }

    /** Counts one sync with the server. */
    public void sync(boolean ok) {
        syncs.labelValues(ok ? "ok" : "failed").inc();
    }

    /** A gRPC interceptor that counts Workload API calls by method and final status. */
    public ServerInterceptor interceptor() {
        return new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(
                    ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                CountedCall<Q, R> counted = new CountedCall<>(call);
                open.inc();
                return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
                        next.startCall(counted, headers)) {
                    @Override
                    public void onCancel() {
                        // The client went away before the server closed the call (e.g. it ended a
                        // stream).
                        counted.finish(Status.CANCELLED);
                        super.onCancel();
                    }
                };
            }
        };
    }

    /** A call that is counted once, when the server closes it or the client cancels it. */
    private final class CountedCall<Q, R>
            extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
        private final String method;
        private boolean finished;

        CountedCall(ServerCall<Q, R> call) {
            super(call);
            String m = call.getMethodDescriptor().getBareMethodName();
            this.method = m == null ? "unknown" : m;
        }

        @Override
        public void close(Status status, Metadata trailers) {
            finish(status);
            super.close(status, trailers);
        }

        synchronized void finish(Status status) {
            if (!finished) {
                finished = true;
                open.dec();
                calls.labelValues(method, status.getCode().name()).inc();
            }
        }
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
