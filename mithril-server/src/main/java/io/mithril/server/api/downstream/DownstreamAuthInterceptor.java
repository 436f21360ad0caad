package io.mithril.server.api.downstream;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.mithril.api.spire.bundle.BundleGrpc;
import io.mithril.server.api.agent.AgentAuthInterceptor;
import io.mithril.server.datastore.DataStore;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authorises the calls a nested (downstream) server makes to this one, as SPIRE's authorization
 * policy does ({@code allow_downstream}): {@code NewDownstreamX509CA} and {@code
 * PublishJWTAuthority} need a TLS client certificate (already validated against the bundle by the
 * handshake) whose SPIFFE ID, in this trust domain, is the SPIFFE ID of at least one unexpired
 * registration entry marked {@code downstream} ({@code entry create -downstream}). {@code
 * GetBundle} is open to any caller ({@code allow_any}: the bundle is public).
 *
 * <p>The entries are read from the datastore at each call: downstream calls come a few times a CA
 * lifetime, and a cleared {@code downstream} flag must apply at once.
 */
public final class DownstreamAuthInterceptor implements ServerInterceptor {

    private static final Logger log = LoggerFactory.getLogger(DownstreamAuthInterceptor.class);

    /** The authorised caller's SPIFFE ID. */
    public static final Context.Key<SpiffeId> CALLER_ID = Context.key("mithril-downstream-id");

    private final DataStore dataStore;
    private final TrustDomain trustDomain;
    private final Clock clock;

    public DownstreamAuthInterceptor(DataStore dataStore, TrustDomain trustDomain, Clock clock) {
        this.dataStore = dataStore;
        this.trustDomain = trustDomain;
        this.clock = clock;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        if (method.equals(BundleGrpc.getGetBundleMethod().getFullMethodName())) {
            return next.startCall(call, headers);
        }
        Optional<SpiffeId> peer = AgentAuthInterceptor.peerId(call);
        String refusal = null;
        if (peer.isEmpty()) {
            refusal = "no X509-SVID presented (a downstream server calls with its SVID)";
        } else if (!peer.get().memberOf(trustDomain)) {
            refusal = "caller " + peer.get() + " is not in trust domain " + trustDomain;
        } else {
            long now = clock.instant().getEpochSecond();
            List<RegistrationEntry> downstream =
                    dataStore.listEntriesBySpiffeId(peer.get()).stream()
                            .filter(RegistrationEntry::downstream)
                            .filter(e -> e.expiresAt() == 0 || e.expiresAt() > now)
                            .toList();
            if (downstream.isEmpty()) {
                refusal =
                        "caller "
                                + peer.get()
                                + " is not a downstream workload (no registration entry for it has -downstream)";
            }
        }
        if (refusal != null) {
            log.warn("Downstream API call denied: method={} reason={}", method, refusal);
            call.close(Status.PERMISSION_DENIED.withDescription(refusal), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        Context ctx = Context.current().withValue(CALLER_ID, peer.get());
        return Contexts.interceptCall(ctx, call, headers, next);
    }
}
