package io.mithril.server.api.agent;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mithril.api.agent.AgentServiceGrpc;
import io.mithril.api.agent.PermissionDeniedDetails;
import io.mithril.pki.Certificates;
import io.mithril.server.attestor.JoinTokenAttestor;
import io.mithril.server.datastore.AttestedNode;
import io.mithril.server.datastore.DataStore;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates agent API calls: {@code AttestAgent} is open (it is how an agent gets its first
 * SVID); every other method needs a TLS client certificate (already validated against the bundle by
 * the handshake) whose SPIFFE ID is an agent ID of this trust domain belonging to a known,
 * non-banned agent. The agent ID is put in the call's {@link Context} as {@link #AGENT_ID}.
 *
 * <p>The agent is looked up in the authorised-entries index ({@link
 * AuthorizedEntries#attestedNode}), not in the datastore: every sync makes two or three calls, and
 * reading the attested node per call was most of the database's load at scale (docs/server.md,
 * "Scale"). Only an agent the index does not know is read from the datastore (one attested on
 * another server sharing the database less than the index's refresh interval ago). A ban or
 * eviction made on this server applies to the next call; one made on another server within that
 * refresh interval (1 s).
 */
public final class AgentAuthInterceptor implements ServerInterceptor {

    private static final Logger log = LoggerFactory.getLogger(AgentAuthInterceptor.class);

    /** The authenticated caller's agent ID. */
    public static final Context.Key<SpiffeId> AGENT_ID = Context.key("mithril-agent-id");

    private final DataStore dataStore;
    private final AuthorizedEntries index;
    private final TrustDomain trustDomain;

    public AgentAuthInterceptor(
            DataStore dataStore, AuthorizedEntries index, TrustDomain trustDomain) {
        this.dataStore = dataStore;
        this.index = index;
        this.trustDomain = trustDomain;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        if (method.equals(AgentServiceGrpc.getAttestAgentMethod().getFullMethodName())
                || method.startsWith("grpc.health.v1.")) {
            return next.startCall(call, headers);
        }
        Optional<SpiffeId> peer = peerId(call);
        String refusal = null;
        PermissionDeniedDetails.Reason reason =
                null; // null: a generic refusal (the caller is not an agent)
        if (peer.isEmpty()) {
            refusal =
                    "no agent SVID presented (attest first, then call with the agent SVID as TLS client certificate)";
        } else if (!peer.get().memberOf(trustDomain)
                || !peer.get().path().startsWith("/spire/agent/")) {
            refusal = "caller " + peer.get() + " is not an agent of trust domain " + trustDomain;
        } else {
            Optional<AttestedNode> node = index.attestedNode(peer.get());
            if (node.isEmpty()) {
                node = dataStore.fetchAttestedNode(peer.get());
            }
            if (node.isEmpty()) {
                refusal = "agent " + peer.get() + " is not attested (evicted or unknown)";
                reason = PermissionDeniedDetails.Reason.AGENT_NOT_ATTESTED;
            } else if (node.get().banned()) {
                refusal = "agent " + peer.get() + " is banned";
                reason = PermissionDeniedDetails.Reason.AGENT_BANNED;
            }
        }
        if (refusal != null) {
            log.warn(
                    "Agent API call denied: method={} reason={}",
                    method,
                    JoinTokenAttestor.redact(refusal));
            if (reason == null) {
                call.close(Status.PERMISSION_DENIED.withDescription(refusal), new Metadata());
            } else {
                StatusRuntimeException denied = AgentRefusal.permissionDenied(reason, refusal);
                call.close(denied.getStatus(), denied.getTrailers());
            }
            return new ServerCall.Listener<>() {};
        }
        Context ctx = Context.current().withValue(AGENT_ID, peer.get());
        return Contexts.interceptCall(ctx, call, headers, next);
    }

    /** The SPIFFE ID of the call's TLS client certificate, if it presented one. */
    public static Optional<SpiffeId> peerId(ServerCall<?, ?> call) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        if (session == null) {
            return Optional.empty();
        }
        try {
            Certificate[] certs = session.getPeerCertificates();
            if (certs.length == 0 || !(certs[0] instanceof X509Certificate leaf)) {
                return Optional.empty();
            }
            return Certificates.spiffeId(leaf);
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }
}
