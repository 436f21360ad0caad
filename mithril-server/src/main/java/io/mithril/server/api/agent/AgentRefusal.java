package io.mithril.server.api.agent;

import com.google.protobuf.Any;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.mithril.api.agent.PermissionDeniedDetails;

/**
 * A PERMISSION_DENIED refusal of the agent itself, with its typed reason in the status details (as
 * SPIRE does), so the agent decides by the reason and never by the description's wording.
 */
final class AgentRefusal {

    private AgentRefusal() {}

    /** PERMISSION_DENIED with {@code description} for people and {@code reason} for the agent. */
    static StatusRuntimeException permissionDenied(
            PermissionDeniedDetails.Reason reason, String description) {
        com.google.rpc.Status status =
                com.google.rpc.Status.newBuilder()
                        .setCode(Status.Code.PERMISSION_DENIED.value())
                        .setMessage(description)
                        .addDetails(
                                Any.pack(
                                        PermissionDeniedDetails.newBuilder()
                                                .setReason(reason)
                                                .build()))
                        .build();
        return StatusProto.toStatusRuntimeException(status);
    }
}
