package io.mithril.agent.endpoints.workload;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.mithril.agent.attestor.workload.Caller;
import io.mithril.agent.attestor.workload.WorkloadAttestationException;
import io.mithril.agent.attestor.workload.WorkloadAttestor;
import io.mithril.api.selector.Selector;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guards every Workload API call: requires the {@code workload.spiffe.io: true} header ({@code
 * INVALID_ARGUMENT} otherwise; not for SDS, whose Envoy clients send none), then attests the caller
 * from the kernel credentials of its connection and hands the selectors to the service through the
 * gRPC {@link Context}.
 */
final class CallerInterceptor implements ServerInterceptor {

    private static final Logger log = LoggerFactory.getLogger(CallerInterceptor.class);

    static final Metadata.Key<String> SECURITY_HEADER =
            Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER);
    static final Context.Key<Set<Selector>> SELECTORS = Context.key("mithril.workload.selectors");
    static final Context.Key<Caller> CALLER = Context.key("mithril.workload.caller");

    private final List<WorkloadAttestor> attestors;
    private final boolean requireHeader;

    CallerInterceptor(List<WorkloadAttestor> attestors) {
        this(attestors, true);
    }

    CallerInterceptor(List<WorkloadAttestor> attestors, boolean requireHeader) {
        this.attestors = List.copyOf(attestors);
        this.requireHeader = requireHeader;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (requireHeader && !"true".equals(headers.get(SECURITY_HEADER))) {
            call.close(
                    Status.INVALID_ARGUMENT.withDescription("security header missing from request"),
                    new Metadata());
            return new ServerCall.Listener<>() {};
        }
        Caller caller = call.getAttributes().get(PeerCredentialsNegotiator.CALLER);
        if (caller == null) {
            call.close(
                    Status.INTERNAL.withDescription(
                            "cannot tell who is calling: no peer credentials on this connection"),
                    new Metadata());
            return new ServerCall.Listener<>() {};
        }
        Set<Selector> selectors = new LinkedHashSet<>();
        try {
            for (WorkloadAttestor a : attestors) {
                selectors.addAll(a.attest(caller));
            }
        } catch (WorkloadAttestationException e) {
            log.warn("Workload attestation failed: {}", e.getMessage());
            call.close(
                    Status.INTERNAL.withDescription(
                            "workload attestation failed: " + e.getMessage()),
                    new Metadata());
            return new ServerCall.Listener<>() {};
        }
        log.debug(
                "{} from pid {} uid {}: selectors {}",
                call.getMethodDescriptor().getBareMethodName(),
                caller.pid(),
                caller.uid(),
                selectors);
        Context ctx =
                Context.current().withValues(SELECTORS, Set.copyOf(selectors), CALLER, caller);
        return Contexts.interceptCall(ctx, call, headers, next);
    }
}
