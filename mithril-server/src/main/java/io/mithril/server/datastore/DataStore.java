package io.mithril.server.datastore;

import io.mithril.api.selector.Selector;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.FederationRelationship;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.spiffe.id.SpiffeId;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * The server's persistent state: registration entries, attested agents, join tokens, bundles and
 * the CA journal. Every write is one transaction: a crash (even kill -9) leaves either the whole
 * change or none of it. Implementations are thread-safe.
 *
 * @see SqlDataStore
 */
public interface DataStore extends AutoCloseable {

    // --- registration entries ---

    /**
     * Stores a new entry, assigning an ID (unless given), revision 0 and the creation time.
     *
     * @throws DuplicateEntryException when an entry with the same SPIFFE ID, parent and selectors
     *     exists
     */
    RegistrationEntry createEntry(RegistrationEntry entry);

    /**
     * Stores several new entries in one transaction (one commit, so much faster than one by one).
     * The results are in the order of {@code entries}: each {@link EntryCreateResult.Created} with
     * the stored entry, or {@link EntryCreateResult.AlreadyExists} when a similar entry exists
     * (nothing is stored for it).
     */
    List<EntryCreateResult> createEntries(List<RegistrationEntry> entries);

    Optional<RegistrationEntry> fetchEntry(String id);

    /**
     * Every distinct parent ID of the stored entries (lets a walk skip IDs that parent nothing).
     */
    java.util.Set<String> parentIds();

    /** Entries with this SPIFFE ID (several parents may register the same ID). */
    List<RegistrationEntry> listEntriesBySpiffeId(SpiffeId id);

    List<RegistrationEntry> listEntries(EntryFilter filter);

    /** Entries whose parent ID is one of {@code parentIds}. */
    List<RegistrationEntry> listEntriesByParent(Collection<SpiffeId> parentIds);

    /**
     * Replaces an entry's fields (matched by ID) and increments its revision.
     *
     * @return the stored entry, or empty when no entry has that ID
     * @throws DuplicateEntryException when the change collides with another entry
     */
    Optional<RegistrationEntry> updateEntry(RegistrationEntry entry);

    /** Deletes an entry; returns it, or empty when no entry has that ID. */
    Optional<RegistrationEntry> deleteEntry(String id);

    long countEntries();

    // --- attested agents ---

    /** Inserts or replaces the agent record (and its node selectors). */
    void upsertAttestedNode(AttestedNode node);

    Optional<AttestedNode> fetchAttestedNode(SpiffeId id);

    List<AttestedNode> listAttestedNodes();

    /** Sets the current agent SVID serial and expiry. Returns false when the agent is unknown. */
    boolean updateAttestedNodeSvid(SpiffeId id, String serial, long expiresAt);

    /** Deletes the agent record (evict); it must attest again. Returns false when unknown. */
    boolean deleteAttestedNode(SpiffeId id);

    // --- join tokens ---

    /** Stores a token; only its {@link JoinToken#hash} is written, never the token itself. */
    void createJoinToken(JoinToken token);

    /**
     * Removes and returns the token in one atomic step, so each token is used at most once even
     * when two agents present it at the same moment.
     */
    Optional<JoinToken> consumeJoinToken(String token);

    /** Deletes tokens that expired before {@code unixSeconds}; returns how many. */
    int pruneJoinTokens(long unixSeconds);

    // --- bundles ---

    Optional<Bundle> fetchBundle(String trustDomain);

    List<Bundle> listBundles();

    /** Creates or replaces a bundle (federated bundles; sequence number as given). */
    void setBundle(Bundle bundle);

    /**
     * Merges X.509 and JWT authorities into the stored bundle of {@code bundle.getTrustDomain()}
     * (creating it), atomically; bumps the sequence number when anything was added. Several servers
     * sharing one database each append their own authorities.
     *
     * @return the bundle as stored after the merge
     */
    Bundle appendBundle(Bundle bundle);

    /**
     * Removes X.509 authorities whose certificate expired and JWT authorities whose expiry passed
     * before {@code unixSeconds}, atomically. Returns the bundle after pruning.
     */
    Optional<Bundle> pruneBundle(String trustDomain, long unixSeconds);

    boolean deleteBundle(String trustDomain);

    /**
     * Replaces the stored bundle of {@code trustDomain} with {@code change} applied to it, in one
     * transaction that holds the row (so a concurrent append or prune cannot be lost). {@code
     * change} may throw to refuse; then nothing is written. Empty when there is no such bundle.
     */
    Optional<Bundle> updateBundle(
            String trustDomain, java.util.function.UnaryOperator<Bundle> change);

    // --- federation relationships ---

    /**
     * Stores a new relationship; false (nothing written) when one with that trust domain exists.
     */
    boolean createFederationRelationship(FederationRelationship relationship);

    /** Replaces a relationship; false when there is none with that trust domain. */
    boolean updateFederationRelationship(FederationRelationship relationship);

    Optional<FederationRelationship> fetchFederationRelationship(String trustDomain);

    /** All relationships, by trust domain. */
    List<FederationRelationship> listFederationRelationships();

    boolean deleteFederationRelationship(String trustDomain);

    // --- CA journal ---

    /** The journal blob of one server instance. */
    Optional<byte[]> fetchCaJournal(String journalId);

    void saveCaJournal(String journalId, byte[] data);

    /** Node selectors of an agent (for node alias matching). */
    default List<Selector> nodeSelectors(SpiffeId agentId) {
        return fetchAttestedNode(agentId).map(AttestedNode::selectors).orElse(List.of());
    }

    // --- change detection (for the authorised-entries cache) ---

    /**
     * A counter bumped in the same transaction as every write of entries or of agents' node
     * records, by any process sharing the database. Equal values mean no such write happened in
     * between. (An agent's SVID serial update does not bump it: it changes no authorisation.)
     */
    long changeRevision();

    /** Every entry and agent in one consistent read, with the change revision they reflect. */
    DataStoreChange.Snapshot snapshot();

    /** Registers a listener told after each entry or agent write of this instance commits. */
    void addChangeListener(DataStoreChange.Listener listener);

    /**
     * Whether every change revision after {@code after} up to {@code upTo} belongs to a write of
     * this instance that its listeners have not been told of yet (committed, or still committing):
     * a {@link #changeRevision()} read that ran ahead of the listeners then needs no reload, the
     * listeners hear of those writes, in order, next. False when any revision in the range is
     * another process's, or already told.
     */
    default boolean untoldOwnWrites(long after, long upTo) {
        return false;
    }

    /**
     * A description of the database for log lines and errors, e.g. {@code sqlite3
     * /data/datastore.sqlite3}.
     */
    String describe();

    @Override
    void close();
}
