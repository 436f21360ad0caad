package io.mithril.agent.attestor.node;

/** Node attestation failed or could not be attempted; the message says what to fix. */
public final class NodeAttestationException extends Exception {
    private static final long serialVersionUID = 1L;

    public NodeAttestationException(String message) {
        super(message);
    }

    public NodeAttestationException(String message, Throwable cause) {
        super(message, cause);
    }
}
