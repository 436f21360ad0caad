package io.mithril.server.api.agent;

import io.mithril.api.selector.Selector;
import io.mithril.api.types.Entry;
import io.mithril.server.api.ProtoConverters;
import io.mithril.server.datastore.AttestedNode;
import io.mithril.server.datastore.DataStore;
import io.mithril.server.datastore.DataStoreChange;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.metrics.ServerMetrics;
import io.mithril.spiffe.id.SpiffeId;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Computes the registration entries an agent may serve, as SPIRE does: starting from the agent's
 * own ID and the node aliases that match it (entries parented by the server ID whose selectors are
 * all among the agent's node selectors), every entry whose parent is one of those IDs, and then,
 * transitively, every entry parented by an ID already reached. Cycles are harmless. Entries whose
 * {@code expires_at} has passed are left out (and so are their children).
 *
 * <p>Answers come from an in-memory index of every entry (by ID, parent ID and SPIFFE ID; node
 * aliases also by selector) and every agent's node selectors, like SPIRE's authorized-entries
 * cache, so a call costs about the size of its answer, not a scan of the datastore. The index is
 * kept exact as follows:
 *
 * <ul>
 *   <li>writes through this server's datastore instance (admin API, attestation, join token
 *       aliases, eviction) are applied to it right after they commit, so they are visible to the
 *       next call;
 *   <li>writes by another process sharing the database (servers sharing one PostgreSQL) are noticed
 *       through {@link DataStore#changeRevision()}, which a background task reads every {@code
 *       refreshInterval}; a changed revision makes that task build a new index from a snapshot of
 *       the datastore and swap it in. So such a write is visible to every call that starts {@code
 *       refreshInterval} plus one revision read and one rebuild after its commit. A write of ours
 *       that arrives after one of another server's (a revision is missing) is applied at once all
 *       the same, and the task rebuilds at once to pick up the other;
 *   <li>expiry needs no invalidation: {@code expires_at} is compared with the clock per call;
 *   <li>a restarted server builds the index from the datastore when it starts.
 * </ul>
 *
 * Thread-safe, and calls never wait for the datastore (SPIRE's authorised-entries cache is
 * refreshed in the background too): calls share a read lock; applying a write and swapping in a
 * rebuilt index take the write lock, for in-memory work only. The datastore is read without it,
 * while the calls go on being answered from the current index. With a zero {@code refreshInterval}
 * there is no background task: each call reads the change revision itself (tests use this for a
 * zero staleness bound).
 */
public final class AuthorizedEntries implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AuthorizedEntries.class);

    /**
     * How often, at most, the datastore's change revision is read (SPIRE polls on a short interval
     * too).
     */
    public static final Duration DEFAULT_REFRESH_INTERVAL = Duration.ofSeconds(1);

    private final DataStore dataStore;
    private final SpiffeId serverId;
    private final Clock clock;
    private final long refreshNanos;
    private final ServerMetrics metrics;

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    /** Held by the one refresh (revision check and rebuild) in progress; never by a call. */
    private final Object refreshing = new Object();

    /**
     * Null until the first build; replaced whole by a rebuild, changed in place by local writes.
     */
    private volatile Index index;

    /** The change revision the index reflects. Guarded by the write lock. */
    private long revision = -1;

    /** Set when a write could not be applied in order (another process wrote in between). */
    private volatile boolean stale;

    private long rebuilds;

    /**
     * This server's writes committed while a rebuild reads the datastore; null otherwise. Guarded
     * by the write lock.
     */
    private List<Committed> journal;

    /**
     * Runs the revision check every refresh interval; null when the interval is zero (checked per
     * call).
     */
    private volatile ScheduledExecutorService refresher;

    private final AtomicBoolean refreshRequested = new AtomicBoolean();

    private AuthorizedEntries(
            DataStore dataStore,
            SpiffeId serverId,
            Clock clock,
            Duration refreshInterval,
            ServerMetrics metrics) {
        this.dataStore = dataStore;
        this.serverId = serverId;
        this.clock = clock;
        this.refreshNanos = refreshInterval.toNanos();
        this.metrics = metrics;
    }

    /**
     * Creates the cache over {@code dataStore}, subscribes it to the datastore's writes, builds it
     * (logging one line with its size) and starts its background refresher; {@link #close()} stops
     * that.
     *
     * @param refreshInterval how often the background task reads the change revision: a write by
     *     another process sharing the database stays unseen this long plus one read and one
     *     rebuild; {@link Duration#ZERO} starts no task and reads the revision on every call
     * @param metrics where the cache's size and rebuild count go; null for none
     * @throws io.mithril.server.datastore.DataStoreException when the datastore cannot be read
     */
    public static AuthorizedEntries start(
            DataStore dataStore,
            SpiffeId serverId,
            Clock clock,
            Duration refreshInterval,
            ServerMetrics metrics) {
        if (refreshInterval.isNegative()) {
            throw new IllegalArgumentException(
                    "refresh interval must not be negative (got " + refreshInterval + ")");
        }
        AuthorizedEntries cache =
                new AuthorizedEntries(dataStore, serverId, clock, refreshInterval, metrics);
        dataStore.addChangeListener(cache::changed);
        synchronized (cache.refreshing) {
            cache.rebuild("startup", System.nanoTime());
        }
        if (cache.refreshNanos > 0) {
            ScheduledExecutorService r =
                    Executors.newSingleThreadScheduledExecutor(
                            task -> {
                                Thread t = new Thread(task, "mithril-authorized-entries-refresh");
                                t.setDaemon(true);
                                return t;
                            });
            cache.refresher = r;
            r.scheduleWithFixedDelay(
                    cache::refreshInBackground,
                    cache.refreshNanos,
                    cache.refreshNanos,
                    TimeUnit.NANOSECONDS);
        }
        return cache;
    }

    /** How many times the index was built from the datastore (startup included). */
    public long rebuilds() {
        lock.readLock().lock();
        try {
            return rebuilds;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The number of entries the index holds (expired ones included). */
    public int size() {
        lock.readLock().lock();
        try {
            return index.byId.size();
        } finally {
            lock.readLock().unlock();
        }
    }

    // ------------------------------------------------------------------ queries

    /**
     * The entry, if it is authorised for the agent: walks up from the entry through the entries
     * whose SPIFFE ID is its parent until it reaches the agent or one of its aliases. Costs the
     * length of that path, not the whole authorised set (used for every CSR of a batch).
     */
    public Optional<RegistrationEntry> authorizedEntry(SpiffeId agentId, String entryId) {
        ensureFresh();
        long now = clock.instant().getEpochSecond();
        lock.readLock().lock();
        try {
            Index ix = index;
            RegistrationEntry entry = ix.byId.get(entryId);
            if (entry == null || expired(entry, now)) {
                return Optional.empty();
            }
            Set<SpiffeId> roots = new HashSet<>();
            roots.add(agentId);
            roots.addAll(matchingAliases(ix, agentId, now));
            Set<SpiffeId> visited = new HashSet<>();
            ArrayDeque<SpiffeId> parents = new ArrayDeque<>();
            parents.add(entry.parentId());
            while (!parents.isEmpty()) {
                SpiffeId parent = parents.poll();
                if (roots.contains(parent)) {
                    return Optional.of(entry);
                }
                if (!visited.add(parent)) {
                    continue;
                }
                for (RegistrationEntry p : ix.bySpiffeId.getOrDefault(parent, Map.of()).values()) {
                    if (!expired(p, now)) {
                        parents.add(p.parentId());
                    }
                }
            }
            return Optional.empty();
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The attested node as the index holds it (ban flag, selectors, SVID serial at its last
     * attestation), for authenticating agent API calls without a datastore read per call. Kept as
     * fresh as the entries: this server's writes (attestation, ban, eviction) at once, another
     * server's within {@code refreshInterval}. Empty when the index does not know the agent; the
     * caller then asks the datastore, so an agent attested on another server a moment ago is not
     * refused.
     */
    public Optional<AttestedNode> attestedNode(SpiffeId agentId) {
        ensureFresh();
        lock.readLock().lock();
        try {
            return Optional.ofNullable(index.nodes.get(agentId));
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The entries authorised for the agent, keyed by entry ID, in discovery order (breadth first).
     */
    public Map<String, RegistrationEntry> forAgent(SpiffeId agentId) {
        ensureFresh();
        long now = clock.instant().getEpochSecond();
        lock.readLock().lock();
        try {
            return walk(index, agentId, now);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * {@link #forAgent} as API messages, ready to send: each entry is converted once, when it
     * enters the index, not on every call (at 100k entries the conversion cost as much as the
     * walk).
     */
    public List<Entry> forAgentAsProto(SpiffeId agentId) {
        ensureFresh();
        long now = clock.instant().getEpochSecond();
        lock.readLock().lock();
        try {
            Index ix = index;
            Map<String, RegistrationEntry> found = walk(ix, agentId, now);
            List<Entry> out = new java.util.ArrayList<>(found.size());
            for (String id : found.keySet()) {
                out.add(ix.protos.get(id));
            }
            return out;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The authorised set; caller holds the read lock. */
    private Map<String, RegistrationEntry> walk(Index ix, SpiffeId agentId, long now) {
        Set<SpiffeId> reached = new HashSet<>();
        ArrayDeque<SpiffeId> queue = new ArrayDeque<>();
        reached.add(agentId);
        queue.add(agentId);
        for (SpiffeId alias : matchingAliases(ix, agentId, now)) {
            if (reached.add(alias)) {
                queue.add(alias);
            }
        }
        Map<String, RegistrationEntry> out = new LinkedHashMap<>();
        while (!queue.isEmpty()) {
            Map<String, RegistrationEntry> children = ix.byParent.get(queue.poll());
            if (children == null) {
                continue; // most reached IDs (workloads) parent nothing
            }
            for (RegistrationEntry e : children.values()) {
                if (expired(e, now)) {
                    continue; // an expired entry authorises nothing, nor its children
                }
                if (out.putIfAbsent(e.id(), e) == null && reached.add(e.spiffeId())) {
                    queue.add(e.spiffeId());
                }
            }
        }
        return out;
    }

    private static boolean expired(RegistrationEntry e, long now) {
        return e.expiresAt() != 0 && e.expiresAt() < now;
    }

    /**
     * SPIFFE IDs of the unexpired node aliases (entries parented by the server) whose selectors are
     * all among the agent's node selectors. Looks aliases up by the agent's selectors, so it costs
     * the aliases sharing a selector with the agent, not all aliases.
     */
    private Set<SpiffeId> matchingAliases(Index ix, SpiffeId agentId, long now) {
        Set<Selector> nodeSelectors = ix.agents.getOrDefault(agentId, Set.of());
        if (nodeSelectors.isEmpty()) {
            return Set.of();
        }
        Set<SpiffeId> out = new HashSet<>();
        Set<String> seen = new HashSet<>();
        List<Set<String>> candidates = new java.util.ArrayList<>();
        candidates.add(
                ix.aliasesWithoutSelectors); // validation forbids them, but another writer may not
        // have
        for (Selector s : nodeSelectors) {
            candidates.add(ix.aliasesBySelector.getOrDefault(s, Set.of()));
        }
        for (Set<String> ids : candidates) {
            for (String id : ids) {
                RegistrationEntry alias = ix.byId.get(id);
                if (seen.add(id)
                        && !expired(alias, now)
                        && nodeSelectors.containsAll(alias.selectors())) {
                    out.add(alias.spiffeId());
                }
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ freshness

    /**
     * With a zero refresh interval, reads the change revision in the calling thread (and rebuilds
     * when it moved), without holding the index's lock. Otherwise nothing: the background refresher
     * keeps the index fresh, so a call never waits for the datastore.
     */
    private void ensureFresh() {
        if (refresher == null) {
            refresh();
        }
    }

    /** The background refresher's task: a failed read is logged and retried on the next tick. */
    private void refreshInBackground() {
        refreshRequested.set(false);
        try {
            refresh();
        } catch (RuntimeException e) {
            log.warn(
                    "Authorized-entries cache refresh failed (answers stay as they were; retried in {} ms): {}",
                    refreshNanos / 1_000_000,
                    e.toString());
        }
    }

    /** Asks the background refresher to run now (once, however often asked before it runs). */
    private void requestRefresh() {
        ScheduledExecutorService r = refresher;
        if (r != null && refreshRequested.compareAndSet(false, true)) {
            try {
                r.execute(this::refreshInBackground);
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                refreshRequested.set(false);
            }
        }
    }

    /**
     * Reads the datastore's change revision and, when it moved past the index (or the index is
     * known stale), builds a new index from a snapshot and swaps it in. The datastore is read
     * without the index's lock, so calls keep being answered from the current index meanwhile; the
     * writes this server commits during the build are recorded and replayed onto the new index
     * before the swap, which is the only step under the write lock. One refresh at a time.
     */
    private void refresh() {
        synchronized (refreshing) {
            long started = System.nanoTime();
            String reason;
            if (stale) {
                reason = "a write could not be applied in order";
            } else {
                long current = dataStore.changeRevision();
                long have = currentRevision();
                if (current <= have) {
                    // Nothing new; (<: this server's writes were applied after the read. Another
                    // process's write among them left a gap, which marks the index stale.)
                    return;
                }
                // This server's own writes, committed but not yet applied here (the read ran
                // ahead of their delivery): they arrive next, in order. Without this check every
                // busy second (an attestation burst, a batch of entries) cost a full rebuild.
                if (dataStore.untoldOwnWrites(have, current) || currentRevision() == current) {
                    return;
                }
                reason =
                        "change revision "
                                + have
                                + " -> "
                                + current
                                + " (written by another server)";
            }
            rebuild(reason, started);
        }
    }

    private long currentRevision() {
        lock.readLock().lock();
        try {
            return revision;
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Builds a new index from a snapshot of the datastore and swaps it in. Caller holds {@link
     * #refreshing}.
     */
    private void rebuild(String reason, long started) {
        lock.writeLock().lock();
        try {
            journal = new ArrayList<>();
        } finally {
            lock.writeLock().unlock();
        }
        try {
            DataStoreChange.Snapshot snap = dataStore.snapshot();
            Index ix = new Index(serverId);
            snap.entries().forEach(ix::put);
            snap.agents().forEach(ix::putAgent);
            lock.writeLock().lock();
            try {
                long rev = snap.revision();
                boolean gap = false;
                for (Committed c : journal) {
                    if (c.revision() <= rev) {
                        continue; // committed before the snapshot was read: already in it
                    }
                    gap |= c.revision() != rev + 1;
                    ix.apply(c.changes());
                    rev = c.revision();
                }
                index = ix;
                revision = rev;
                stale = gap;
                rebuilds++;
            } finally {
                lock.writeLock().unlock();
            }
            long ms = (System.nanoTime() - started) / 1_000_000;
            log.info(
                    "Authorized-entries cache built: entries={} agents={} revision={} took_ms={} reason={}",
                    ix.byId.size(),
                    ix.agents.size(),
                    snap.revision(),
                    ms,
                    reason);
            if (metrics != null) {
                metrics.authorizedEntriesCacheBuilt(ix.byId.size(), ix.agents.size());
            }
        } finally {
            lock.writeLock().lock();
            try {
                journal = null;
            } finally {
                lock.writeLock().unlock();
            }
        }
        if (stale) {
            requestRefresh();
        }
    }

    /**
     * A committed write of this server's datastore instance, in revision order: applied to the
     * index at once (so it is visible to the next call), and recorded for a rebuild in progress.
     * When another process's write came in between (a revision is missing), ours is applied all the
     * same and the index is marked stale: the background refresher rebuilds it at once.
     */
    private void changed(long rev, List<DataStoreChange> changes) {
        boolean gap;
        lock.writeLock().lock();
        try {
            if (index == null) {
                return; // not built yet: the first snapshot holds it
            }
            if (journal != null) {
                journal.add(new Committed(rev, changes));
            }
            if (rev <= revision) {
                return; // the last snapshot already held it
            }
            gap = rev != revision + 1;
            if (gap) {
                stale = true;
            }
            index.apply(changes);
            revision = rev;
            if (metrics != null) {
                metrics.authorizedEntriesCacheSize(index.byId.size(), index.agents.size());
            }
        } finally {
            lock.writeLock().unlock();
        }
        if (gap) {
            requestRefresh();
        }
    }

    /** Stops the background refresher; answers stay available from the last index. Idempotent. */
    @Override
    public void close() {
        ScheduledExecutorService r = refresher;
        if (r != null) {
            r.shutdownNow();
        }
    }

    /** A write this server committed, as delivered by the datastore. */
    private record Committed(long revision, List<DataStoreChange> changes) {}

    /** The index itself; not thread-safe (guarded by the enclosing lock). */
    private static final class Index {
        final SpiffeId serverId;
        final Map<String, RegistrationEntry> byId = new HashMap<>();

        /** Each entry as sent to agents. */
        final Map<String, Entry> protos = new HashMap<>();

        /** Entries by parent ID, each in insertion order (creation order after a rebuild). */
        final Map<SpiffeId, Map<String, RegistrationEntry>> byParent = new HashMap<>();

        final Map<SpiffeId, Map<String, RegistrationEntry>> bySpiffeId = new HashMap<>();

        /** IDs of node aliases (entries parented by the server ID), by each of their selectors. */
        final Map<Selector, Set<String>> aliasesBySelector = new HashMap<>();

        final Set<String> aliasesWithoutSelectors = new HashSet<>();
        final Map<SpiffeId, Set<Selector>> agents = new HashMap<>();
        final Map<SpiffeId, AttestedNode> nodes = new HashMap<>();

        Index(SpiffeId serverId) {
            this.serverId = serverId;
        }

        void put(RegistrationEntry e) {
            RegistrationEntry old = byId.get(e.id());
            if (old != null
                    && (!old.parentId().equals(e.parentId())
                            || !old.spiffeId().equals(e.spiffeId())
                            || !old.selectors().equals(e.selectors()))) {
                remove(e.id());
            }
            byId.put(e.id(), e);
            protos.put(e.id(), ProtoConverters.toProto(e));
            byParent.computeIfAbsent(e.parentId(), k -> new LinkedHashMap<>()).put(e.id(), e);
            bySpiffeId.computeIfAbsent(e.spiffeId(), k -> new LinkedHashMap<>()).put(e.id(), e);
            if (e.parentId().equals(serverId)) {
                if (e.selectors().isEmpty()) {
                    aliasesWithoutSelectors.add(e.id());
                }
                for (Selector s : e.selectors()) {
                    aliasesBySelector.computeIfAbsent(s, k -> new HashSet<>()).add(e.id());
                }
            }
        }

        void remove(String id) {
            RegistrationEntry old = byId.remove(id);
            if (old == null) {
                return;
            }
            protos.remove(id);
            removeFrom(byParent, old.parentId(), id);
            removeFrom(bySpiffeId, old.spiffeId(), id);
            if (old.parentId().equals(serverId)) {
                aliasesWithoutSelectors.remove(id);
                for (Selector s : old.selectors()) {
                    Set<String> ids = aliasesBySelector.get(s);
                    if (ids != null && ids.remove(id) && ids.isEmpty()) {
                        aliasesBySelector.remove(s);
                    }
                }
            }
        }

        private static void removeFrom(
                Map<SpiffeId, Map<String, RegistrationEntry>> map, SpiffeId key, String id) {
            Map<String, RegistrationEntry> m = map.get(key);
            if (m != null && m.remove(id) != null && m.isEmpty()) {
                map.remove(key);
            }
        }

        void apply(List<DataStoreChange> changes) {
            for (DataStoreChange c : changes) {
                if (c instanceof DataStoreChange.EntryStored st) {
                    put(st.entry());
                } else if (c instanceof DataStoreChange.EntryDeleted d) {
                    remove(d.entryId());
                } else if (c instanceof DataStoreChange.AgentStored a) {
                    putAgent(a.node());
                } else if (c instanceof DataStoreChange.AgentDeleted a) {
                    agents.remove(a.agentId());
                    nodes.remove(a.agentId());
                }
            }
        }

        void putAgent(AttestedNode node) {
            agents.put(node.spiffeId(), Set.copyOf(node.selectors()));
            nodes.put(node.spiffeId(), node);
        }
    }
}
