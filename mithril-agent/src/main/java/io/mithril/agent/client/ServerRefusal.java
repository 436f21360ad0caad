package io.mithril.agent.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import io.mithril.api.agent.PermissionDeniedDetails;
import java.util.Optional;

/**
 * Why the server refused this agent, read from the typed {@link PermissionDeniedDetails} in the
 * gRPC status details (as SPIRE's agent reads them). The status description is never consulted: it
 * is for people and its wording may change.
 */
public final class ServerRefusal {

    private ServerRefusal() {}

    /**
     * The typed reason of a PERMISSION_DENIED anywhere in {@code t}'s cause chain; empty for any
     * other error, and for a refusal without details (an older server, or a caller that is not an
     * agent): the caller treats that as a generic refusal.
     */
    public static Optional<PermissionDeniedDetails.Reason> reason(Throwable t) {
        com.google.rpc.Status s = t == null ? null : StatusProto.fromThrowable(t);
        if (s == null || s.getCode() != Status.Code.PERMISSION_DENIED.value()) {
            return Optional.empty();
        }
        for (Any detail : s.getDetailsList()) {
            if (detail.is(PermissionDeniedDetails.class)) {
                try {
                    PermissionDeniedDetails d = detail.unpack(PermissionDeniedDetails.class);
                    // an enum value newer than this agent reads as UNRECOGNIZED: generic
                    return d.getReason() == PermissionDeniedDetails.Reason.UNRECOGNIZED
                            ? Optional.empty()
                            : Optional.of(d.getReason());
                } catch (InvalidProtocolBufferException e) {
                    return Optional.empty();
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Whether the reason says this agent should attest again (as SPIRE's agent does for an expired,
     * unknown or evicted, or superseded identity, or when told to re-attest).
     */
    public static boolean shouldReattest(Optional<PermissionDeniedDetails.Reason> reason) {
        return reason.isPresent()
                && switch (reason.get()) {
                    case AGENT_EXPIRED, AGENT_NOT_ATTESTED, AGENT_NOT_ACTIVE, AGENT_CAN_REATTEST ->
                            true;
                    default -> false;
                };
    }

    /** Whether the reason says this agent is banned: it must stop, not attest again. */
    public static boolean banned(Optional<PermissionDeniedDetails.Reason> reason) {
        return reason.isPresent() && reason.get() == PermissionDeniedDetails.Reason.AGENT_BANNED;
    }
}
