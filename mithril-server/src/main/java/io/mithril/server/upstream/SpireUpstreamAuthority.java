package io.mithril.server.upstream;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.mithril.api.spire.bundle.BundleGrpc;
import io.mithril.api.spire.bundle.GetBundleRequest;
import io.mithril.api.spire.bundle.PublishJWTAuthorityRequest;
import io.mithril.api.spire.bundle.PublishJWTAuthorityResponse;
import io.mithril.api.spire.svid.NewDownstreamX509CARequest;
import io.mithril.api.spire.svid.NewDownstreamX509CAResponse;
import io.mithril.api.spire.svid.SVIDGrpc;
import io.mithril.api.spire.types.Bundle;
import io.mithril.api.spire.types.JWTKey;
import io.mithril.api.workload.client.WorkloadApiException;
import io.mithril.api.workload.client.X509Context;
import io.mithril.api.workload.client.X509Source;
import io.mithril.pki.Certificates;
import io.mithril.pki.Csr;
import io.mithril.pki.PkiException;
import io.mithril.pki.upstream.UpstreamAuthority;
import io.mithril.pki.upstream.UpstreamAuthorityException;
import io.mithril.server.config.ServerConfig.SpireUpstreamConfig;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.security.auth.x500.X500Principal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code UpstreamAuthority "spire"}: this server is nested under an upstream identity server of the
 * same trust domain, as SPIRE's plugin of the same name
 * (pkg/server/plugin/upstreamauthority/spire).
 *
 * <ol>
 *   <li>It takes an X509-SVID from the Workload API of an agent of the upstream server running
 *       beside it ({@code workload_api_socket}); that agent's entry for this server carries {@code
 *       -downstream}.
 *   <li>With that SVID as TLS client certificate it calls the upstream at {@code
 *       server_address:server_port}, checking that the peer is {@code spiffe://<td>/spire/server}
 *       under the trust domain's bundle from the same Workload API.
 *   <li>{@code spire.api.server.svid.v1.SVID/NewDownstreamX509CA} signs this server's CA key; the
 *       answer is checked (our key, a CA of the trust domain, a chain that validates to the
 *       returned roots) before it is used, so a bad answer never becomes a half CA.
 *   <li>{@code spire.api.server.bundle.v1.Bundle/PublishJWTAuthority} publishes each JWT signing
 *       key upstream; the answer (every JWT key under the root) joins this server's bundle.
 *   <li>{@code GetBundle} is polled every 5 seconds (SPIRE's {@code upstreamPollFreq}); a changed
 *       upstream bundle is handed to the CA manager, which adds its roots and JWT keys.
 * </ol>
 *
 * <p>Every failure is an {@link UpstreamAuthorityException} naming the upstream address or the
 * socket and what went wrong.
 */
public final class SpireUpstreamAuthority implements UpstreamAuthority {

    private static final Logger log = LoggerFactory.getLogger(SpireUpstreamAuthority.class);

    /** SPIRE's {@code upstreamPollFreq}. */
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(5);

    /** How long to wait for the first SVID from the Workload API. */
    public static final Duration DEFAULT_SVID_WAIT = Duration.ofSeconds(30);

    /** Deadline of each call to the upstream server. */
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);

    private final SpireUpstreamConfig config;
    private final TrustDomain trustDomain;
    private final Clock clock;
    private final Duration svidWait;
    private final Duration pollInterval;
    private final SpiffeId upstreamServerId;
    private final String upstream;
    private final List<Consumer<UpstreamBundle>> listeners = new CopyOnWriteArrayList<>();

    private X509Source source;
    private ManagedChannel channel;
    private ScheduledExecutorService poller;
    private UpstreamBundle lastSeen;
    private boolean pollFailing;
    private volatile boolean closed;

    public SpireUpstreamAuthority(
            SpireUpstreamConfig config, TrustDomain trustDomain, Clock clock) {
        this(config, trustDomain, clock, DEFAULT_SVID_WAIT, DEFAULT_POLL_INTERVAL);
    }

    public SpireUpstreamAuthority(
            SpireUpstreamConfig config,
            TrustDomain trustDomain,
            Clock clock,
            Duration svidWait,
            Duration pollInterval) {
        this.config = config;
        this.trustDomain = trustDomain;
        this.clock = clock;
        this.svidWait = svidWait;
        this.pollInterval = pollInterval;
        this.upstreamServerId = SpiffeId.of(trustDomain, "/spire/server");
        this.upstream = "upstream server " + config.serverAddress() + ":" + config.serverPort();
    }

    @Override
    public String name() {
        return "spire";
    }

    @Override
    public MintedX509Ca mintX509Ca(
            KeyPair serverCaKey, TrustDomain td, Duration ttl, X500Principal subject)
            throws UpstreamAuthorityException {
        ManagedChannel ch = channel();
        byte[] csr;
        try {
            csr = Csr.create(serverCaKey, null, List.of());
        } catch (PkiException e) {
            throw new UpstreamAuthorityException("cannot build the CA's CSR: " + e.getMessage(), e);
        }
        NewDownstreamX509CAResponse resp;
        try {
            resp =
                    SVIDGrpc.newBlockingStub(ch)
                            .withDeadlineAfter(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                            .newDownstreamX509CA(
                                    NewDownstreamX509CARequest.newBuilder()
                                            .setCsr(ByteString.copyFrom(csr))
                                            .setPreferredTtl(
                                                    (int)
                                                            Math.min(
                                                                    Integer.MAX_VALUE,
                                                                    ttl.toSeconds()))
                                            .build());
        } catch (StatusRuntimeException e) {
            throw new UpstreamAuthorityException(refused("NewDownstreamX509CA", e), e);
        }
        List<X509Certificate> chain = certificates(resp.getCaCertChainList(), "ca_cert_chain");
        List<X509Certificate> roots =
                certificates(resp.getX509AuthoritiesList(), "x509_authorities");
        checkMinted(chain, roots, serverCaKey);
        log.info(
                "Downstream X509 CA signed by {}: subject={} notAfter={} roots={}",
                upstream,
                chain.get(0).getSubjectX500Principal(),
                chain.get(0).getNotAfter().toInstant(),
                roots.size());
        startPolling();
        return new MintedX509Ca(chain, roots);
    }

    @Override
    public Optional<List<JwtKey>> publishJwtKey(JwtKey key) throws UpstreamAuthorityException {
        ManagedChannel ch = channel();
        PublishJWTAuthorityResponse resp;
        try {
            resp =
                    BundleGrpc.newBlockingStub(ch)
                            .withDeadlineAfter(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                            .publishJWTAuthority(
                                    PublishJWTAuthorityRequest.newBuilder()
                                            .setJwtAuthority(
                                                    JWTKey.newBuilder()
                                                            .setKeyId(key.keyId())
                                                            .setPublicKey(
                                                                    ByteString.copyFrom(
                                                                            key.publicKey()))
                                                            .setExpiresAt(key.expiresAt()))
                                            .build());
        } catch (StatusRuntimeException e) {
            throw new UpstreamAuthorityException(refused("PublishJWTAuthority", e), e);
        }
        List<JwtKey> keys = jwtKeys(resp.getJwtAuthoritiesList());
        if (keys.stream().noneMatch(k -> k.keyId().equals(key.keyId()))) {
            throw new UpstreamAuthorityException(
                    upstream
                            + " answered PublishJWTAuthority without the key it was given (kid "
                            + key.keyId()
                            + ")");
        }
        log.info(
                "JWT key published to {}: kid={} (upstream now holds {} JWT keys)",
                upstream,
                key.keyId(),
                keys.size());
        // After a restart with a CA still valid nothing is minted: the first publish starts it.
        startPolling();
        return Optional.of(keys);
    }

    @Override
    public void onUpstreamBundle(Consumer<UpstreamBundle> listener) {
        listeners.add(listener);
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (poller != null) {
            poller.shutdownNow();
        }
        if (channel != null) {
            channel.shutdownNow();
            channel = null;
        }
        if (source != null) {
            source.close();
            source = null;
        }
    }

    // ------------------------------------------------------------------ connection

    /**
     * The channel to the upstream server, opened on first use: waits for this server's SVID from
     * the Workload API first. The TLS context reads the latest SVID and bundle at each handshake,
     * so the channel outlives SVID rotations.
     */
    private synchronized ManagedChannel channel() throws UpstreamAuthorityException {
        if (closed) {
            throw new UpstreamAuthorityException("the spire upstream authority is closed");
        }
        if (channel != null) {
            return channel;
        }
        String socket = "unix://" + config.workloadApiSocket();
        X509Source s;
        try {
            s = X509Source.start(socket, svidWait);
        } catch (WorkloadApiException e) {
            throw new UpstreamAuthorityException(
                    "no X509-SVID from the Workload API at "
                            + config.workloadApiSocket()
                            + " (workload_api_socket) within "
                            + svidWait.toSeconds()
                            + "s: "
                            + e.getMessage()
                            + " (is the upstream server's agent running there, with an entry for"
                            + " this server created with -downstream?)",
                    e);
        }
        SpiffeId me = s.current().defaultSvid().spiffeId();
        if (!me.memberOf(trustDomain)) {
            s.close();
            throw new UpstreamAuthorityException(
                    "the Workload API at "
                            + config.workloadApiSocket()
                            + " gave SVID "
                            + me
                            + ", not of trust domain "
                            + trustDomain
                            + ": a nested server and its upstream share one trust domain");
        }
        SslContext ssl;
        try {
            ssl =
                    GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                            .keyManager(new SvidKeyManager(s))
                            .trustManager(
                                    new SpiffeTrustManager(
                                            t -> {
                                                List<X509Certificate> roots =
                                                        s.current().bundles().get(trustDomain);
                                                return roots == null
                                                        ? null
                                                        : X509Bundle.of(trustDomain, roots);
                                            },
                                            SpiffeIdAuthorizer.exactly(upstreamServerId)))
                            .build();
        } catch (SSLException e) {
            s.close();
            throw new UpstreamAuthorityException(
                    "cannot build the TLS context for " + upstream + ": " + e.getMessage(), e);
        }
        source = s;
        channel =
                NettyChannelBuilder.forAddress(config.serverAddress(), config.serverPort())
                        .sslContext(ssl)
                        .overrideAuthority(trustDomain.name())
                        .build();
        log.info(
                "UpstreamAuthority \"spire\": calling {} as {} (SVID from {})",
                upstream,
                me,
                config.workloadApiSocket());
        return channel;
    }

    private String refused(String rpc, StatusRuntimeException e) {
        String status = e.getStatus().getCode() + ": " + e.getStatus().getDescription();
        return switch (e.getStatus().getCode()) {
            case UNAVAILABLE ->
                    upstream
                            + " unreachable ("
                            + rpc
                            + "): "
                            + status
                            + (e.getCause() != null ? " (" + e.getCause().getMessage() + ")" : "");
            case PERMISSION_DENIED ->
                    upstream
                            + " refused "
                            + rpc
                            + ": "
                            + status
                            + " (the entry for this server's SPIFFE ID needs -downstream)";
            default -> upstream + " failed " + rpc + ": " + status;
        };
    }

    /** Checks a minted CA before it is used: a wrong answer must not become a half CA. */
    private void checkMinted(List<X509Certificate> chain, List<X509Certificate> roots, KeyPair key)
            throws UpstreamAuthorityException {
        String bad = null;
        if (chain.isEmpty()) {
            bad = "an empty ca_cert_chain";
        } else if (roots.isEmpty()) {
            bad = "no x509_authorities (roots)";
        } else if (!Arrays.equals(
                chain.get(0).getPublicKey().getEncoded(), key.getPublic().getEncoded())) {
            bad = "a CA certificate for another key than this server's";
        } else if (!Certificates.isCa(chain.get(0))) {
            bad = "a certificate that is not a CA (basicConstraints CA=false)";
        } else if (!Certificates.uriSans(chain.get(0)).equals(List.of(trustDomain.idString()))) {
            bad =
                    "a CA whose URI SAN is "
                            + Certificates.uriSans(chain.get(0))
                            + ", not ["
                            + trustDomain.idString()
                            + "]";
        } else {
            try {
                Set<TrustAnchor> anchors = new HashSet<>();
                roots.forEach(r -> anchors.add(new TrustAnchor(r, null)));
                PKIXParameters params = new PKIXParameters(anchors);
                params.setRevocationEnabled(false);
                params.setDate(Date.from(clock.instant()));
                CertPathValidator.getInstance("PKIX")
                        .validate(
                                CertificateFactory.getInstance("X.509").generateCertPath(chain),
                                params);
            } catch (GeneralSecurityException e) {
                bad = "a CA chain that does not validate to its roots: " + e.getMessage();
            }
        }
        if (bad != null) {
            throw new UpstreamAuthorityException(
                    upstream + " answered NewDownstreamX509CA with " + bad + "; not used");
        }
    }

    private List<X509Certificate> certificates(List<ByteString> ders, String field)
            throws UpstreamAuthorityException {
        List<X509Certificate> out = new ArrayList<>();
        for (ByteString der : ders) {
            try {
                out.addAll(Certificates.parseDer(der.toByteArray()));
            } catch (RuntimeException e) {
                throw new UpstreamAuthorityException(
                        upstream + ": unparsable certificate in " + field + ": " + e.getMessage(),
                        e);
            }
        }
        return out;
    }

    private static List<JwtKey> jwtKeys(List<JWTKey> keys) {
        List<JwtKey> out = new ArrayList<>();
        for (JWTKey k : keys) {
            if (!k.getKeyId().isEmpty()) {
                out.add(new JwtKey(k.getKeyId(), k.getPublicKey().toByteArray(), k.getExpiresAt()));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ bundle polling

    private synchronized void startPolling() {
        if (poller != null || closed) {
            return;
        }
        poller =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "mithril-upstream-spire-poll");
                            t.setDaemon(true);
                            return t;
                        });
        poller.scheduleWithFixedDelay(
                this::pollOnce, 0, pollInterval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** One GetBundle; listeners hear of a bundle that differs from the last one seen. */
    void pollOnce() {
        UpstreamBundle seen;
        try {
            Bundle b =
                    BundleGrpc.newBlockingStub(channel())
                            .withDeadlineAfter(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                            .getBundle(GetBundleRequest.getDefaultInstance());
            if (!b.getTrustDomain().isEmpty() && !b.getTrustDomain().equals(trustDomain.name())) {
                throw new UpstreamAuthorityException(
                        upstream + " served the bundle of trust domain " + b.getTrustDomain());
            }
            List<ByteString> ders = new ArrayList<>();
            b.getX509AuthoritiesList().forEach(c -> ders.add(c.getAsn1()));
            seen =
                    new UpstreamBundle(
                            certificates(ders, "x509_authorities"),
                            jwtKeys(b.getJwtAuthoritiesList()));
        } catch (RuntimeException e) {
            if (closed) {
                return;
            }
            String why =
                    e instanceof StatusRuntimeException s
                            ? refused("GetBundle", s)
                            : e.getMessage();
            if (!pollFailing) {
                log.warn("Failed to fetch the upstream bundle (keeping the last one): {}", why);
            } else {
                log.debug("Failed to fetch the upstream bundle: {}", why);
            }
            pollFailing = true;
            return;
        }
        if (pollFailing) {
            log.info("Upstream bundle fetched again from {}", upstream);
            pollFailing = false;
        }
        if (seen.x509Roots().isEmpty()) {
            log.warn("{} served a bundle without X.509 authorities; ignored", upstream);
            return;
        }
        if (seen.equals(lastSeen)) {
            return;
        }
        lastSeen = seen;
        log.info(
                "Upstream bundle changed: x509_authorities={} jwt_authorities={}",
                seen.x509Roots().size(),
                seen.jwtKeys().size());
        for (Consumer<UpstreamBundle> l : listeners) {
            try {
                l.accept(seen);
            } catch (RuntimeException e) {
                log.warn("Applying the upstream bundle failed: {}", e.toString());
                lastSeen = null; // try again at the next poll
            }
        }
    }

    /** Presents the latest SVID of the X509Source at each handshake. */
    private static final class SvidKeyManager extends X509ExtendedKeyManager {
        private static final String ALIAS = "svid";
        private final X509Source source;

        SvidKeyManager(X509Source source) {
            this.source = source;
        }

        private X509Context.Svid svid() {
            return source.current().defaultSvid();
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[] {ALIAS};
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return ALIAS;
        }

        @Override
        public String chooseEngineClientAlias(
                String[] keyType, Principal[] issuers, SSLEngine engine) {
            return ALIAS;
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return svid().chain().toArray(new X509Certificate[0]);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return svid().privateKey();
        }
    }
}
