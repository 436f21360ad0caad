package io.mithril.server.datastore;

/**
 * The datastore failed (unreachable, corrupt, or a query failed); the message names the database.
 */
public class DataStoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DataStoreException(String message, Throwable cause) {
        super(message, cause);
    }

    public DataStoreException(String message) {
        super(message);
    }
}
