package io.mithril.server.datastore;

/**
 * An entry with the same SPIFFE ID, parent ID and selectors already exists (SPIRE's uniqueness
 * rule).
 */
public final class DuplicateEntryException extends DataStoreException {
    private static final long serialVersionUID = 1L;

    private final String existingId;

    public DuplicateEntryException(String message, String existingId) {
        super(message);
        this.existingId = existingId;
    }

    /** The ID of the entry that already exists. */
    public String existingId() {
        return existingId;
    }
}
