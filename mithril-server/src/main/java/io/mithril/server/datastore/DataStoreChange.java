package io.mithril.server.datastore;

import io.mithril.server.entry.RegistrationEntry;
import io.mithril.spiffe.id.SpiffeId;
import java.util.List;

/**
 * What one committed write of a {@link DataStore} changed among the registration entries and the
 * attested agents (the state the authorised-entries cache mirrors).
 */
public sealed interface DataStoreChange {

    /** An entry was created or updated; {@code entry} is as stored. */
    record EntryStored(RegistrationEntry entry) implements DataStoreChange {}

    /** The entry with this ID was deleted. */
    record EntryDeleted(String entryId) implements DataStoreChange {}

    /**
     * The agent was attested again or its record replaced (ban included); {@code node} is as
     * stored.
     */
    record AgentStored(AttestedNode node) implements DataStoreChange {}

    /** The agent record was deleted. */
    record AgentDeleted(SpiffeId agentId) implements DataStoreChange {}

    /**
     * Told after each such write commits, in commit order for the writes of one datastore instance.
     * Writes by other processes sharing the database are not told: compare {@link
     * DataStore#changeRevision()} with {@code revision} to notice them.
     */
    @FunctionalInterface
    interface Listener {
        /**
         * @param revision the {@link DataStore#changeRevision()} the write's transaction committed
         * @param changes what it changed (several entries for a batch create)
         */
        void changed(long revision, List<DataStoreChange> changes);
    }

    /** Every entry and agent as of one consistent read, with the change revision of that read. */
    record Snapshot(long revision, List<RegistrationEntry> entries, List<AttestedNode> agents) {
        public Snapshot {
            entries = List.copyOf(entries);
            agents = List.copyOf(agents);
        }
    }
}
