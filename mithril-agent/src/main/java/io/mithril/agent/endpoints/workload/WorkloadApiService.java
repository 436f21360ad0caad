package io.mithril.agent.endpoints.workload;

import com.google.protobuf.ByteString;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.mithril.agent.attestor.workload.Caller;
import io.mithril.agent.cache.Identity;
import io.mithril.agent.cache.SvidCache;
import io.mithril.agent.cache.WorkloadUpdate;
import io.mithril.api.selector.Selector;
import io.mithril.api.workload.JWTBundlesRequest;
import io.mithril.api.workload.JWTBundlesResponse;
import io.mithril.api.workload.JWTSVID;
import io.mithril.api.workload.JWTSVIDRequest;
import io.mithril.api.workload.JWTSVIDResponse;
import io.mithril.api.workload.SpiffeWorkloadAPIGrpc;
import io.mithril.api.workload.ValidateJWTSVIDRequest;
import io.mithril.api.workload.ValidateJWTSVIDResponse;
import io.mithril.api.workload.X509BundlesRequest;
import io.mithril.api.workload.X509BundlesResponse;
import io.mithril.api.workload.X509SVID;
import io.mithril.api.workload.X509SVIDRequest;
import io.mithril.api.workload.X509SVIDResponse;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.JwtBundle;
import io.mithril.spiffe.bundle.JwtBundleSet;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.JwtSvid;
import io.mithril.spiffe.svid.JwtSvidException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SPIFFE Workload API ({@code SpiffeWorkloadAPI}) over the agent's cache. The caller's
 * selectors come from {@link CallerInterceptor}. Streams send the caller's full state at once and
 * again on every change; a caller with no matching entry gets {@code PERMISSION_DENIED}; an agent
 * that has not synced with the server yet answers {@code UNAVAILABLE}.
 */
final class WorkloadApiService extends SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase {

    private static final Logger log = LoggerFactory.getLogger(WorkloadApiService.class);

    private final SvidCache cache;
    private final JwtSvidIssuer jwtIssuer;
    private final Clock clock;

    WorkloadApiService(SvidCache cache, JwtSvidIssuer jwtIssuer, Clock clock) {
        this.cache = cache;
        this.jwtIssuer = jwtIssuer;
        this.clock = clock;
    }

    @Override
    public void fetchX509SVID(X509SVIDRequest request, StreamObserver<X509SVIDResponse> observer) {
        stream(
                "FetchX509SVID",
                observer,
                update -> {
                    X509SVIDResponse.Builder r = X509SVIDResponse.newBuilder();
                    for (Identity i : update.identities()) {
                        r.addSvids(
                                X509SVID.newBuilder()
                                        .setSpiffeId(i.svid().spiffeId().toString())
                                        .setX509Svid(ByteString.copyFrom(i.svid().chainDer()))
                                        .setX509SvidKey(
                                                ByteString.copyFrom(
                                                        i.svid().privateKey().getEncoded()))
                                        .setBundle(
                                                ByteString.copyFrom(
                                                        update.bundle().x509Bundle().toDer()))
                                        .setHint(i.entry().hint()));
                    }
                    update.federatedBundles()
                            .forEach(
                                    (td, b) ->
                                            r.putFederatedBundles(
                                                    td.id().toString(),
                                                    ByteString.copyFrom(b.x509Bundle().toDer())));
                    return r.build();
                });
    }

    @Override
    public void fetchX509Bundles(
            X509BundlesRequest request, StreamObserver<X509BundlesResponse> observer) {
        stream(
                "FetchX509Bundles",
                observer,
                update -> {
                    X509BundlesResponse.Builder r = X509BundlesResponse.newBuilder();
                    r.putBundles(
                            update.bundle().trustDomain().id().toString(),
                            ByteString.copyFrom(update.bundle().x509Bundle().toDer()));
                    update.federatedBundles()
                            .forEach(
                                    (td, b) ->
                                            r.putBundles(
                                                    td.id().toString(),
                                                    ByteString.copyFrom(b.x509Bundle().toDer())));
                    return r.build();
                });
    }

    @Override
    public void fetchJWTBundles(
            JWTBundlesRequest request, StreamObserver<JWTBundlesResponse> observer) {
        stream(
                "FetchJWTBundles",
                observer,
                update -> {
                    JWTBundlesResponse.Builder r = JWTBundlesResponse.newBuilder();
                    r.putBundles(
                            update.bundle().trustDomain().id().toString(),
                            ByteString.copyFrom(
                                    update.bundle().jwtBundle().toJwks(), StandardCharsets.UTF_8));
                    update.federatedBundles()
                            .forEach(
                                    (td, b) ->
                                            r.putBundles(
                                                    td.id().toString(),
                                                    ByteString.copyFrom(
                                                            b.jwtBundle().toJwks(),
                                                            StandardCharsets.UTF_8)));
                    return r.build();
                });
    }

    /**
     * Serves a stream: subscribes to the cache for the caller's selectors, sends every update
     * (skipping an initial state whose SVIDs are still being minted), and ends the stream with
     * PERMISSION_DENIED when no entry matches the caller any more.
     */
    private <T> void stream(
            String method, StreamObserver<T> observer, Function<WorkloadUpdate, T> render) {
        if (!cache.isSynced()) {
            observer.onError(
                    Status.UNAVAILABLE
                            .withDescription(
                                    "agent is not ready: it has not synced with the server yet")
                            .asRuntimeException());
            return;
        }
        Set<Selector> selectors = CallerInterceptor.SELECTORS.get();
        ServerCallStreamObserver<T> call = (ServerCallStreamObserver<T>) observer;
        Object lock = new Object();
        boolean[] done = {false};
        java.util.concurrent.atomic.AtomicReference<SvidCache.Subscription> sub =
                new java.util.concurrent.atomic.AtomicReference<>();
        // Handlers first: gRPC freezes them when this method returns, and the first update may
        // already be on its way from the notifier thread.
        Runnable unsubscribe =
                () -> {
                    synchronized (lock) {
                        done[0] = true;
                    }
                    SvidCache.Subscription s = sub.get();
                    if (s != null) {
                        s.close();
                    }
                };
        Caller caller = CallerInterceptor.CALLER.get();
        call.setOnCancelHandler(
                () -> {
                    // A workload that exits or is killed mid-stream is routine: one line, no stack
                    // trace.
                    log.debug(
                            "Workload API stream ended by the client: method={} pid={} uid={}",
                            method,
                            caller == null ? -1 : caller.pid(),
                            caller == null ? -1 : caller.uid());
                    unsubscribe.run();
                });
        call.setOnCloseHandler(unsubscribe);
        sub.set(
                cache.subscribe(
                        selectors,
                        update -> {
                            synchronized (lock) {
                                if (done[0] || call.isCancelled()) {
                                    throw new IllegalStateException(
                                            "stream ended"); // closes the subscription
                                }
                                if (update.denied()) {
                                    done[0] = true;
                                    call.onError(
                                            Status.PERMISSION_DENIED
                                                    .withDescription("no identity issued")
                                                    .asRuntimeException());
                                    throw new IllegalStateException(
                                            "stream ended"); // closes the subscription
                                }
                                if (update.identities().isEmpty() || update.bundle() == null) {
                                    return; // entries match but their SVIDs are not minted yet (or
                                    // expired): wait
                                }
                                call.onNext(render.apply(update));
                            }
                        }));
        if (done[0]) {
            sub.get().close();
        }
    }

    @Override
    public void fetchJWTSVID(JWTSVIDRequest request, StreamObserver<JWTSVIDResponse> observer) {
        if (request.getAudienceCount() == 0
                || request.getAudienceList().stream().anyMatch(String::isBlank)) {
            observer.onError(
                    Status.INVALID_ARGUMENT
                            .withDescription("audience must be specified")
                            .asRuntimeException());
            return;
        }
        if (!cache.isSynced()) {
            observer.onError(
                    Status.UNAVAILABLE
                            .withDescription(
                                    "agent is not ready: it has not synced with the server yet")
                            .asRuntimeException());
            return;
        }
        WorkloadUpdate update = cache.fetch(CallerInterceptor.SELECTORS.get());
        if (update.denied()) {
            observer.onError(
                    Status.PERMISSION_DENIED
                            .withDescription("no identity issued")
                            .asRuntimeException());
            return;
        }
        List<String> audience = List.copyOf(request.getAudienceList());
        JWTSVIDResponse.Builder r = JWTSVIDResponse.newBuilder();
        List<io.mithril.agent.cache.RegistrationEntry> entries = new ArrayList<>();
        for (var e : cache.entries().values()) {
            if (e.matches(CallerInterceptor.SELECTORS.get())
                    && (request.getSpiffeId().isEmpty()
                            || e.spiffeId().toString().equals(request.getSpiffeId()))) {
                entries.add(e);
            }
        }
        entries.sort(
                java.util.Comparator.comparing(
                                (io.mithril.agent.cache.RegistrationEntry e) ->
                                        e.spiffeId().toString())
                        .thenComparing(io.mithril.agent.cache.RegistrationEntry::id));
        if (entries.isEmpty()) {
            observer.onError(
                    Status.PERMISSION_DENIED
                            .withDescription("no identity issued for " + request.getSpiffeId())
                            .asRuntimeException());
            return;
        }
        try {
            for (var e : entries) {
                String token = cache.cachedJwt(e.id(), audience);
                if (token == null) {
                    token = jwtIssuer.issue(e, audience);
                }
                r.addSvids(
                        JWTSVID.newBuilder()
                                .setSpiffeId(e.spiffeId().toString())
                                .setSvid(token)
                                .setHint(e.hint()));
            }
        } catch (StatusException ex) {
            observer.onError(ex);
            return;
        }
        observer.onNext(r.build());
        observer.onCompleted();
    }

    @Override
    public void validateJWTSVID(
            ValidateJWTSVIDRequest request, StreamObserver<ValidateJWTSVIDResponse> observer) {
        if (request.getAudience().isEmpty()) {
            observer.onError(
                    Status.INVALID_ARGUMENT
                            .withDescription("audience must be specified")
                            .asRuntimeException());
            return;
        }
        if (request.getSvid().isEmpty()) {
            observer.onError(
                    Status.INVALID_ARGUMENT
                            .withDescription("svid must be specified")
                            .asRuntimeException());
            return;
        }
        if (!cache.isSynced()) {
            observer.onError(
                    Status.UNAVAILABLE
                            .withDescription(
                                    "agent is not ready: it has not synced with the server yet")
                            .asRuntimeException());
            return;
        }
        WorkloadUpdate update = cache.fetch(CallerInterceptor.SELECTORS.get());
        if (update.denied()) {
            observer.onError(
                    Status.PERMISSION_DENIED
                            .withDescription("no identity issued")
                            .asRuntimeException());
            return;
        }
        // Federated bundles first, the own one last: a federated entry can never stand in for it.
        Map<TrustDomain, JwtBundle> bundles = new LinkedHashMap<>();
        cache.federatedBundles().forEach((td, b) -> bundles.put(td, b.jwtBundle()));
        bundles.put(cache.trustDomain(), cache.bundle().jwtBundle());
        JwtSvid v;
        try {
            v =
                    JwtSvid.parseAndValidate(
                            request.getSvid(),
                            new JwtBundleSet(bundles),
                            request.getAudience(),
                            clock);
        } catch (JwtSvidException | BundleNotFoundException e) {
            observer.onError(
                    Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        observer.onNext(
                ValidateJWTSVIDResponse.newBuilder()
                        .setSpiffeId(v.spiffeId().toString())
                        .setClaims(toStruct(v.claims()))
                        .build());
        observer.onCompleted();
    }

    private static Struct toStruct(Map<?, ?> claims) {
        Struct.Builder s = Struct.newBuilder();
        claims.forEach((k, v) -> s.putFields(String.valueOf(k), toValue(v)));
        return s.build();
    }

    private static Value toValue(Object v) {
        if (v instanceof Map<?, ?> m) {
            return Value.newBuilder().setStructValue(toStruct(m)).build();
        }
        if (v instanceof List<?> list) {
            ListValue.Builder l = ListValue.newBuilder();
            list.forEach(x -> l.addValues(toValue(x)));
            return Value.newBuilder().setListValue(l).build();
        }
        if (v instanceof Number n) {
            return Value.newBuilder().setNumberValue(n.doubleValue()).build();
        }
        if (v instanceof Boolean b) {
            return Value.newBuilder().setBoolValue(b).build();
        }
        if (v == null) {
            return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
        }
        return Value.newBuilder().setStringValue(v.toString()).build();
    }
}
