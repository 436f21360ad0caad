package io.mithril.agent.client;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.mithril.agent.attestor.node.NodeAttestationException;
import io.mithril.agent.attestor.node.NodeAttestor;
import io.mithril.agent.cache.RegistrationEntry;
import io.mithril.agent.cache.Taints;
import io.mithril.api.agent.AgentServiceGrpc;
import io.mithril.api.agent.AttestAgentRequest;
import io.mithril.api.agent.AttestAgentResponse;
import io.mithril.api.agent.AttestationData;
import io.mithril.api.agent.BatchNewX509SVIDRequest;
import io.mithril.api.agent.BatchNewX509SVIDResponse;
import io.mithril.api.agent.FetchBundlesRequest;
import io.mithril.api.agent.FetchBundlesResponse;
import io.mithril.api.agent.GetAuthorizedEntriesRequest;
import io.mithril.api.agent.NewJWTSVIDRequest;
import io.mithril.api.agent.NewJWTSVIDResponse;
import io.mithril.api.agent.NewX509SVIDParams;
import io.mithril.api.agent.RenewAgentRequest;
import io.mithril.api.selector.Selector;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.Entry;
import io.mithril.api.types.JwtKey;
import io.mithril.api.types.X509Svid;
import io.mithril.pki.Certificates;
import io.mithril.spiffe.bundle.SpiffeBundle;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509SvidException;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertPathValidatorException;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;

/**
 * The agent's client of the server's agent API (TCP, mTLS). The server is verified by {@link
 * SpiffeTrustManager} (its SPIFFE ID must be {@code spiffe://<td>/spire/server} and its chain must
 * validate against the trust bundle; host names play no part); every call but attestation presents
 * the agent SVID as client certificate. One instance holds one channel for one agent SVID: after
 * renewal, make a new one.
 */
public final class AgentApiClient implements AutoCloseable {

    private static final long DEADLINE_SECONDS = 10;

    private final ManagedChannel channel;
    private final AgentServiceGrpc.AgentServiceBlockingStub stub;

    private AgentApiClient(ManagedChannel channel) {
        this.channel = channel;
        this.stub = AgentServiceGrpc.newBlockingStub(channel);
    }

    /**
     * A client that authenticates with the agent SVID.
     *
     * @param roots the trust domain's roots to verify the server with (read at each handshake)
     */
    public static AgentApiClient connect(
            InetSocketAddress server,
            TrustDomain td,
            Supplier<List<X509Certificate>> roots,
            PrivateKey agentKey,
            List<X509Certificate> agentChain) {
        return connect(server, td, roots, agentKey, agentChain, SslProvider.JDK);
    }

    /**
     * As {@link #connect(InetSocketAddress, TrustDomain, Supplier, PrivateKey, List)}, with the TLS
     * implementation named: the node agent uses the JDK's; {@code mithril bench scale}, which runs
     * thousands of simulated agents on the cores the server under test also uses, BoringSSL
     * (netty-tcnative) when it loads, since the JDK's EC handshake costs several times the CPU.
     */
    public static AgentApiClient connect(
            InetSocketAddress server,
            TrustDomain td,
            Supplier<List<X509Certificate>> roots,
            PrivateKey agentKey,
            List<X509Certificate> agentChain,
            SslProvider tls) {
        return new AgentApiClient(channel(server, td, roots, agentKey, agentChain, tls));
    }

    /** The largest answer the agent accepts from the server. */
    static final int MAX_MESSAGE_BYTES = 256 << 20;

    private static ManagedChannel channel(
            InetSocketAddress server,
            TrustDomain td,
            Supplier<List<X509Certificate>> roots,
            PrivateKey key,
            List<X509Certificate> chain,
            SslProvider tls) {
        SpiffeId serverId = SpiffeId.of(td, "/spire/server");
        try {
            SslContextBuilder b =
                    GrpcSslContexts.configure(SslContextBuilder.forClient(), tls)
                            .trustManager(
                                    roots == null
                                            // Insecure bootstrap: only for the very first
                                            // attestation, loudly logged by the caller.
                                            ? InsecureTrustManagerFactory.INSTANCE
                                                    .getTrustManagers()[0]
                                            : new SpiffeTrustManager(
                                                    t -> {
                                                        List<X509Certificate> current = roots.get();
                                                        return current == null
                                                                ? null
                                                                : X509Bundle.of(td, current);
                                                    },
                                                    SpiffeIdAuthorizer.exactly(serverId)));
            if (key != null) {
                // The key and chain as they are: SslContextBuilder.keyManager(key, chain) would
                // put them in a PKCS#12 key store under a random password (PBKDF2, tens of
                // milliseconds of CPU at every renewal; most of a node attestation's cost).
                b.keyManager(new AgentKeyManager(key, chain));
            }
            SslContext ssl = b.build();
            return NettyChannelBuilder.forAddress(server)
                    .sslContext(ssl)
                    .overrideAuthority(td.name())
                    // an agent with 100k authorised entries receives ~13 MB in one answer (gRPC's
                    // default cap is 4 MiB)
                    .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                    .build();
        } catch (SSLException e) {
            throw new IllegalStateException(
                    "cannot build the agent API TLS context: " + e.getMessage(), e);
        }
    }

    /** What the server returned from a successful attestation. */
    public record AttestResult(List<X509Certificate> svidChain, SpiffeBundle bundle) {}

    /**
     * Attests this node: opens {@code AttestAgent}, sends the attestor's payload with a CSR for the
     * agent key, answers challenges, and returns the agent SVID and the bundle.
     *
     * @param roots the roots to verify the server with, or null for insecure bootstrap
     * @throws NodeAttestationException when the server refuses (the message quotes its reason) or
     *     cannot be reached
     */
    public static AttestResult attest(
            InetSocketAddress server,
            TrustDomain td,
            List<X509Certificate> roots,
            NodeAttestor attestor,
            byte[] csr)
            throws NodeAttestationException {
        return attest(server, td, roots, attestor, csr, SslProvider.JDK);
    }

    /**
     * As {@link #attest(InetSocketAddress, TrustDomain, List, NodeAttestor, byte[])}, with the TLS
     * implementation named (see {@link #connect(InetSocketAddress, TrustDomain, Supplier,
     * PrivateKey, List, SslProvider)}).
     */
    public static AttestResult attest(
            InetSocketAddress server,
            TrustDomain td,
            List<X509Certificate> roots,
            NodeAttestor attestor,
            byte[] csr,
            SslProvider tls)
            throws NodeAttestationException {
        ManagedChannel ch =
                channel(server, td, roots == null ? null : () -> roots, null, null, tls);
        try {
            CompletableFuture<AttestAgentResponse.Result> result = new CompletableFuture<>();
            java.util.concurrent.atomic.AtomicReference<StreamObserver<AttestAgentRequest>>
                    requests = new java.util.concurrent.atomic.AtomicReference<>();
            requests.set(
                    AgentServiceGrpc.newStub(ch)
                            .withDeadlineAfter(30, TimeUnit.SECONDS)
                            .attestAgent(
                                    new StreamObserver<>() {
                                        @Override
                                        public void onNext(AttestAgentResponse r) {
                                            if (r.hasResult()) {
                                                result.complete(r.getResult());
                                                return;
                                            }
                                            try {
                                                byte[] answer =
                                                        attestor.respond(
                                                                r.getChallenge().toByteArray());
                                                requests.get()
                                                        .onNext(
                                                                AttestAgentRequest.newBuilder()
                                                                        .setChallengeResponse(
                                                                                ByteString.copyFrom(
                                                                                        answer))
                                                                        .build());
                                            } catch (NodeAttestationException e) {
                                                result.completeExceptionally(e);
                                                requests.get()
                                                        .onError(
                                                                Status.CANCELLED
                                                                        .withDescription(
                                                                                e.getMessage())
                                                                        .asRuntimeException());
                                            }
                                        }

                                        @Override
                                        public void onError(Throwable t) {
                                            result.completeExceptionally(t);
                                        }

                                        @Override
                                        public void onCompleted() {
                                            result.completeExceptionally(
                                                    new NodeAttestationException(
                                                            "the server ended attestation without a result"));
                                        }
                                    }));
            requests.get()
                    .onNext(
                            AttestAgentRequest.newBuilder()
                                    .setParams(
                                            AttestAgentRequest.Params.newBuilder()
                                                    .setData(
                                                            AttestationData.newBuilder()
                                                                    .setType(attestor.type())
                                                                    .setPayload(
                                                                            ByteString.copyFrom(
                                                                                    attestor
                                                                                            .payload())))
                                                    .setCsr(ByteString.copyFrom(csr)))
                                    .build());
            AttestAgentResponse.Result r;
            try {
                r = result.get(35, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof NodeAttestationException n) {
                    throw n;
                }
                Status s = Status.fromThrowable(c);
                throw new NodeAttestationException(
                        "node attestation ("
                                + attestor.type()
                                + ") with "
                                + server.getHostString()
                                + ":"
                                + server.getPort()
                                + " failed: "
                                + s.getCode()
                                + ": "
                                + (s.getDescription() == null ? c.toString() : s.getDescription())
                                + tlsCause(c),
                        c);
            } catch (TimeoutException e) {
                throw new NodeAttestationException(
                        "node attestation with " + server + " timed out", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new NodeAttestationException("interrupted during node attestation", e);
            }
            try {
                requests.get().onCompleted();
            } catch (RuntimeException ignored) {
                // the server may already have closed the stream
            }
            return new AttestResult(chain(r.getSvid()), toBundle(r.getBundle()));
        } finally {
            ch.shutdownNow();
        }
    }

    /**
     * The reason a TLS handshake failed, if that is why, so the operator sees it (e.g. a wrong
     * trust bundle).
     */
    static String tlsCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof java.security.cert.CertificateException) {
                boolean notChained =
                        c.getCause() instanceof X509SvidException x
                                && x.getCause() instanceof CertPathValidatorException;
                return " (the server's certificate was refused: "
                        + (notChained ? "it does not chain to the trust bundle: " : "")
                        + c.getMessage()
                        + ")";
            }
            if (c instanceof javax.net.ssl.SSLException && c.getCause() == null) {
                return " (TLS: " + c.getMessage() + ")";
            }
        }
        return "";
    }

    /**
     * The same error, checked, keeping its trailers: they carry the typed refusal reason ({@link
     * ServerRefusal}).
     */
    private static StatusException checked(StatusRuntimeException e) {
        return new StatusException(e.getStatus(), e.getTrailers());
    }

    /** Renews the agent SVID from a CSR for a new key. */
    public List<X509Certificate> renewAgent(byte[] csr) throws StatusException {
        try {
            return chain(
                    stub().renewAgent(
                                    RenewAgentRequest.newBuilder()
                                            .setCsr(ByteString.copyFrom(csr))
                                            .build())
                            .getSvid());
        } catch (StatusRuntimeException e) {
            throw checked(e);
        }
    }

    /** The registration entries this agent may serve. */
    public List<RegistrationEntry> authorizedEntries() throws StatusException {
        try {
            List<RegistrationEntry> out = new ArrayList<>();
            for (Entry e :
                    stub().getAuthorizedEntries(GetAuthorizedEntriesRequest.getDefaultInstance())
                            .getEntriesList()) {
                out.add(toEntry(e));
            }
            return out;
        } catch (StatusRuntimeException e) {
            throw checked(e);
        }
    }

    /** The server's bundle and the federated ones. */
    public Bundles fetchBundles() throws StatusException {
        try {
            FetchBundlesResponse r = stub().fetchBundles(FetchBundlesRequest.getDefaultInstance());
            Map<TrustDomain, SpiffeBundle> fed = new LinkedHashMap<>();
            for (Bundle b : r.getFederatedBundlesList()) {
                SpiffeBundle tb = toBundle(b);
                fed.put(tb.trustDomain(), tb);
            }
            return new Bundles(toBundle(r.getBundle()), fed, taints(r.getBundle()));
        } catch (StatusRuntimeException e) {
            throw checked(e);
        }
    }

    /**
     * The own trust domain's bundle, the federated ones, and which of the own bundle's authorities
     * are tainted.
     */
    public record Bundles(
            SpiffeBundle bundle, Map<TrustDomain, SpiffeBundle> federated, Taints taints) {

        /** Bundles with nothing tainted. */
        public Bundles(SpiffeBundle bundle, Map<TrustDomain, SpiffeBundle> federated) {
            this(bundle, federated, Taints.NONE);
        }
    }

    /** The tainted marks of the server's bundle (SPIRE's {@code tainted} authorities). */
    static Taints taints(Bundle b) {
        List<X509Certificate> tainted = new ArrayList<>();
        for (ByteString der : b.getTaintedX509AuthoritiesList()) {
            tainted.addAll(Certificates.parseDer(der.toByteArray()));
        }
        return new Taints(
                tainted,
                b.getJwtAuthoritiesList().stream()
                        .filter(JwtKey::getTainted)
                        .map(JwtKey::getKeyId)
                        .collect(java.util.stream.Collectors.toSet()));
    }

    /** One result of {@link #batchNewX509Svid}: a chain, or the server's refusal. */
    public record SvidResult(String entryId, List<X509Certificate> chain, Status error) {}

    /** Has the server sign X509-SVIDs, one CSR per entry id. */
    public List<SvidResult> batchNewX509Svid(Map<String, byte[]> csrByEntryId)
            throws StatusException {
        BatchNewX509SVIDRequest.Builder req = BatchNewX509SVIDRequest.newBuilder();
        List<String> ids = new ArrayList<>(csrByEntryId.keySet());
        for (String id : ids) {
            req.addParams(
                    NewX509SVIDParams.newBuilder()
                            .setEntryId(id)
                            .setCsr(ByteString.copyFrom(csrByEntryId.get(id))));
        }
        try {
            BatchNewX509SVIDResponse r = stub().batchNewX509SVID(req.build());
            List<SvidResult> out = new ArrayList<>();
            for (int i = 0; i < r.getResultsCount() && i < ids.size(); i++) {
                BatchNewX509SVIDResponse.Result res = r.getResults(i);
                if (res.hasStatus() && res.getStatus().getCode() != 0) {
                    out.add(
                            new SvidResult(
                                    ids.get(i),
                                    null,
                                    Status.fromCodeValue(res.getStatus().getCode())
                                            .withDescription(res.getStatus().getMessage())));
                } else {
                    out.add(new SvidResult(ids.get(i), chain(res.getSvid()), null));
                }
            }
            return out;
        } catch (StatusRuntimeException e) {
            throw checked(e);
        }
    }

    /** A JWT-SVID signed by the server. */
    public record JwtSvid(String token, Instant issuedAt, Instant expiresAt) {}

    /** Has the server sign a JWT-SVID for an entry. */
    public JwtSvid newJwtSvid(String entryId, List<String> audience) throws StatusException {
        try {
            NewJWTSVIDResponse r =
                    stub().newJWTSVID(
                                    NewJWTSVIDRequest.newBuilder()
                                            .setEntryId(entryId)
                                            .addAllAudience(audience)
                                            .build());
            return new JwtSvid(
                    r.getToken(),
                    Instant.ofEpochSecond(r.getIssuedAt()),
                    Instant.ofEpochSecond(r.getExpiresAt()));
        } catch (StatusRuntimeException e) {
            throw checked(e);
        }
    }

    private AgentServiceGrpc.AgentServiceBlockingStub stub() {
        return stub.withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }

    // ---- conversions ----

    static List<X509Certificate> chain(X509Svid svid) {
        List<X509Certificate> out = new ArrayList<>();
        for (ByteString der : svid.getCertChainList()) {
            out.addAll(Certificates.parseDer(der.toByteArray()));
        }
        if (out.isEmpty()) {
            throw Status.INTERNAL
                    .withDescription("the server returned an SVID without certificates")
                    .asRuntimeException();
        }
        return out;
    }

    /**
     * The server's bundle as the SPIFFE library's {@link SpiffeBundle}. A JWT authority without a
     * key ID is left out (a SPIFFE bundle cannot carry it); a negative sequence number or refresh
     * hint, which the server never sends, is read as absent.
     */
    static SpiffeBundle toBundle(Bundle b) {
        List<X509Certificate> roots = new ArrayList<>();
        for (ByteString der : b.getX509AuthoritiesList()) {
            roots.addAll(Certificates.parseDer(der.toByteArray()));
        }
        Map<String, PublicKey> jwt = new LinkedHashMap<>();
        for (JwtKey k : b.getJwtAuthoritiesList()) {
            PublicKey key = publicKey(k.getPublicKey().toByteArray());
            if (!k.getKeyId().isEmpty()) {
                jwt.put(k.getKeyId(), key);
            }
        }
        return new SpiffeBundle(
                TrustDomain.parse(b.getTrustDomain()),
                new LinkedHashSet<>(roots),
                jwt,
                b.getSequenceNumber() < 0
                        ? OptionalLong.empty()
                        : OptionalLong.of(b.getSequenceNumber()),
                b.getRefreshHint() < 0
                        ? Optional.empty()
                        : Optional.of(Duration.ofSeconds(b.getRefreshHint())));
    }

    static PublicKey publicKey(byte[] pkix) {
        for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePublic(new X509EncodedKeySpec(pkix));
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw Status.INTERNAL
                .withDescription("the server sent a JWT key that is not PKIX EC, RSA or Ed25519")
                .asRuntimeException();
    }

    static RegistrationEntry toEntry(Entry e) {
        Set<Selector> selectors = new LinkedHashSet<>();
        for (io.mithril.api.types.Selector s : e.getSelectorsList()) {
            selectors.add(new Selector(s.getType(), s.getValue()));
        }
        Set<TrustDomain> fed = new LinkedHashSet<>();
        for (String td : e.getFederatesWithList()) {
            fed.add(TrustDomain.parse(td));
        }
        return new RegistrationEntry(
                e.getId(),
                SpiffeId.parse(e.getSpiffeId()),
                e.getParentId().isEmpty() ? null : SpiffeId.parse(e.getParentId()),
                selectors,
                e.getX509SvidTtl(),
                e.getJwtSvidTtl(),
                e.getDnsNamesList(),
                fed,
                e.getHint(),
                e.getRevisionNumber());
    }
}
