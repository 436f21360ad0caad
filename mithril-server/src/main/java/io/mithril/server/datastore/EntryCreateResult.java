package io.mithril.server.datastore;

import io.mithril.server.entry.RegistrationEntry;
import java.util.Optional;

/**
 * What {@link DataStore#createEntries} did with one entry of a batch, as SPIRE's BatchCreateEntry
 * answers per entry: stored it, or refused it because a similar entry exists.
 */
public sealed interface EntryCreateResult {

    /** The stored entry (with its ID, revision and creation time), or empty when it was refused. */
    default Optional<RegistrationEntry> created() {
        return this instanceof Created c ? Optional.of(c.entry()) : Optional.empty();
    }

    /** Stored. */
    record Created(RegistrationEntry entry) implements EntryCreateResult {}

    /**
     * Not stored: an entry with the same SPIFFE ID, parent ID and selectors exists (SPIRE's
     * uniqueness rule), the one with {@code existingId}, stored before or earlier in the batch.
     */
    record AlreadyExists(String existingId, String reason) implements EntryCreateResult {

        static AlreadyExists of(DuplicateEntryException e) {
            return new AlreadyExists(e.existingId(), e.getMessage());
        }
    }
}
