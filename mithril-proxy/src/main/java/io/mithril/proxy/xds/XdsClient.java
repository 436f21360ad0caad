package io.mithril.proxy.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.mithril.mesh.config.ProxyConfig;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.proxy.Proxy;
import io.mithril.proxy.identity.Identity;
import io.mithril.proxy.identity.IdentitySource;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.svid.X509Svid;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeKeyManager;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's xDS client: one ADS stream (state of the world) to the control plane over mTLS with
 * the proxy's SVID, accepting the server only with exactly the expected SPIFFE ID. It subscribes as
 * Envoy does, in ADS order: clusters (wildcard), then the endpoints of the EDS clusters, listeners
 * (wildcard), then the route configurations the listeners name. A configuration is applied whole
 * once every cluster has its endpoints and every listener its routes ({@link Proxy#applyCompiled});
 * then each response that went into it is ACKed (version and nonce). A response that cannot be read
 * or applied (translation refused, a listener that cannot bind) is NACKed with {@code error_detail}
 * and the last good configuration keeps serving. When the stream breaks the client reconnects with
 * backoff (200 ms doubling to 10 s, with jitter), presenting the versions it has.
 */
public final class XdsClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(XdsClient.class);

    public static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    public static final String EDS =
            "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    public static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
    public static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    private static final Map<String, Class<? extends Message>> TYPES =
            Map.of(
                    CDS,
                    Cluster.class,
                    EDS,
                    ClusterLoadAssignment.class,
                    LDS,
                    Listener.class,
                    RDS,
                    RouteConfiguration.class);
    private static final long MIN_BACKOFF_MS = 200;
    private static final long MAX_BACKOFF_MS = 10_000;

    private final String target;
    private final Node node;
    private final ProxyNode proxyNode;
    private final Consumer<ProxyConfig> sink;
    private final ManagedChannel channel;
    private final ScheduledExecutorService loop;

    // Applied state, kept across streams; the rest is per stream. Touched on the loop thread only.
    private final Map<String, Map<String, Message>> accepted = new HashMap<>();
    private final Map<String, String> acceptedVersion = new HashMap<>();
    private final Map<String, Map<String, Message>> pending = new HashMap<>();
    private final Map<String, String> pendingVersion = new HashMap<>();
    private final Map<String, String> nonce = new HashMap<>();
    private final Map<String, List<String>> subscribed = new HashMap<>();
    private ClientCallStreamObserver<DiscoveryRequest> stream;
    private long backoffMs = MIN_BACKOFF_MS;
    private volatile boolean closed;
    private volatile String lastError = "";
    private volatile ProxyConfig applied;
    private final Map<String, String> nacks = new java.util.concurrent.ConcurrentHashMap<>();

    private XdsClient(
            String target,
            SpiffeId controlPlaneId,
            IdentitySource identity,
            Node node,
            ProxyNode proxyNode,
            Consumer<ProxyConfig> sink)
            throws SSLException {
        this.target = Objects.requireNonNull(target, "target");
        this.node = node;
        this.proxyNode = proxyNode;
        this.sink = sink;
        SpiffeTrustManager check =
                new SpiffeTrustManager(
                                td -> {
                                    Identity id = identity.current();
                                    List<java.security.cert.X509Certificate> roots =
                                            id == null ? null : id.bundles().get(td);
                                    if (roots == null) {
                                        throw new BundleNotFoundException(td);
                                    }
                                    return X509Bundle.of(td, roots);
                                },
                                SpiffeIdAuthorizer.exactly(controlPlaneId))
                        .withRefusalListener(
                                (peer, reason) -> {
                                    lastError = reason.getMessage();
                                    log.error(
                                            "refused the control plane at {}: {}",
                                            target,
                                            reason.getMessage());
                                });
        SslContext tls =
                GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                        .keyManager(
                                new SpiffeKeyManager(
                                        () -> {
                                            Identity id = identity.current();
                                            return id == null
                                                    ? null
                                                    : X509Svid.of(id.chain(), id.privateKey());
                                        }))
                        .trustManager(check)
                        .build();
        this.channel =
                NettyChannelBuilder.forTarget(target)
                        .sslContext(tls)
                        .keepAliveTime(30, TimeUnit.SECONDS)
                        .build();
        this.loop =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "xds-client");
                            t.setDaemon(true);
                            return t;
                        });
    }

    /**
     * Starts the client: it connects once {@code identity} has an SVID, and hands every complete
     * configuration to {@code sink}, which applies it or throws to refuse it.
     *
     * @param target the control plane's {@code host:port}
     * @param controlPlaneId the only SPIFFE ID accepted from the server
     * @param node the Envoy node sent with every request ({@link XdsNodes#of})
     * @param proxyNode what the configuration is for
     * @throws SSLException if the TLS context cannot be built
     */
    public static XdsClient start(
            String target,
            SpiffeId controlPlaneId,
            IdentitySource identity,
            Node node,
            ProxyNode proxyNode,
            Consumer<ProxyConfig> sink)
            throws SSLException {
        XdsClient c = new XdsClient(target, controlPlaneId, identity, node, proxyNode, sink);
        log.info(
                "xDS: connecting to the control plane {} at {} as node {}",
                controlPlaneId,
                target,
                node.getId());
        boolean[] started = {false};
        identity.addListener(
                id -> {
                    synchronized (started) {
                        if (!started[0] && id != null) {
                            started[0] = true;
                            c.run(c::connect);
                        }
                    }
                });
        return c;
    }

    /** The configuration last applied, or null. */
    public ProxyConfig applied() {
        return applied;
    }

    /** The last error (refused response, broken stream), "" after a successful apply. */
    public String lastError() {
        return lastError;
    }

    /** The error of the last NACK by type URL, while no later version of that type was applied. */
    public Map<String, String> nacks() {
        return Map.copyOf(nacks);
    }

    /** The versions applied (ACKed), by type URL. */
    public Map<String, String> versions() {
        try {
            return loop.submit(() -> Map.copyOf(acceptedVersion)).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            return Map.of();
        }
    }

    private void run(Runnable task) {
        if (closed) {
            return;
        }
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            // closed meanwhile
        }
    }

    private void connect() {
        if (closed) {
            return;
        }
        nonce.clear();
        subscribed.clear();
        pending.clear();
        pendingVersion.clear();
        AggregatedDiscoveryServiceGrpc.newStub(channel)
                .streamAggregatedResources(
                        new ClientResponseObserver<DiscoveryRequest, DiscoveryResponse>() {
                            private ClientCallStreamObserver<DiscoveryRequest> requests;

                            @Override
                            public void beforeStart(
                                    ClientCallStreamObserver<DiscoveryRequest> requests) {
                                // Runs on this (the loop) thread, inside streamAggregatedResources.
                                this.requests = requests;
                                stream = requests;
                            }

                            @Override
                            public void onNext(DiscoveryResponse r) {
                                run(
                                        () -> {
                                            if (stream == requests) {
                                                onResponse(r);
                                            }
                                        });
                            }

                            @Override
                            public void onError(Throwable t) {
                                run(() -> broken(requests, Status.fromThrowable(t)));
                            }

                            @Override
                            public void onCompleted() {
                                run(
                                        () ->
                                                broken(
                                                        requests,
                                                        Status.UNAVAILABLE.withDescription(
                                                                "the control plane ended the stream")));
                            }
                        });
        subscribe(CDS, List.of());
        if (accepted.containsKey(CDS) && accepted.containsKey(LDS)) {
            // A reconnection: every subscription again, with the versions in force (as Envoy does),
            // so
            // that the server sends whatever changed meanwhile, routes and endpoints included.
            subscribe(EDS, XdsConfigTranslator.edsClusterNames(clusters()));
            subscribe(LDS, List.of());
            subscribe(RDS, XdsConfigTranslator.routeNames(listeners()));
        }
    }

    private void onResponse(DiscoveryResponse r) {
        String type = r.getTypeUrl();
        nonce.put(type, r.getNonce());
        Class<? extends Message> cls = TYPES.get(type);
        if (cls == null) {
            nack(type, "type " + type + " is not subscribed by this proxy");
            return;
        }
        Map<String, Message> resources = new LinkedHashMap<>();
        for (Any any : r.getResourcesList()) {
            try {
                Message m = any.unpack(cls);
                resources.put(name(m), m);
            } catch (InvalidProtocolBufferException e) {
                nack(
                        type,
                        "resource of type "
                                + any.getTypeUrl()
                                + " in a "
                                + type
                                + " response: "
                                + e.getMessage());
                return;
            }
        }
        log.info(
                "xDS: received {} version {} ({} resources)",
                shortType(type),
                r.getVersionInfo(),
                resources.size());
        pending.put(type, resources);
        pendingVersion.put(type, r.getVersionInfo());
        if ((type.equals(EDS) || type.equals(RDS))
                && !resources.keySet().containsAll(subscribed.getOrDefault(type, List.of()))) {
            // An answer to the names asked before: ask again for the current ones, with this nonce
            // (the server ignores a request whose nonce is not the latest it sent).
            send(type, acceptedVersion.getOrDefault(type, ""), null);
        }
        if (type.equals(CDS)) {
            subscribe(EDS, XdsConfigTranslator.edsClusterNames(clusters()));
            if (!subscribed.containsKey(LDS)) {
                subscribe(LDS, List.of());
            }
        } else if (type.equals(LDS)) {
            try {
                subscribe(RDS, XdsConfigTranslator.routeNames(listeners()));
            } catch (XdsRejectedException e) {
                pending.remove(LDS);
                nack(LDS, e.getMessage());
                return;
            }
        }
        tryApply(type);
    }

    /** Applies the merged state if complete; ACKs what went in, NACKs what was refused. */
    private void tryApply(String trigger) {
        if (pending.isEmpty() || merged(CDS) == null || merged(LDS) == null) {
            return;
        }
        Map<String, Message> eds = merged(EDS) == null ? Map.of() : merged(EDS);
        Map<String, Message> rds = merged(RDS) == null ? Map.of() : merged(RDS);
        if (!eds.keySet().containsAll(XdsConfigTranslator.edsClusterNames(clusters()))) {
            return; // Envoy warms the clusters until their endpoints arrive
        }
        List<String> routeNames;
        try {
            routeNames = XdsConfigTranslator.routeNames(listeners());
        } catch (XdsRejectedException e) {
            refuse(LDS, trigger, e.getMessage());
            return;
        }
        if (!rds.keySet().containsAll(routeNames)) {
            return; // and the listeners until their routes arrive
        }
        if (applied != null
                && pending.keySet().stream()
                        .allMatch(t -> pendingVersion.get(t).equals(acceptedVersion.get(t)))) {
            // The versions in force again (a reconnection to a control plane with nothing new):
            // ACK them without applying the same configuration once more.
            for (String type : List.copyOf(pending.keySet())) {
                accepted.put(type, pending.remove(type));
                pendingVersion.remove(type);
                send(type, acceptedVersion.get(type), null);
            }
            log.info("xDS: versions in force confirmed by the control plane, nothing to apply");
            return;
        }
        Map<String, ClusterLoadAssignment> endpoints = new HashMap<>();
        eds.forEach((k, v) -> endpoints.put(k, (ClusterLoadAssignment) v));
        ProxyConfig config;
        try {
            config =
                    XdsConfigTranslator.translate(
                            proxyNode,
                            listeners(),
                            rds.values().stream().map(RouteConfiguration.class::cast).toList(),
                            clusters(),
                            endpoints);
            sink.accept(config);
        } catch (XdsRejectedException e) {
            refuse(blame(e.getMessage()), trigger, e.getMessage());
            return;
        } catch (Proxy.ListenerBindException e) {
            refuse(LDS, trigger, e.getMessage());
            return;
        } catch (RuntimeException e) {
            log.error("xDS: cannot apply the configuration", e);
            refuse(trigger, trigger, e.toString());
            return;
        }
        applied = config;
        lastError = "";
        backoffMs = MIN_BACKOFF_MS;
        for (String type : List.copyOf(pending.keySet())) {
            accepted.put(type, pending.remove(type));
            acceptedVersion.put(type, pendingVersion.remove(type));
            nacks.remove(type);
            send(type, acceptedVersion.get(type), null);
        }
        log.info(
                "xDS: applied clusters {}, endpoints {}, listeners {}, routes {}",
                acceptedVersion.get(CDS),
                acceptedVersion.getOrDefault(EDS, "-"),
                acceptedVersion.get(LDS),
                acceptedVersion.getOrDefault(RDS, "-"));
    }

    /** NACKs {@code type} (or the trigger when that is not pending), then retries with the rest. */
    private void refuse(String type, String trigger, String why) {
        String t = pending.containsKey(type) ? type : trigger;
        pending.remove(t);
        pendingVersion.remove(t);
        nack(t, why);
        if (!pending.isEmpty()) {
            tryApply(pending.keySet().iterator().next());
        }
    }

    private static String blame(String message) {
        if (message.startsWith("cluster ")) {
            return CDS;
        } else if (message.startsWith("route configuration ")) {
            return RDS;
        }
        return LDS;
    }

    private void nack(String type, String why) {
        lastError = shortType(type) + " refused: " + why;
        nacks.put(type, why);
        log.warn(
                "xDS: NACK {} (keeping version {}): {}",
                shortType(type),
                acceptedVersion.getOrDefault(type, "(none)"),
                why);
        send(type, acceptedVersion.getOrDefault(type, ""), why);
    }

    private void subscribe(String type, List<String> names) {
        if (names.equals(subscribed.get(type))
                || names.isEmpty()
                        && (type.equals(EDS) || type.equals(RDS))
                        && !subscribed.containsKey(type)) {
            return; // the same, or nothing to ask for (an empty EDS/RDS list would be a wildcard)
        }
        subscribed.put(type, List.copyOf(names));
        send(type, acceptedVersion.getOrDefault(type, ""), null);
    }

    private void send(String type, String version, String error) {
        DiscoveryRequest.Builder b =
                DiscoveryRequest.newBuilder()
                        .setNode(node)
                        .setTypeUrl(type)
                        .setVersionInfo(version)
                        .setResponseNonce(nonce.getOrDefault(type, ""))
                        .addAllResourceNames(subscribed.getOrDefault(type, List.of()));
        if (error != null) {
            b.setErrorDetail(
                    com.google.rpc.Status.newBuilder()
                            .setCode(Status.Code.INVALID_ARGUMENT.value())
                            .setMessage(error));
        }
        try {
            stream.onNext(b.build());
        } catch (RuntimeException e) {
            log.debug("xDS: could not send a request: {}", e.toString());
        }
    }

    private void broken(ClientCallStreamObserver<DiscoveryRequest> which, Status status) {
        if (closed || which != stream) {
            return;
        }
        stream = null;
        String why =
                status.getDescription() == null
                        ? status.getCode().toString()
                        : status.getCode() + ": " + status.getDescription();
        if (!lastError.startsWith("server SPIFFE ID")
                && !lastError.startsWith("server certificate")) {
            lastError = why;
        }
        long delay = backoffMs + ThreadLocalRandom.current().nextLong(backoffMs / 4 + 1);
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
        log.warn(
                "xDS: stream to {} lost ({}); keeping the configuration applied; reconnecting in {} ms",
                target,
                lastError,
                delay);
        loop.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    private Map<String, Message> merged(String type) {
        Map<String, Message> p = pending.get(type);
        return p != null ? p : accepted.get(type);
    }

    private List<Cluster> clusters() {
        return merged(CDS).values().stream().map(Cluster.class::cast).toList();
    }

    private List<Listener> listeners() {
        return merged(LDS).values().stream().map(Listener.class::cast).toList();
    }

    private static String name(Message m) {
        if (m instanceof Cluster c) {
            return c.getName();
        } else if (m instanceof ClusterLoadAssignment c) {
            return c.getClusterName();
        } else if (m instanceof Listener l) {
            return l.getName();
        }
        return ((RouteConfiguration) m).getName();
    }

    private static String shortType(String type) {
        return switch (type) {
            case CDS -> "CDS";
            case EDS -> "EDS";
            case LDS -> "LDS";
            case RDS -> "RDS";
            default -> type;
        };
    }

    @Override
    public void close() {
        closed = true;
        ClientCallStreamObserver<DiscoveryRequest> s = stream;
        if (s != null) {
            try {
                s.cancel("proxy shutting down", null);
            } catch (RuntimeException ignored) {
                // already closed
            }
        }
        channel.shutdownNow();
        loop.shutdownNow();
        try {
            channel.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
