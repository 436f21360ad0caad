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
import io.mithril.controlplane.xds.XdsServer;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.IdentitySource;
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
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane server (Mithril's istiod): serves Envoy's xDS v3 over ADS ({@code
 * envoy.service.discovery.v3.AggregatedDiscoveryService}, {@link XdsServer}) over mTLS with its own
 * SVID, to proxies that present an SVID of its trust domain whose SPIFFE ID is a proxy identity
 * {@code /ns/<namespace>/sa/<service account>} ({@link ProxyIdentity}) and whose node claims no
 * other namespace than that one. Each proxy gets, on connection and after every accepted
 * configuration change, the listeners, routes, clusters and endpoints compiled for it from the
 * resources that concern it ({@link ResourceFilter}); it answers ACK or NACK per type, which {@link
 * #status()} reports.
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
    private final Server server;
    private final XdsServer xds;
    private volatile ConfigSet current = ConfigSet.empty();
    private volatile List<String> rejectedErrors = List.of();
    private volatile Instant rejectedAt;

    private ControlPlane(
            InetSocketAddress listen,
            IdentitySource identity,
            TrustDomain trustDomain,
            String configDir,
            List<TrustDomain> trustDomainAliases)
            throws IOException {
        this.identity = Objects.requireNonNull(identity, "identity");
        this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
        this.configDir = configDir == null ? "" : configDir;
        SpiffeIdAuthorizer clients = SpiffeIdAuthorizer.memberOf(trustDomain);
        this.clientCheck = new SpiffeTrustManager(identity.bundles(), clients);
        this.xds =
                new XdsServer(
                        trustDomain.name(),
                        trustDomainAliases.stream().map(TrustDomain::name).toList(),
                        PEER_ID::get,
                        PEER_ADDRESS::get,
                        () -> current);
        this.server =
                NettyServerBuilder.forAddress(listen)
                        .sslContext(
                                SpiffeTls.server(
                                        identity,
                                        clientCheck.withRefusalListener(
                                                // Logs every proxy refused at the TLS handshake
                                                // (invalid SVID, another trust domain), with the
                                                // reason.
                                                (peer, reason) ->
                                                        log.warn(
                                                                "refused a proxy connection{}: {}",
                                                                peer.isEmpty()
                                                                        ? ""
                                                                        : " from " + peer,
                                                                reason.getMessage()))))
                        .addService(
                                ServerInterceptors.intercept(
                                        xds.ads(), new PeerIdentityInterceptor()))
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
    public static ControlPlane start(
            InetSocketAddress listen,
            IdentitySource identity,
            TrustDomain trustDomain,
            String configDir)
            throws IOException {
        return start(listen, identity, trustDomain, configDir, List.of());
    }

    /**
     * As {@link #start(InetSocketAddress, IdentitySource, TrustDomain, String)}, with Istio's
     * {@code trustDomainAliases}: sidecars' inbound listeners also accept peers of these trust
     * domains (federated ones), whose bundles the proxies get from their agent.
     */
    public static ControlPlane start(
            InetSocketAddress listen,
            IdentitySource identity,
            TrustDomain trustDomain,
            String configDir,
            List<TrustDomain> trustDomainAliases)
            throws IOException {
        ControlPlane cp =
                new ControlPlane(listen, identity, trustDomain, configDir, trustDomainAliases);
        X509Svid own = identity.svid();
        log.info(
                "control plane serving xDS (ADS) on {} as {}, accepting proxies of trust domain {}",
                cp.server.getListenSockets(),
                own == null ? "(no SVID yet)" : own.spiffeId(),
                trustDomain);
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
        xds.update();
    }

    /** The ADS server (xDS v3). */
    public XdsServer xds() {
        return xds;
    }

    /**
     * Records that the newest files were rejected (shown by status); what is served does not
     * change.
     */
    public void rejected(List<String> errors, Instant at) {
        rejectedErrors = List.copyOf(errors);
        rejectedAt = at;
    }

    /** Everything {@code mithril controlplane status} shows. */
    public ControlPlaneStatus status() {
        X509Svid own = identity.svid();
        ConfigSet set = current;
        List<ProxyStatus> proxies = xds.status();
        return new ControlPlaneStatus(
                own == null ? "" : own.spiffeId().toString(),
                configDir,
                set.version(),
                set.loadedAt(),
                set.documents().size(),
                rejectedErrors,
                rejectedAt,
                proxies);
    }

    /** Stops serving; connected proxies see the stream end and reconnect later. */
    @Override
    public void close() {
        // ADS streams never end on their own: cancel them (proxies see UNAVAILABLE and reconnect
        // later).
        server.shutdownNow();
        try {
            server.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.info("control plane stopped");
    }

    /**
     * Authenticates every call as istiod authenticates an XDS caller: the peer's X509-SVID
     * (validated by the TLS handshake, checked again here) must be of the trust domain, and its
     * SPIFFE ID must be a proxy identity {@code /ns/<namespace>/sa/<service account>}; its identity
     * and address go into the call's context. Anything else is refused before the stream starts,
     * with one log line naming the peer and the reason.
     */
    private final class PeerIdentityInterceptor implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(
                ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
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
                return refuse(
                        call,
                        Status.UNAUTHENTICATED.withDescription(
                                "an X509-SVID of trust domain "
                                        + trustDomain
                                        + " is required: "
                                        + e.getMessage()));
            }
            ProxyIdentity proxy;
            try {
                proxy = ProxyIdentity.of(id);
            } catch (IllegalArgumentException e) {
                log.warn("refused proxy {} from {}: {}", id, remote, e.getMessage());
                return refuse(
                        call,
                        Status.PERMISSION_DENIED.withDescription(
                                e.getMessage()
                                        + "; the control plane serves configuration only to proxy identities"));
            }
            Context ctx =
                    Context.current()
                            .withValues(PEER_ID, proxy, PEER_ADDRESS, String.valueOf(remote));
            return Contexts.interceptCall(ctx, call, headers, next);
        }

        private <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
            call.close(status, new Metadata());
            return new ServerCall.Listener<>() {};
        }
    }
}
