package io.mithril.server.api;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.mithril.api.agent.AgentServiceGrpc;
import io.mithril.api.agent.BatchNewX509SVIDRequest;
import io.mithril.server.config.ApiPolicy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SPIRE's {@code ratelimit} on the agent API, per client IP: node attestation ({@code AttestAgent})
 * at {@link ApiPolicy#ATTESTATIONS_PER_IP} a second, signing ({@code RenewAgent}, each CSR of
 * {@code BatchNewX509SVID}, {@code NewJWTSVID}) at {@link ApiPolicy#SIGNATURES_PER_IP} a second. As
 * in SPIRE, a call over the rate waits its turn; one that would wait longer than {@link #MAX_WAIT},
 * or asks for more signatures than the burst, fails with RESOURCE_EXHAUSTED. The wait happens on
 * the call's executor before the service sees the request.
 */
public final class RateLimitInterceptor implements ServerInterceptor {

    private static final Logger log = LoggerFactory.getLogger(RateLimitInterceptor.class);

    /** The longest a call waits for its turn before it is refused. */
    public static final Duration MAX_WAIT = Duration.ofSeconds(30);

    private record Limit(PerIpRateLimiter limiter, ToIntFunction<Object> cost, String what) {}

    private final Map<String, Limit> limits;

    public RateLimitInterceptor(ApiPolicy policy) {
        this(policy, System::nanoTime);
    }

    RateLimitInterceptor(ApiPolicy policy, LongSupplier nanoTime) {
        long max = MAX_WAIT.toNanos();
        Map<String, Limit> m = new java.util.HashMap<>();
        if (policy.rateLimitAttestation()) {
            m.put(
                    AgentServiceGrpc.getAttestAgentMethod().getFullMethodName(),
                    new Limit(
                            new PerIpRateLimiter(ApiPolicy.ATTESTATIONS_PER_IP, max, nanoTime),
                            request -> 1,
                            "node attestation"));
        }
        if (policy.rateLimitSigning()) {
            PerIpRateLimiter signing =
                    new PerIpRateLimiter(ApiPolicy.SIGNATURES_PER_IP, max, nanoTime);
            m.put(
                    AgentServiceGrpc.getRenewAgentMethod().getFullMethodName(),
                    new Limit(signing, request -> 1, "signing"));
            m.put(
                    AgentServiceGrpc.getNewJWTSVIDMethod().getFullMethodName(),
                    new Limit(signing, request -> 1, "signing"));
            m.put(
                    AgentServiceGrpc.getBatchNewX509SVIDMethod().getFullMethodName(),
                    new Limit(
                            signing,
                            request ->
                                    request instanceof BatchNewX509SVIDRequest r
                                            ? Math.max(1, r.getParamsCount())
                                            : 1,
                            "signing"));
        }
        this.limits = Map.copyOf(m);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        Limit limit = limits.get(call.getMethodDescriptor().getFullMethodName());
        SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        if (limit == null || !(remote instanceof InetSocketAddress inet)) {
            return next.startCall(call, headers);
        }
        InetAddress ip = inet.getAddress();
        ServerCall.Listener<Q> delegate = next.startCall(call, headers);
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
            private boolean charged;
            private boolean refused;

            @Override
            public void onMessage(Q message) {
                if (refused) {
                    return;
                }
                if (!charged) {
                    charged = true;
                    int n = limit.cost().applyAsInt(message);
                    long wait = limit.limiter().reserve(ip, n);
                    if (wait < 0) {
                        refused = true;
                        String why =
                                wait == PerIpRateLimiter.OVER_BURST
                                        ? n
                                                + " operations exceed the burst of the "
                                                + limit.what()
                                                + " rate limit"
                                        : "too many requests from "
                                                + ip.getHostAddress()
                                                + ": the "
                                                + limit.what()
                                                + " rate limit would hold this call over "
                                                + MAX_WAIT.toSeconds()
                                                + " s";
                        log.warn(
                                "Refused {} from {}: {}",
                                call.getMethodDescriptor().getBareMethodName(),
                                ip.getHostAddress(),
                                why);
                        call.close(Status.RESOURCE_EXHAUSTED.withDescription(why), new Metadata());
                        return;
                    }
                    if (wait > 0) {
                        try {
                            TimeUnit.NANOSECONDS.sleep(wait);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            refused = true;
                            call.close(
                                    Status.CANCELLED.withDescription("interrupted"),
                                    new Metadata());
                            return;
                        }
                    }
                }
                super.onMessage(message);
            }

            @Override
            public void onHalfClose() {
                if (!refused) {
                    super.onHalfClose();
                }
            }
        };
    }
}
