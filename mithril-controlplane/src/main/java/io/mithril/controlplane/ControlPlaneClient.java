package io.mithril.controlplane;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.mithril.api.mesh.Ack;
import io.mithril.api.mesh.ControlPlaneMessage;
import io.mithril.api.mesh.Hello;
import io.mithril.api.mesh.MeshConfigServiceGrpc;
import io.mithril.api.mesh.MeshResource;
import io.mithril.api.mesh.Nack;
import io.mithril.api.mesh.ProxyKind;
import io.mithril.api.mesh.ProxyMessage;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's side of the mesh configuration stream. It connects to the control plane over mTLS
 * with the proxy's SVID, accepts the server only if its SVID validates against the bundle and
 * carries exactly the expected control-plane SPIFFE ID, sends {@code Hello}, and hands every
 * snapshot to the {@link SnapshotHandler}: a handler that returns normally makes the client ACK
 * the version; one that throws makes it NACK with the exception's message (the proxy keeps its
 * last good configuration: the handler must not have applied anything then).
 *
 * <p>When the stream breaks (control plane down, restarted, refused), the client reconnects with
 * exponential backoff (200 ms doubling to 10 s, with jitter), and the proxy keeps serving what
 * it last applied; a restarted control plane sends its current state on reconnection.
 */
public final class ControlPlaneClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlPlaneClient.class);
    private static final long MIN_BACKOFF_MS = 200;
    private static final long MAX_BACKOFF_MS = 10_000;

    /** Applies one snapshot, or throws to refuse it. */
    @FunctionalInterface
    public interface SnapshotHandler {
        /**
         * Applies {@code snapshot} atomically; throws (with a message saying what is wrong) to
         * refuse it, leaving the current configuration in place.
         */
        void apply(ConfigSnapshot snapshot) throws Exception;
    }

    /** A snapshot as received: its version and resources, in the control plane's file order. */
    public record ConfigSnapshot(String version, List<Resource> resources) {
        public ConfigSnapshot {
            resources = List.copyOf(resources);
        }

        /** All resources as one multi-document YAML text, ready for the mesh parser. */
        public String yaml() {
            return MeshDocuments.join(resources.stream().map(Resource::yaml).toList());
        }
    }

    /** One resource of a snapshot; {@code source} is where the control plane read it. */
    public record Resource(String kind, String namespace, String name, String source, String yaml) {
    }

    /** What the proxy says about itself in Hello. */
    public record Node(ProxyInfo.Kind kind, String namespace, Map<String, String> labels, String nodeName) {
        public Node {
            Objects.requireNonNull(kind, "kind");
            namespace = namespace == null ? "" : namespace;
            labels = Map.copyOf(labels);
            nodeName = nodeName == null ? "" : nodeName;
        }
    }

    private final String target;
    private final SpiffeId controlPlaneId;
    private final Node node;
    private final SnapshotHandler handler;
    private final ManagedChannel channel;
    private final ScheduledExecutorService scheduler;
    private volatile boolean closed;
    private volatile boolean connected;
    private volatile String appliedVersion = "";
    private volatile String lastError = "";
    private volatile ClientCallStreamObserver<ProxyMessage> stream;
    private long backoffMs = MIN_BACKOFF_MS;

    private ControlPlaneClient(String target, SpiffeId controlPlaneId, IdentitySource identity, Node node,
                               SnapshotHandler handler) throws SSLException {
        this.target = Objects.requireNonNull(target, "target");
        this.controlPlaneId = Objects.requireNonNull(controlPlaneId, "controlPlaneId");
        this.node = Objects.requireNonNull(node, "node");
        this.handler = Objects.requireNonNull(handler, "handler");
        SpiffeTrustManager check = new SpiffeTrustManager(identity.bundles(), SpiffeIdAuthorizer.exactly(controlPlaneId));
        this.channel = NettyChannelBuilder.forTarget(target)
                .sslContext(SpiffeTls.client(identity, check.withRefusalListener((peer, reason) -> {
                    // Keeps the reason a server was refused (e.g. an impostor's SPIFFE ID) for logs and lastError().
                    lastError = reason.getMessage();
                    log.error("refused the control plane at {}: {}", target, reason.getMessage());
                })))
                .keepAliveTime(30, TimeUnit.SECONDS)
                .build();
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "controlplane-client");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Starts connecting to the control plane at {@code target} ({@code host:port}) and returns at
     * once; snapshots arrive on the handler, from one thread, in order.
     *
     * @param controlPlaneId the only SPIFFE ID accepted from the server
     * @throws SSLException if the TLS context cannot be built
     */
    public static ControlPlaneClient start(String target, SpiffeId controlPlaneId, IdentitySource identity, Node node,
                                           SnapshotHandler handler) throws SSLException {
        ControlPlaneClient c = new ControlPlaneClient(target, controlPlaneId, identity, node, handler);
        log.info("connecting to the control plane {} at {} as a {}", controlPlaneId, target, node.kind().name().toLowerCase());
        c.scheduler.execute(c::connect);
        return c;
    }

    /** The version last applied (and ACKed), "" before the first. */
    public String appliedVersion() {
        return appliedVersion;
    }

    /** Whether the stream is up and a snapshot arrived on it. */
    public boolean connected() {
        return connected;
    }

    /** The last connection or apply error, "" if none since the last success. */
    public String lastError() {
        return lastError;
    }

    private void connect() {
        if (closed) {
            return;
        }
        MeshConfigServiceGrpc.newStub(channel).streamConfig(new ClientResponseObserver<ProxyMessage, ControlPlaneMessage>() {
            private ClientCallStreamObserver<ProxyMessage> requests;

            @Override
            public void beforeStart(ClientCallStreamObserver<ProxyMessage> requests) {
                this.requests = requests;
                stream = requests;
            }

            @Override
            public void onNext(ControlPlaneMessage msg) {
                if (msg.hasSnapshot()) {
                    run(() -> apply(requests, msg.getSnapshot()));
                }
            }

            @Override
            public void onError(Throwable t) {
                run(() -> broken(Status.fromThrowable(t)));
            }

            @Override
            public void onCompleted() {
                run(() -> broken(Status.UNAVAILABLE.withDescription("the control plane ended the stream")));
            }
        });
        ClientCallStreamObserver<ProxyMessage> s = stream;
        s.onNext(ProxyMessage.newBuilder().setHello(Hello.newBuilder()
                .setKind(node.kind() == ProxyInfo.Kind.GATEWAY ? ProxyKind.GATEWAY : ProxyKind.SIDECAR)
                .setNamespace(node.namespace()).putAllLabels(node.labels()).setNodeName(node.nodeName())).build());
    }

    /** Runs on the client's own thread (one at a time, in order), unless the client is closed. */
    private void run(Runnable task) {
        if (closed) {
            return;
        }
        try {
            scheduler.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed meanwhile
        }
    }

    private void apply(ClientCallStreamObserver<ProxyMessage> requests, io.mithril.api.mesh.Snapshot snap) {
        if (closed) {
            return;
        }
        connected = true;
        backoffMs = MIN_BACKOFF_MS;
        List<Resource> resources = snap.getResourcesList().stream()
                .map((MeshResource r) -> new Resource(r.getKind(), r.getNamespace(), r.getName(), r.getSource(), r.getYaml()))
                .toList();
        ProxyMessage answer;
        if (snap.getVersion().equals(appliedVersion)) {
            // A reconnection (or a restarted control plane) resending what is in force: nothing to apply.
            lastError = "";
            log.info("control plane at {} confirms configuration version {}", target, snap.getVersion());
            answer = ProxyMessage.newBuilder().setAck(Ack.newBuilder().setVersion(snap.getVersion())).build();
            try {
                requests.onNext(answer);
            } catch (RuntimeException e) {
                log.debug("could not answer the control plane: {}", e.toString());
            }
            return;
        }
        try {
            handler.apply(new ConfigSnapshot(snap.getVersion(), resources));
            appliedVersion = snap.getVersion();
            lastError = "";
            log.info("applied configuration version {} from the control plane ({} resources)", snap.getVersion(), resources.size());
            answer = ProxyMessage.newBuilder().setAck(Ack.newBuilder().setVersion(snap.getVersion())).build();
        } catch (Exception e) {
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            lastError = "version " + snap.getVersion() + " refused: " + why;
            log.warn("refused configuration version {} from the control plane, keeping version {}: {}", snap.getVersion(),
                    appliedVersion.isEmpty() ? "(none)" : appliedVersion, why);
            answer = ProxyMessage.newBuilder().setNack(Nack.newBuilder().setVersion(snap.getVersion()).setError(why)).build();
        }
        try {
            requests.onNext(answer);
        } catch (RuntimeException e) {
            log.debug("could not answer the control plane: {}", e.toString());
        }
    }

    private void broken(Status status) {
        connected = false;
        if (closed) {
            return;
        }
        String why = status.getDescription() == null ? status.getCode().toString()
                : status.getCode() + ": " + status.getDescription();
        if (status.getCause() != null && status.getDescription() == null) {
            why = status.getCode() + ": " + status.getCause();
        }
        if (!lastError.startsWith("server SPIFFE ID") && !lastError.startsWith("server certificate")) {
            lastError = why;
        }
        long delay = backoffMs + ThreadLocalRandom.current().nextLong(backoffMs / 4 + 1);
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
        log.warn("control plane stream to {} lost ({}); keeping configuration version {}; reconnecting in {} ms", target,
                lastError, appliedVersion.isEmpty() ? "(none)" : appliedVersion, delay);
        scheduler.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        closed = true;
        ClientCallStreamObserver<ProxyMessage> s = stream;
        if (s != null) {
            try {
                s.cancel("proxy shutting down", null);
            } catch (RuntimeException ignored) {
                // already closed
            }
        }
        channel.shutdownNow();
        scheduler.shutdownNow();
        try {
            channel.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
