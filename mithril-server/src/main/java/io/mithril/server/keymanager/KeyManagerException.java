package io.mithril.server.keymanager;

/** The key manager cannot read or write its keys; the message names the file and the problem. */
public final class KeyManagerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public KeyManagerException(String message, Throwable cause) {
        super(message, cause);
    }

    public KeyManagerException(String message) {
        super(message);
    }
}
