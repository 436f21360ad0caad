package io.mithril.agent;

/**
 * The agent cannot start: its configuration names something unusable, it cannot attest, or its
 * socket is taken. The message says what and where, and what to do about it.
 */
public final class AgentStartException extends Exception {
    private static final long serialVersionUID = 1L;

    public AgentStartException(String message) {
        super(message);
    }

    public AgentStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
