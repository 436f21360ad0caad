package io.mithril.server.testing;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.mithril.api.agent.AgentServiceGrpc;
import io.mithril.api.agent.AttestAgentRequest;
import io.mithril.api.agent.AttestAgentResponse;
import io.mithril.api.agent.AttestationData;
import io.mithril.api.agent.BatchNewX509SVIDRequest;
import io.mithril.api.agent.BatchNewX509SVIDResponse;
import io.mithril.api.agent.NewX509SVIDParams;
import io.mithril.api.types.X509Svid;
import io.mithril.pki.Certificates;
import io.mithril.pki.Csr;
import io.mithril.pki.KeyType;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A minimal agent-side client of the agent API for the server's tests: attests (join_token or
 * x509pop), then calls with its agent SVID over mTLS, checking the server's SPIFFE ID and chain
 * against the bundle it was given.
 */
public final class TestAgent implements AutoCloseable {

    private final InetSocketAddress address;
    private final Supplier<List<X509Certificate>> roots;
    private final SpiffeId serverId;
    private final java.time.Clock clock;
    private final List<ManagedChannel> channels = new ArrayList<>();
    private KeyPair agentKey;
    private List<X509Certificate> agentSvid;
    private ManagedChannel authenticated;

    public TestAgent(
            InetSocketAddress address,
            Supplier<List<X509Certificate>> roots,
            SpiffeId serverId,
            java.time.Clock clock) {
        this.clock = clock;
        this.address = address;
        this.roots = roots;
        this.serverId = serverId;
    }

    private ManagedChannel channel(KeyPair key, List<X509Certificate> chain) throws Exception {
        SslContextBuilder b =
                GrpcSslContexts.forClient()
                        .trustManager(
                                new SpiffeTrustManager(
                                        td -> X509Bundle.of(serverId.trustDomain(), roots.get()),
                                        SpiffeIdAuthorizer.exactly(serverId),
                                        clock));
        if (key != null) {
            b.keyManager(key.getPrivate(), chain.toArray(new X509Certificate[0]));
        }
        ManagedChannel ch =
                NettyChannelBuilder.forAddress(address)
                        .sslContext(b.build())
                        .overrideAuthority("mithril-server")
                        .build();
        channels.add(ch);
        return ch;
    }

    /** An unauthenticated stub (no client certificate). */
    public AgentServiceGrpc.AgentServiceBlockingStub anonymous() throws Exception {
        return AgentServiceGrpc.newBlockingStub(channel(null, null))
                .withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    /** A stub presenting this agent's SVID. */
    public AgentServiceGrpc.AgentServiceBlockingStub stub() throws Exception {
        if (authenticated == null) {
            authenticated = channel(agentKey, agentSvid);
        }
        return AgentServiceGrpc.newBlockingStub(authenticated)
                .withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    /** A stub presenting an arbitrary client certificate. */
    public AgentServiceGrpc.AgentServiceBlockingStub stubWith(
            KeyPair key, List<X509Certificate> chain) throws Exception {
        return AgentServiceGrpc.newBlockingStub(channel(key, chain))
                .withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    public AttestAgentResponse.Result attestJoinToken(String token) throws Exception {
        return attest("join_token", token.getBytes(), null);
    }

    /** x509pop: presents the chain and signs the server's nonce with {@code key}. */
    public AttestAgentResponse.Result attestX509Pop(List<X509Certificate> chain, PrivateKey key)
            throws Exception {
        return attest(
                "x509pop",
                Certificates.concatDer(chain),
                nonce -> {
                    try {
                        Signature s =
                                Signature.getInstance(
                                        key.getAlgorithm().equals("EC")
                                                ? "SHA256withECDSA"
                                                : "SHA256withRSA");
                        s.initSign(key);
                        s.update(nonce);
                        return s.sign();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
    }

    public AttestAgentResponse.Result attest(
            String type, byte[] payload, Function<byte[], byte[]> answer) throws Exception {
        agentKey = KeyType.EC_P256.generate();
        byte[] csr = Csr.create(agentKey, null, List.of());
        CompletableFuture<AttestAgentResponse.Result> result = new CompletableFuture<>();
        AgentServiceGrpc.AgentServiceStub async = AgentServiceGrpc.newStub(channel(null, null));
        StreamObserver<AttestAgentRequest>[] req = new StreamObserver[1];
        req[0] =
                async.attestAgent(
                        new StreamObserver<>() {
                            @Override
                            public void onNext(AttestAgentResponse r) {
                                if (r.hasResult()) {
                                    result.complete(r.getResult());
                                } else if (answer != null) {
                                    req[0].onNext(
                                            AttestAgentRequest.newBuilder()
                                                    .setChallengeResponse(
                                                            ByteString.copyFrom(
                                                                    answer.apply(
                                                                            r.getChallenge()
                                                                                    .toByteArray())))
                                                    .build());
                                } else {
                                    result.completeExceptionally(
                                            new IllegalStateException("unexpected challenge"));
                                }
                            }

                            @Override
                            public void onError(Throwable t) {
                                result.completeExceptionally(t);
                            }

                            @Override
                            public void onCompleted() {
                                result.completeExceptionally(
                                        new IllegalStateException(
                                                "stream completed without result"));
                            }
                        });
        req[0].onNext(
                AttestAgentRequest.newBuilder()
                        .setParams(
                                AttestAgentRequest.Params.newBuilder()
                                        .setData(
                                                AttestationData.newBuilder()
                                                        .setType(type)
                                                        .setPayload(ByteString.copyFrom(payload)))
                                        .setCsr(ByteString.copyFrom(csr)))
                        .build());
        try {
            AttestAgentResponse.Result r = result.get(20, TimeUnit.SECONDS);
            req[0].onCompleted();
            agentSvid = chain(r.getSvid());
            authenticated = null;
            return r;
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    public SpiffeId agentId() {
        return Certificates.spiffeId(agentSvid.get(0)).orElseThrow();
    }

    public List<X509Certificate> agentSvid() {
        return agentSvid;
    }

    public KeyPair agentKey() {
        return agentKey;
    }

    /** Signs one CSR for {@code id} against {@code entryId}; returns the result (status + SVID). */
    public BatchNewX509SVIDResponse.Result sign(String entryId, SpiffeId id, KeyPair key)
            throws Exception {
        byte[] csr = Csr.create(key, id, List.of());
        return stub().batchNewX509SVID(
                        BatchNewX509SVIDRequest.newBuilder()
                                .addParams(
                                        NewX509SVIDParams.newBuilder()
                                                .setEntryId(entryId)
                                                .setCsr(ByteString.copyFrom(csr)))
                                .build())
                .getResults(0);
    }

    public static List<X509Certificate> chain(X509Svid svid) {
        List<X509Certificate> out = new ArrayList<>();
        svid.getCertChainList().forEach(b -> out.addAll(Certificates.parseDer(b.toByteArray())));
        return out;
    }

    @Override
    public void close() {
        for (ManagedChannel c : channels) {
            c.shutdownNow();
            try {
                c.awaitTermination(3, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
