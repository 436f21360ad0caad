package io.mithril.api.workload.client;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.mithril.api.workload.JWTBundlesRequest;
import io.mithril.api.workload.JWTBundlesResponse;
import io.mithril.api.workload.JWTSVID;
import io.mithril.api.workload.JWTSVIDRequest;
import io.mithril.api.workload.SpiffeWorkloadAPIGrpc;
import io.mithril.api.workload.ValidateJWTSVIDRequest;
import io.mithril.api.workload.ValidateJWTSVIDResponse;
import io.mithril.api.workload.X509BundlesRequest;
import io.mithril.api.workload.X509BundlesResponse;
import io.mithril.api.workload.X509SVID;
import io.mithril.api.workload.X509SVIDRequest;
import io.mithril.api.workload.X509SVIDResponse;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.ByteArrayInputStream;
import java.io.Closeable;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A client of the SPIFFE Workload API (the agent's Unix socket, or a {@code tcp://} address).
 *
 * <p>Every call carries the {@code workload.spiffe.io: true} header the specification requires. One
 * client holds one gRPC channel; it is thread-safe and should be closed when done. Failures are
 * thrown as {@link WorkloadApiException} with the agent's gRPC status code.
 *
 * <pre>{@code
 * try (WorkloadApiClient client = WorkloadApiClient.connect("unix:///tmp/mithril/agent/public/api.sock")) {
 *     X509Context ctx = client.fetchX509Context(Duration.ofSeconds(5));
 *     System.out.println(ctx.defaultSvid().spiffeId());
 * }
 * }</pre>
 *
 * <p>For a long-lived process that needs the latest SVID at all times, use {@link X509Source}.
 */
public final class WorkloadApiClient implements AutoCloseable {

    /** The header every Workload API call must carry. */
    public static final Metadata.Key<String> SECURITY_HEADER =
            Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER);

    private final WorkloadApiAddress address;
    private final EventLoopGroup eventLoop;
    private final ManagedChannel channel;
    private final SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIStub async;
    private final SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub blocking;

    private WorkloadApiClient(WorkloadApiAddress address) {
        this.address = address;
        NettyChannelBuilder builder = NettyChannelBuilder.forAddress(address.socketAddress());
        if (address.isUnix()) {
            eventLoop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
            builder.eventLoopGroup(eventLoop)
                    .channelType(EpollDomainSocketChannel.class)
                    .overrideAuthority("localhost");
        } else {
            eventLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
            builder.eventLoopGroup(eventLoop).channelType(NioSocketChannel.class);
        }
        Metadata header = new Metadata();
        header.put(SECURITY_HEADER, "true");
        channel =
                builder.usePlaintext()
                        .intercept(MetadataUtils.newAttachHeadersInterceptor(header))
                        .build();
        async = SpiffeWorkloadAPIGrpc.newStub(channel);
        blocking = SpiffeWorkloadAPIGrpc.newBlockingStub(channel);
    }

    /**
     * A client of the Workload API at {@code address} ({@code unix:///path}, {@code tcp://ip:port}
     * or an absolute socket path). Connects lazily: a missing agent shows up as {@code UNAVAILABLE}
     * on the first call.
     *
     * @throws IllegalArgumentException if the address is malformed
     */
    public static WorkloadApiClient connect(String address) {
        return new WorkloadApiClient(WorkloadApiAddress.parse(address));
    }

    /** A client of the given address. */
    public static WorkloadApiClient connect(WorkloadApiAddress address) {
        return new WorkloadApiClient(address);
    }

    /** A client of {@code SPIFFE_ENDPOINT_SOCKET}, or of the agent's default socket. */
    public static WorkloadApiClient fromEnvironment() {
        return new WorkloadApiClient(WorkloadApiAddress.fromEnvironment());
    }

    /** The address this client talks to. */
    public WorkloadApiAddress address() {
        return address;
    }

    /**
     * The caller's current X.509 context: the first message of the {@code FetchX509SVID} stream.
     *
     * @throws WorkloadApiException on any failure, including the timeout ({@code
     *     DEADLINE_EXCEEDED})
     */
    public X509Context fetchX509Context(Duration timeout) {
        try {
            return toContext(
                    first(
                            "FetchX509SVID",
                            () ->
                                    blocking.withDeadlineAfter(
                                                    timeout.toNanos(), TimeUnit.NANOSECONDS)
                                            .fetchX509SVID(X509SVIDRequest.getDefaultInstance())));
        } catch (RuntimeException e) {
            throw WorkloadApiException.from("FetchX509SVID", e);
        }
    }

    /**
     * Opens the {@code FetchX509SVID} stream: {@code watcher} gets the full X.509 context at once,
     * then again on every change (rotation, bundle update), until the stream fails ({@link
     * Watcher#onError}) or the returned handle is closed. Messages arrive on one gRPC thread, in
     * order.
     */
    public Closeable watchX509Context(Watcher<X509Context> watcher) {
        Context.CancellableContext ctx = Context.current().withCancellation();
        ctx.run(
                () ->
                        async.fetchX509SVID(
                                X509SVIDRequest.getDefaultInstance(),
                                new StreamObserver<>() {
                                    @Override
                                    public void onNext(X509SVIDResponse value) {
                                        X509Context parsed;
                                        try {
                                            parsed = toContext(value);
                                        } catch (RuntimeException e) {
                                            ctx.cancel(e);
                                            watcher.onError(
                                                    WorkloadApiException.from("FetchX509SVID", e));
                                            return;
                                        }
                                        watcher.onUpdate(parsed);
                                    }

                                    @Override
                                    public void onError(Throwable t) {
                                        if (!ctx.isCancelled() || ctx.cancellationCause() != null) {
                                            watcher.onError(
                                                    WorkloadApiException.from("FetchX509SVID", t));
                                        }
                                    }

                                    @Override
                                    public void onCompleted() {
                                        watcher.onError(
                                                new WorkloadApiException(
                                                        Status.Code.UNAVAILABLE,
                                                        "FetchX509SVID: the agent closed the stream",
                                                        null));
                                    }
                                }));
        return () -> ctx.cancel(null);
    }

    /**
     * The X.509 bundles the caller should trust (the first message of {@code FetchX509Bundles}),
     * keyed by trust domain.
     */
    public Map<TrustDomain, List<X509Certificate>> fetchX509Bundles(Duration timeout) {
        try {
            X509BundlesResponse r =
                    first(
                            "FetchX509Bundles",
                            () ->
                                    blocking.withDeadlineAfter(
                                                    timeout.toNanos(), TimeUnit.NANOSECONDS)
                                            .fetchX509Bundles(
                                                    X509BundlesRequest.getDefaultInstance()));
            Map<TrustDomain, List<X509Certificate>> bundles = new LinkedHashMap<>();
            r.getBundlesMap()
                    .forEach(
                            (td, der) ->
                                    bundles.put(
                                            TrustDomain.parse(td),
                                            parseCertificates(
                                                    der.toByteArray(), "bundle of " + td)));
            return bundles;
        } catch (RuntimeException e) {
            throw WorkloadApiException.from("FetchX509Bundles", e);
        }
    }

    /**
     * JWT-SVIDs for the audience: one per identity of the caller, or only the one for {@code
     * spiffeId} when it is not null.
     */
    public List<JwtSvidToken> fetchJwtSvids(
            Duration timeout, String spiffeId, String audience, String... moreAudiences) {
        JWTSVIDRequest.Builder req = JWTSVIDRequest.newBuilder().addAudience(audience);
        for (String a : moreAudiences) {
            req.addAudience(a);
        }
        if (spiffeId != null && !spiffeId.isEmpty()) {
            req.setSpiffeId(spiffeId);
        }
        try {
            List<JwtSvidToken> out = new ArrayList<>();
            for (JWTSVID svid :
                    blocking.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
                            .fetchJWTSVID(req.build())
                            .getSvidsList()) {
                out.add(
                        new JwtSvidToken(
                                SpiffeId.parse(svid.getSpiffeId()),
                                svid.getSvid(),
                                svid.getHint()));
            }
            return out;
        } catch (RuntimeException e) {
            throw WorkloadApiException.from("FetchJWTSVID", e);
        }
    }

    /** The JWT bundles (JWKS JSON documents) keyed by trust domain. */
    public Map<TrustDomain, byte[]> fetchJwtBundles(Duration timeout) {
        try {
            JWTBundlesResponse r =
                    first(
                            "FetchJWTBundles",
                            () ->
                                    blocking.withDeadlineAfter(
                                                    timeout.toNanos(), TimeUnit.NANOSECONDS)
                                            .fetchJWTBundles(
                                                    JWTBundlesRequest.getDefaultInstance()));
            Map<TrustDomain, byte[]> out = new LinkedHashMap<>();
            r.getBundlesMap()
                    .forEach((td, jwks) -> out.put(TrustDomain.parse(td), jwks.toByteArray()));
            return out;
        } catch (RuntimeException e) {
            throw WorkloadApiException.from("FetchJWTBundles", e);
        }
    }

    /**
     * Asks the agent to validate a JWT-SVID for {@code audience}.
     *
     * @throws WorkloadApiException {@code INVALID_ARGUMENT} when the token is malformed, expired,
     *     badly signed or not for that audience
     */
    public ValidatedJwtSvid validateJwtSvid(String token, String audience, Duration timeout) {
        try {
            ValidateJWTSVIDResponse r =
                    blocking.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
                            .validateJWTSVID(
                                    ValidateJWTSVIDRequest.newBuilder()
                                            .setSvid(token)
                                            .setAudience(audience)
                                            .build());
            return new ValidatedJwtSvid(SpiffeId.parse(r.getSpiffeId()), toMap(r.getClaims()));
        } catch (RuntimeException e) {
            throw WorkloadApiException.from("ValidateJWTSVID", e);
        }
    }

    /**
     * Whether the agent's {@code grpc.health.v1.Health} service reports {@code SERVING}.
     *
     * @throws WorkloadApiException when the agent cannot be reached
     */
    public boolean isHealthy(Duration timeout) {
        try {
            HealthCheckResponse r =
                    HealthGrpc.newBlockingStub(channel)
                            .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
                            .check(HealthCheckRequest.getDefaultInstance());
            return r.getStatus() == HealthCheckResponse.ServingStatus.SERVING;
        } catch (RuntimeException e) {
            throw WorkloadApiException.from("Health.Check", e);
        }
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        eventLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** Receives the messages of a Workload API stream. */
    public interface Watcher<T> {
        /** A new full state. */
        void onUpdate(T update);

        /** The stream failed; no further calls follow. */
        void onError(WorkloadApiException error);
    }

    /**
     * A JWT-SVID as the agent returned it.
     *
     * @param spiffeId the token's subject
     * @param token the compact JWS
     * @param hint the operator's hint, possibly empty
     */
    public record JwtSvidToken(SpiffeId spiffeId, String token, String hint) {}

    /**
     * The agent's verdict on a valid JWT-SVID.
     *
     * @param spiffeId the token's subject
     * @param claims every claim, as JSON values (String, Double, Boolean, List, Map, null)
     */
    public record ValidatedJwtSvid(SpiffeId spiffeId, Map<String, Object> claims) {}

    /** Converts one {@code X509SVIDResponse}. */
    public static X509Context toContext(X509SVIDResponse response) {
        List<X509Context.Svid> svids = new ArrayList<>();
        for (X509SVID s : response.getSvidsList()) {
            SpiffeId id = SpiffeId.parse(s.getSpiffeId());
            svids.add(
                    new X509Context.Svid(
                            id,
                            parseCertificates(s.getX509Svid().toByteArray(), "SVID " + id),
                            parsePrivateKey(s.getX509SvidKey().toByteArray(), "SVID " + id),
                            parseCertificates(
                                    s.getBundle().toByteArray(), "bundle of " + id.trustDomain()),
                            s.getHint()));
        }
        if (svids.isEmpty()) {
            throw new WorkloadApiException(
                    Status.Code.PERMISSION_DENIED,
                    "FetchX509SVID: the response holds no SVID",
                    null);
        }
        Map<TrustDomain, List<X509Certificate>> federated = new LinkedHashMap<>();
        response.getFederatedBundlesMap()
                .forEach(
                        (td, der) ->
                                federated.put(
                                        TrustDomain.parse(td),
                                        parseCertificates(
                                                der.toByteArray(), "federated bundle of " + td)));
        return new X509Context(svids, federated);
    }

    /** Parses concatenated DER certificates. */
    public static List<X509Certificate> parseCertificates(byte[] der, String what) {
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (var c :
                    CertificateFactory.getInstance("X.509")
                            .generateCertificates(new ByteArrayInputStream(der))) {
                out.add((X509Certificate) c);
            }
            return out;
        } catch (CertificateException e) {
            throw new WorkloadApiException(
                    Status.Code.INTERNAL,
                    what + ": malformed DER certificates: " + e.getMessage(),
                    e);
        }
    }

    /** Parses an unencrypted PKCS#8 DER private key (EC, RSA or Ed25519). */
    public static PrivateKey parsePrivateKey(byte[] pkcs8, String what) {
        GeneralSecurityException last = null;
        for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new WorkloadApiException(
                Status.Code.INTERNAL,
                what + ": the private key is not PKCS#8 EC, RSA or Ed25519",
                last);
    }

    /**
     * The first message of a server stream, then the stream is cancelled: Workload API streams
     * never end by themselves, so the call runs in a context that is cancelled on return.
     */
    private static <T> T first(String method, java.util.function.Supplier<Iterator<T>> call) {
        Context.CancellableContext ctx = Context.current().withCancellation();
        Context previous = ctx.attach();
        try {
            Iterator<T> it = call.get();
            if (!it.hasNext()) {
                throw new WorkloadApiException(
                        Status.Code.UNAVAILABLE,
                        method + ": stream ended without a response",
                        null);
            }
            return it.next();
        } finally {
            ctx.detach(previous);
            ctx.cancel(null);
        }
    }

    static Map<String, Object> toMap(Struct s) {
        Map<String, Object> out = new LinkedHashMap<>();
        s.getFieldsMap().forEach((k, v) -> out.put(k, toJava(v)));
        return out;
    }

    private static Object toJava(Value v) {
        return switch (v.getKindCase()) {
            case NULL_VALUE, KIND_NOT_SET -> null;
            case NUMBER_VALUE -> v.getNumberValue();
            case STRING_VALUE -> v.getStringValue();
            case BOOL_VALUE -> v.getBoolValue();
            case STRUCT_VALUE -> toMap(v.getStructValue());
            case LIST_VALUE -> {
                ListValue l = v.getListValue();
                List<Object> out = new ArrayList<>();
                l.getValuesList().forEach(x -> out.add(toJava(x)));
                yield out;
            }
        };
    }
}
