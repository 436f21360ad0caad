package io.mithril.server.ca;

/**
 * An operator's request on the server's authorities (prepare, activate, taint, revoke) that the
 * state of the authorities does not allow; nothing was changed. {@link #reason()} says how the
 * admin API reports it.
 */
public final class AuthorityException extends RuntimeException {

    /** How the refusal maps onto a gRPC status. */
    public enum Reason {
        /** A missing, unknown or wrong authority ID (INVALID_ARGUMENT). */
        INVALID_ARGUMENT,
        /** Not possible with this server's configuration (FAILED_PRECONDITION). */
        FAILED_PRECONDITION,
        /** The authority is not in the bundle (NOT_FOUND), e.g. already revoked. */
        NOT_FOUND,
        /** The server has no active authority yet (UNAVAILABLE). */
        UNAVAILABLE
    }

    private final Reason reason;

    public AuthorityException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    static AuthorityException invalid(String message) {
        return new AuthorityException(Reason.INVALID_ARGUMENT, message);
    }
}
