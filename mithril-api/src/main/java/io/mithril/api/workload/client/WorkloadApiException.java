package io.mithril.api.workload.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * A Workload API call failed. {@link #code()} is the gRPC status the agent answered with ({@code
 * PERMISSION_DENIED}: no identity for this caller; {@code UNAVAILABLE}: agent not reachable or not
 * ready; {@code INVALID_ARGUMENT}: bad request; {@code DEADLINE_EXCEEDED}: timeout).
 */
public final class WorkloadApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Status.Code code;

    public WorkloadApiException(Status.Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /** Wraps a gRPC failure, keeping its status code and description. */
    static WorkloadApiException from(String what, Throwable t) {
        if (t instanceof WorkloadApiException w) {
            return w;
        }
        Status status = Status.fromThrowable(t);
        String description =
                status.getDescription() == null ? status.getCode().name() : status.getDescription();
        if (!(t instanceof StatusRuntimeException) && status.getCode() == Status.Code.UNKNOWN) {
            description = t.toString();
        }
        return new WorkloadApiException(
                status.getCode(), what + ": " + status.getCode() + ": " + description, t);
    }

    /** The gRPC status code of the failure. */
    public Status.Code code() {
        return code;
    }
}
