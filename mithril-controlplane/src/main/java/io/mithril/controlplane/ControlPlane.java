package io.mithril.controlplane;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.mithril.api.mesh.ControlPlaneMessage;
import io.mithril.api.mesh.Hello;
import io.mithril.api.mesh.MeshConfigServiceGrpc;
import io.mithril.api.mesh.MeshResource;
import io.mithril.api.mesh.ProxyMessage;
import io.mithril.api.mesh.Snapshot;
import io.mithril.controlplane.xds.XdsServer;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509Svid;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane server (Mithril's istiod): serves the mesh configuration stream
 * ({@code mithril.mesh.v1.MeshConfigService/StreamConfig}) over mTLS with its own SVID, to
 * proxies that present an SVID of its trust domain whose SPIFFE ID is a proxy identity
 * {@code /ns/<namespace>/sa/<service account>} ({@link ProxyIdentity}) and that claim no other
 * namespace than that one. Each proxy gets, on connection and after
 * every accepted configuration change, a full {@link Snapshot} of the resources that concern it
 * ({@link ResourceFilter}); it answers ACK or NACK, which {@link #status()} reports.
 *
 * <p>{@link #serve(ConfigSet)} installs a new validated set and pushes it at once to every
 * connected proxy whose resources changed. Thread-safe.
 */
public final class ControlPlane implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlPlane.class);
    private static final Context.Key<ProxyIdentity> PEER_ID = Context.key("mithril-peer-identity");
    private static final Context.Key<String> PEER_ADDRESS = Context.key("mithril-peer-address");

    private final IdentitySource identity;
    private final TrustDomain trustDomain;
    private final String configDir;
    private final SpiffeTrustManager clientCheck;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    private final Server server;
    private final XdsServer xds;
    private volatile ConfigSet current = ConfigSet.empty();
    private volatile List<String> rejectedErrors = List.of();
    private volatile Instant rejectedAt;

    private ControlPlane(InetSocketAddress listen, IdentitySource identity, TrustDomain trustDomain, String configDir)
            throws IOException {
        this.identity = Objects.requireNonNull(identity, "identity");
        this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
        this.configDir = configDir == null ? "" : configDir;
        SpiffeIdAuthorizer clients = SpiffeIdAuthorizer.memberOf(trustDomain);
        this.clientCheck = new SpiffeTrustManager(identity.bundles(), clients);
        this.xds = new XdsServer(trustDomain.name(), PEER_ID::get, () -> current);
        this.server = NettyServerBuilder.forAddress(listen)
                .sslContext(SpiffeTls.server(identity, clientCheck.withRefusalListener(
                        // Logs every proxy refused at the TLS handshake (invalid SVID, another trust domain), with the reason.
                        (peer, reason) -> log.warn("refused a proxy connection{}: {}", peer.isEmpty() ? "" : " from " + peer, reason.getMessage()))))
                .addService(ServerInterceptors.intercept(new Service(), new PeerIdentityInterceptor()))
                // Envoy's ADS beside the native stream, behind the same authentication.
                .addService(ServerInterceptors.intercept(xds.ads(), new PeerIdentityInterceptor()))
                .permitKeepAliveTime(5, TimeUnit.SECONDS)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .build()
                .start();
    }

    /**
     * Starts serving on {@code listen} (port 0 picks a free port, see {@link #port()}).
     *
     * @param trustDomain proxies must present an SVID of this trust domain
     * @param configDir shown in status only
     * @throws IOException if the address cannot be bound
     */
    public static ControlPlane start(InetSocketAddress listen, IdentitySource identity, TrustDomain trustDomain,
                                     String configDir) throws IOException {
        ControlPlane cp = new ControlPlane(listen, identity, trustDomain, configDir);
        X509Svid own = identity.svid();
        log.info("control plane serving mesh configuration on {} as {}, accepting proxies of trust domain {}",
                cp.server.getListenSockets(), own == null ? "(no SVID yet)" : own.spiffeId(), trustDomain);
        return cp;
    }

    /** The port the server listens on. */
    public int port() {
        return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    }

    /** The set currently served. */
    public ConfigSet current() {
        return current;
    }

    /** Installs a validated configuration set and pushes it to every connected proxy it changes. */
    public void serve(ConfigSet set) {
        Objects.requireNonNull(set, "set");
        current = set;
        rejectedErrors = List.of();
        rejectedAt = null;
        for (Session s : sessions) {
            s.push(set);
        }
        xds.update(set);
    }

    /** The ADS server (xDS v3) beside the native stream. */
    public XdsServer xds() {
        return xds;
    }

    /** Records that the newest files were rejected (shown by status); what is served does not change. */
    public void rejected(List<String> errors, Instant at) {
        rejectedErrors = List.copyOf(errors);
        rejectedAt = at;
    }

    /** Everything {@code mithril controlplane status} shows. */
    public ControlPlaneStatus status() {
        X509Svid own = identity.svid();
        ConfigSet set = current;
        List<ProxyStatus> proxies = new ArrayList<>();
        for (Session s : sessions) {
            ProxyStatus st = s.status();
            if (st != null) {
                proxies.add(st);
            }
        }
        proxies.sort(Comparator.comparing(ProxyStatus::spiffeId).thenComparing(ProxyStatus::nodeName));
        return new ControlPlaneStatus(own == null ? "" : own.spiffeId().toString(), configDir, set.version(),
                set.loadedAt(), set.documents().size(), rejectedErrors, rejectedAt, proxies);
    }

    /** Stops serving; connected proxies see the stream end and reconnect later. */
    @Override
    public void close() {
        server.shutdown();
        for (Session s : sessions) {
            s.end(Status.UNAVAILABLE.withDescription("control plane shutting down"));
        }
        try {
            if (!server.awaitTermination(2, TimeUnit.SECONDS)) {
                server.shutdownNow();
                server.awaitTermination(2, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        log.info("control plane stopped");
    }

    /**
     * Authenticates every call as istiod authenticates an XDS caller: the peer's X509-SVID
     * (validated by the TLS handshake, checked again here) must be of the trust domain, and its
     * SPIFFE ID must be a proxy identity {@code /ns/<namespace>/sa/<service account>}; its
     * identity and address go into the call's context. Anything else is refused before the
     * stream starts, with one log line naming the peer and the reason.
     */
    private final class PeerIdentityInterceptor implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                           ServerCallHandler<Q, R> next) {
            SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
            SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
            SpiffeId id;
            try {
                if (session == null) {
                    throw new SSLPeerUnverifiedException("no TLS session");
                }
                Certificate[] certs = session.getPeerCertificates();
                X509Certificate[] chain = new X509Certificate[certs.length];
                for (int i = 0; i < certs.length; i++) {
                    chain[i] = (X509Certificate) certs[i];
                }
                id = clientCheck.verify(chain, "proxy");
            } catch (SSLPeerUnverifiedException | CertificateException | ClassCastException e) {
                log.warn("refused a stream from {}: {}", remote, e.getMessage());
                return refuse(call, Status.UNAUTHENTICATED.withDescription("an X509-SVID of trust domain " + trustDomain
                        + " is required: " + e.getMessage()));
            }
            ProxyIdentity proxy;
            try {
                proxy = ProxyIdentity.of(id);
            } catch (IllegalArgumentException e) {
                log.warn("refused proxy {} from {}: {}", id, remote, e.getMessage());
                return refuse(call, Status.PERMISSION_DENIED.withDescription(e.getMessage()
                        + "; the control plane serves configuration only to proxy identities"));
            }
            Context ctx = Context.current().withValues(PEER_ID, proxy, PEER_ADDRESS, String.valueOf(remote));
            return Contexts.interceptCall(ctx, call, headers, next);
        }

        private <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
            call.close(status, new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
    }

    private final class Service extends MeshConfigServiceGrpc.MeshConfigServiceImplBase {
        @Override
        public StreamObserver<ProxyMessage> streamConfig(StreamObserver<ControlPlaneMessage> responses) {
            ProxyIdentity peer = PEER_ID.get();
            String address = PEER_ADDRESS.get();
            Session session = new Session(peer, address, (ServerCallStreamObserver<ControlPlaneMessage>) responses);
            ((ServerCallStreamObserver<ControlPlaneMessage>) responses).setOnCancelHandler(() -> session.gone("cancelled"));
            return session;
        }
    }

    /** One proxy's stream. */
    private final class Session implements StreamObserver<ProxyMessage> {
        private final ProxyIdentity identity;
        private final SpiffeId peer;
        private final String address;
        private final ServerCallStreamObserver<ControlPlaneMessage> out;
        private final Instant connectedAt = Instant.now();
        private ProxyInfo info; // set by Hello
        private boolean ended;
        private String sent = "";
        private String acked = "";
        private String nackVersion = "";
        private String nackError = "";

        Session(ProxyIdentity identity, String address, ServerCallStreamObserver<ControlPlaneMessage> out) {
            this.identity = identity;
            this.peer = identity.spiffeId();
            this.address = address;
            this.out = out;
        }

        @Override
        public void onNext(ProxyMessage msg) {
            switch (msg.getMessageCase()) {
                case HELLO -> hello(msg.getHello());
                case ACK -> {
                    synchronized (this) {
                        if (info == null) {
                            end(Status.FAILED_PRECONDITION.withDescription("send Hello first"));
                            return;
                        }
                        acked = msg.getAck().getVersion();
                        if (!nackVersion.isEmpty() && !nackVersion.equals(sent)) {
                            nackVersion = "";
                            nackError = "";
                        }
                    }
                    log.info("proxy {} ({}) ACKed version {}", peer, info.nodeName(), msg.getAck().getVersion());
                }
                case NACK -> {
                    synchronized (this) {
                        if (info == null) {
                            end(Status.FAILED_PRECONDITION.withDescription("send Hello first"));
                            return;
                        }
                        nackVersion = msg.getNack().getVersion();
                        nackError = msg.getNack().getError();
                    }
                    log.warn("proxy {} ({}) NACKed version {} and keeps its last good configuration: {}", peer,
                            info.nodeName(), msg.getNack().getVersion(), msg.getNack().getError());
                }
                default -> end(Status.INVALID_ARGUMENT.withDescription("empty message: send Hello, Ack or Nack"));
            }
        }

        private void hello(Hello h) {
            ProxyInfo.Kind kind = switch (h.getKind()) {
                case GATEWAY -> ProxyInfo.Kind.GATEWAY;
                case SIDECAR -> ProxyInfo.Kind.SIDECAR;
                default -> null;
            };
            if (kind == null) {
                end(Status.INVALID_ARGUMENT.withDescription("Hello.kind must be GATEWAY or SIDECAR"));
                return;
            }
            // Istio's rule: the identity spiffe://td/ns/N/sa/S may only ask for namespace N's configuration.
            String ns = h.getNamespace().isEmpty() ? identity.namespace() : h.getNamespace();
            if (!ns.equals(identity.namespace())) {
                String why = "proxy " + peer + " may not claim namespace \"" + ns + "\": its SPIFFE ID is in namespace \""
                        + identity.namespace() + "\"";
                log.warn("refused proxy {} from {}: {}", peer, address, why);
                end(Status.PERMISSION_DENIED.withDescription(why));
                return;
            }
            synchronized (this) {
                if (info != null) {
                    end(Status.FAILED_PRECONDITION.withDescription("Hello was already sent on this stream"));
                    return;
                }
                info = new ProxyInfo(peer, kind, ns, h.getLabelsMap(), h.getNodeName());
            }
            sessions.add(this);
            log.info("proxy connected: {} {} namespace={} node={} labels={} from {}", kind.name().toLowerCase(),
                    peer, ns, h.getNodeName(), h.getLabelsMap(), address);
            push(current);
        }

        synchronized void push(ConfigSet set) {
            if (info == null || ended) {
                return;
            }
            List<MeshDocument> docs = ResourceFilter.select(set.documents(), info);
            String version = ConfigSet.versionOf(docs);
            if (version.equals(sent)) {
                return;
            }
            Snapshot.Builder snap = Snapshot.newBuilder().setVersion(version);
            for (MeshDocument d : docs) {
                snap.addResources(MeshResource.newBuilder().setKind(d.kind()).setNamespace(d.namespace())
                        .setName(d.name()).setSource(d.source()).setYaml(d.yaml()));
            }
            try {
                out.onNext(ControlPlaneMessage.newBuilder().setSnapshot(snap).build());
                sent = version;
                log.info("pushed version {} ({} resources) to {} ({})", version, docs.size(), peer, info.nodeName());
            } catch (RuntimeException e) {
                log.warn("push to {} failed: {}", peer, e.toString());
            }
        }

        synchronized ProxyStatus status() {
            if (info == null) {
                return null;
            }
            return new ProxyStatus(peer.toString(), info.kind().name().toLowerCase(), info.namespace(), info.nodeName(),
                    info.labels(), address, connectedAt, sent, acked, nackVersion, nackError);
        }

        synchronized void end(Status status) {
            if (ended) {
                return;
            }
            ended = true;
            sessions.remove(this);
            try {
                out.onError(status.asRuntimeException());
            } catch (RuntimeException ignored) {
                // the call may already be closed
            }
        }

        void gone(String why) {
            boolean was = sessions.remove(this);
            synchronized (this) {
                ended = true;
            }
            if (was) {
                log.info("proxy disconnected: {} ({}): {}", peer, info == null ? "" : info.nodeName(), why);
            }
        }

        @Override
        public void onError(Throwable t) {
            gone(Status.fromThrowable(t).toString());
        }

        @Override
        public void onCompleted() {
            gone("stream closed by the proxy");
            synchronized (this) {
                try {
                    out.onCompleted();
                } catch (RuntimeException ignored) {
                    // already closed
                }
            }
        }
    }

    /** Labels as {@code k=v,k=v}, for logs and status. */
    static String labels(Map<String, String> labels) {
        StringBuilder sb = new StringBuilder();
        labels.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(e.getKey()).append('=').append(e.getValue());
        });
        return sb.toString();
    }
}
