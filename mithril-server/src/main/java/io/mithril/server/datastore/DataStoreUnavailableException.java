package io.mithril.server.datastore;

/**
 * The database could not be reached (refused, restarting, or no connection within the pool's
 * connection timeout). Nothing of the failed call was stored; the same call may succeed once the
 * database is back.
 */
public final class DataStoreUnavailableException extends DataStoreException {
    private static final long serialVersionUID = 1L;

    public DataStoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
