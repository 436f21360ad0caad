package io.mithril.server;

/**
 * The server could not start; the message names what to fix (the file, socket, port or setting),
 * e.g. {@code datastore /var/lib/mithril/datastore.sqlite3: file is not a database}.
 */
public final class ServerStartException extends Exception {
    private static final long serialVersionUID = 1L;

    public ServerStartException(String message) {
        super(message);
    }

    public ServerStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
