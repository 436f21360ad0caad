package io.mithril.server.entry;

/**
 * A registration entry (or one of its fields) that the server refuses to store; the message says
 * which field and why.
 */
public final class InvalidEntryException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public InvalidEntryException(String message) {
        super(message);
    }
}
