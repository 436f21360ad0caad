package io.mithril.agent;

import io.mithril.agent.attestor.node.JoinTokenAttestor;
import io.mithril.agent.attestor.node.K8sPsatAttestor;
import io.mithril.agent.attestor.node.NodeAttestationException;
import io.mithril.agent.attestor.node.NodeAttestor;
import io.mithril.agent.attestor.node.X509PopAttestor;
import io.mithril.agent.attestor.workload.WorkloadAttestor;
import io.mithril.agent.attestor.workload.k8s.K8sWorkloadAttestor;
import io.mithril.agent.attestor.workload.unix.UnixWorkloadAttestor;
import io.mithril.agent.cache.SvidCache;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.endpoints.workload.WorkloadApiServer;
import io.mithril.agent.keymanager.DiskKeyManager;
import io.mithril.agent.keymanager.KeyManager;
import io.mithril.agent.keymanager.MemoryKeyManager;
import io.mithril.agent.metrics.AgentMetrics;
import io.mithril.agent.sync.AgentIdentity;
import io.mithril.agent.sync.SyncManager;
import io.mithril.api.observability.HealthChecksConfig;
import io.mithril.api.observability.HealthListener;
import io.mithril.spiffe.id.SpiffeId;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent (what {@code spire-agent run} is). {@link #start} gets the agent an identity
 * (reusing the one kept in {@code data_dir}, or attesting), syncs once with the server, and serves
 * the Workload API on {@code socket_path}; from then on it syncs in the background. {@link
 * #close()} stops serving and removes the socket; the agent SVID stays on disk for the next start.
 */
public final class Agent implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Agent.class);

    private final AgentConfig config;
    private final AgentIdentity identity;
    private final SvidCache cache;
    private final SyncManager sync;
    private final WorkloadApiServer workloadApi;
    private final AgentMetrics metrics;
    private final List<AutoCloseable> listeners;
    private final int metricsPort;
    private final int healthPort;

    private Agent(
            AgentConfig config,
            AgentIdentity identity,
            SvidCache cache,
            SyncManager sync,
            WorkloadApiServer workloadApi,
            AgentMetrics metrics,
            List<AutoCloseable> listeners,
            int metricsPort,
            int healthPort) {
        this.config = config;
        this.identity = identity;
        this.cache = cache;
        this.sync = sync;
        this.workloadApi = workloadApi;
        this.metrics = metrics;
        this.listeners = listeners;
        this.metricsPort = metricsPort;
        this.healthPort = healthPort;
    }

    /**
     * Starts an agent.
     *
     * @throws AgentStartException naming what is wrong (an unreadable trust bundle, a refused
     *     attestation, a socket in use)
     */
    public static Agent start(AgentConfig config) throws AgentStartException {
        return start(config, Clock.systemUTC());
    }

    /** Starts an agent with the given clock. */
    public static Agent start(AgentConfig config, Clock clock) throws AgentStartException {
        // Refuse a socket another agent serves before attesting (which would spend the join token).
        try {
            WorkloadApiServer.checkSocketPath(config.socketPath());
        } catch (IOException e) {
            throw new AgentStartException(e.getMessage(), e);
        }
        KeyManager keyManager =
                config.keyManager().equals("memory")
                        ? new MemoryKeyManager()
                        : new DiskKeyManager(config.keyManagerDirectory());
        List<X509Certificate> bootstrapRoots = null;
        if (config.trustBundlePath() != null) {
            bootstrapRoots = AgentIdentity.readTrustBundle(config.trustBundlePath());
        }
        NodeAttestor attestor;
        try {
            attestor = nodeAttestor(config);
        } catch (NodeAttestationException e) {
            throw new AgentStartException(e.getMessage(), e);
        }
        if (bootstrapRoots == null
                && !config.insecureBootstrap()
                && !java.nio.file.Files.exists(
                        config.dataDir().resolve(AgentIdentity.BUNDLE_FILE))) {
            throw new AgentStartException(
                    "the agent cannot verify the server: set trust_bundle_path to the server's"
                            + " bundle (mithril server bundle show > bundle.pem), or insecure_bootstrap = true for a demo");
        }
        InetSocketAddress server =
                new InetSocketAddress(config.serverAddress(), config.serverPort());
        AgentIdentity identity =
                AgentIdentity.obtain(
                        server,
                        config.trustDomain(),
                        config.dataDir(),
                        keyManager,
                        bootstrapRoots,
                        attestor,
                        clock);
        SvidCache cache = new SvidCache(config.trustDomain(), clock);
        AgentMetrics metrics = new AgentMetrics(cache, identity);
        WorkloadApiServer[] api = new WorkloadApiServer[1];
        SyncManager sync =
                new SyncManager(
                        cache,
                        identity,
                        clock,
                        config.syncInterval(),
                        healthy -> {
                            metrics.sync(healthy);
                            if (api[0] != null) {
                                api[0].setServing(cache.isSynced());
                            }
                        });
        sync.start();
        List<AutoCloseable> listeners = new ArrayList<>();
        int metricsPort = -1;
        int healthPort = -1;
        try {
            List<WorkloadAttestor> workloadAttestors =
                    new ArrayList<>(
                            List.of(
                                    new UnixWorkloadAttestor(
                                            config.unix().discoverWorkloadPath(),
                                            config.unix().workloadSizeLimit())));
            if (config.k8s() != null) {
                workloadAttestors.add(new K8sWorkloadAttestor(config.k8s()));
            }
            api[0] =
                    WorkloadApiServer.start(
                            config.socketPath(),
                            cache,
                            workloadAttestors,
                            sync,
                            clock,
                            metrics.interceptor(),
                            config.sds());
            if (config.telemetry() != null) {
                HTTPServer http =
                        metrics.serve(config.telemetry().host(), config.telemetry().port());
                listeners.add(http::close);
                metricsPort = http.getPort();
                log.info(
                        "Metrics listening: http://{}:{}/metrics",
                        config.telemetry().host(),
                        http.getPort());
            }
            if (config.healthChecks() != null) {
                HealthChecksConfig h = config.healthChecks();
                HealthListener health = HealthListener.start(h, () -> true, cache::isSynced);
                listeners.add(health);
                healthPort = health.port();
                log.info(
                        "Health checks listening: http://{}:{}{} and {}",
                        h.bindAddress(),
                        health.port(),
                        h.livePath(),
                        h.readyPath());
            }
        } catch (IOException e) {
            closeAll(listeners);
            if (api[0] != null) {
                api[0].close();
            }
            sync.close();
            cache.close();
            identity.close();
            throw new AgentStartException(e.getMessage(), e);
        }
        api[0].setServing(cache.isSynced());
        log.info(
                "Agent {} started: trust domain {}, server {}:{}, Workload API {}",
                JoinTokenAttestor.redact(identity.agentId()),
                config.trustDomain().name(),
                config.serverAddress(),
                config.serverPort(),
                config.socketPath());
        return new Agent(
                config, identity, cache, sync, api[0], metrics, listeners, metricsPort, healthPort);
    }

    private static NodeAttestor nodeAttestor(AgentConfig config) throws NodeAttestationException {
        if (config.nodeAttestor().type().equals("x509pop")) {
            return new X509PopAttestor(
                    config.nodeAttestor().certificatePath(),
                    config.nodeAttestor().privateKeyPath(),
                    config.nodeAttestor().intermediatesPath());
        }
        if (config.nodeAttestor().type().equals(K8sPsatAttestor.TYPE)) {
            return new K8sPsatAttestor(
                    config.nodeAttestor().cluster(), config.nodeAttestor().tokenPath());
        }
        return config.joinToken() == null ? null : new JoinTokenAttestor(config.joinToken());
    }

    /** The agent's SPIFFE ID. */
    public SpiffeId agentId() {
        return identity.agentId();
    }

    /** The Workload API socket. */
    public Path socketPath() {
        return workloadApi.socketPath();
    }

    /** The agent's cache (for tests and metrics). */
    public SvidCache cache() {
        return cache;
    }

    /** The configuration the agent runs with. */
    public AgentConfig config() {
        return config;
    }

    /**
     * The agent's metrics (also served on {@code telemetry}'s Prometheus listener when configured).
     */
    public AgentMetrics metrics() {
        return metrics;
    }

    /** The port of the Prometheus {@code /metrics} listener, or -1 without {@code telemetry}. */
    public int metricsPort() {
        return metricsPort;
    }

    /** The port of the {@code health_checks} listener, or -1 when it is not enabled. */
    public int healthPort() {
        return healthPort;
    }

    private static void closeAll(List<AutoCloseable> listeners) {
        for (AutoCloseable c : listeners) {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("Closing a listener failed: {}", e.toString());
            }
        }
    }

    @Override
    public void close() {
        closeAll(listeners);
        workloadApi.close();
        sync.close();
        cache.close();
        identity.close();
        log.info("Agent stopped");
    }
}
