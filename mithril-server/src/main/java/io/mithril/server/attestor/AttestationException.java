package io.mithril.server.attestor;

/** Node attestation refused; the message is the reason given to the agent and logged. */
public final class AttestationException extends Exception {
    private static final long serialVersionUID = 1L;

    public AttestationException(String message) {
        super(message);
    }

    public AttestationException(String message, Throwable cause) {
        super(message, cause);
    }
}
