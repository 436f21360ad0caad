package io.mithril.agent.cache;

import io.mithril.api.selector.Selector;
import io.mithril.spiffe.bundle.SpiffeBundle;
import io.mithril.spiffe.id.TrustDomain;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's cache: registration entries, bundles and the X509-SVIDs it holds for them. It is the
 * single owner of that state; the sync manager writes it, the Workload API reads it.
 *
 * <p>Subscribers (open Workload API streams) receive the full {@link WorkloadUpdate} for their
 * selectors at once, then again whenever what they may see changes (an SVID rotated, a bundle
 * changed, an entry added or removed). Updates are delivered on one notifier thread, in order; a
 * subscriber that throws is logged and does not disturb the others.
 */
public final class SvidCache implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SvidCache.class);

    /** Selector types the agent's workload attestors produce. */
    static final Set<String> WORKLOAD_SELECTOR_TYPES = Set.of("unix", "k8s");

    private final TrustDomain trustDomain;
    private final Clock clock;
    private final ExecutorService notifier =
            Executors.newSingleThreadExecutor(
                    r -> {
                        Thread t = new Thread(r, "svid-cache-notifier");
                        t.setDaemon(true);
                        return t;
                    });
    private final Set<Subscription> subscriptions = ConcurrentHashMap.newKeySet();

    // Guarded by this.
    private SpiffeBundle bundle;
    private Taints taints = Taints.NONE;
    private Map<TrustDomain, SpiffeBundle> federated = Map.of();
    private Map<String, RegistrationEntry> entries = Map.of();
    private final Map<String, CachedSvid> svids = new HashMap<>();
    private final Map<String, CachedJwt> jwts = new HashMap<>();
    private boolean synced;

    public SvidCache(TrustDomain trustDomain, Clock clock) {
        this.trustDomain = trustDomain;
        this.clock = clock;
    }

    public TrustDomain trustDomain() {
        return trustDomain;
    }

    /** Whether the cache has been filled by a sync with the server at least once. */
    public synchronized boolean isSynced() {
        return synced;
    }

    /** The trust domain's own bundle, or null before the first sync. */
    public synchronized SpiffeBundle bundle() {
        return bundle;
    }

    /** The federated bundles currently known. */
    public synchronized Map<TrustDomain, SpiffeBundle> federatedBundles() {
        return federated;
    }

    /** All entries, by id. */
    public synchronized Map<String, RegistrationEntry> entries() {
        return entries;
    }

    /** The SVID held for an entry, or null. */
    public synchronized CachedSvid svid(String entryId) {
        return svids.get(entryId);
    }

    /**
     * Replaces the bundles and entries with what the server just sent, drops SVIDs of entries that
     * are gone, and marks the cache synced.
     */
    public void update(
            SpiffeBundle ownBundle,
            Map<TrustDomain, SpiffeBundle> federatedBundles,
            List<RegistrationEntry> newEntries) {
        update(ownBundle, federatedBundles, newEntries, Taints.NONE);
    }

    /**
     * As {@link #update(SpiffeBundle, Map, List)}, with the server's tainted marks: SVIDs signed by
     * a tainted authority are renewed at the next {@link #entriesNeedingSvid}, and JWT-SVIDs signed
     * by a tainted key leave the cache.
     */
    public void update(
            SpiffeBundle ownBundle,
            Map<TrustDomain, SpiffeBundle> federatedBundles,
            List<RegistrationEntry> newEntries,
            Taints newTaints) {
        synchronized (this) {
            taints = newTaints;
            Map<String, RegistrationEntry> byId = new LinkedHashMap<>();
            for (RegistrationEntry e : newEntries) {
                byId.put(e.id(), e);
            }
            svids.keySet().retainAll(byId.keySet());
            jwts.keySet().removeIf(k -> !byId.containsKey(k.substring(0, k.indexOf('\n'))));
            entries = Map.copyOf(byId);
            bundle = ownBundle;
            federated = Map.copyOf(federatedBundles);
            synced = true;
            dropJwtsOfTaintedKeys();
        }
        publish();
    }

    /** Only the bundles changed (or the agent restored them from disk). */
    public void updateBundles(
            SpiffeBundle ownBundle, Map<TrustDomain, SpiffeBundle> federatedBundles) {
        synchronized (this) {
            bundle = ownBundle;
            federated = Map.copyOf(federatedBundles);
        }
        publish();
    }

    /** Stores freshly minted SVIDs (replacing older ones of the same entries). */
    public void putSvids(List<CachedSvid> fresh) {
        if (fresh.isEmpty()) {
            return;
        }
        synchronized (this) {
            for (CachedSvid s : fresh) {
                if (entries.containsKey(s.entryId())) {
                    svids.put(s.entryId(), s);
                }
            }
        }
        publish();
    }

    /**
     * The entries that need a new SVID now: none held, the entry changed in a way the SVID shows,
     * or the held one reached its rotation time. Entries parented by the server itself, and entries
     * with a selector no workload attestor of this agent produces (node aliases, selected by {@code
     * spiffe_id:...}), can never match a workload and get none.
     */
    public synchronized List<RegistrationEntry> entriesNeedingSvid() {
        Instant now = clock.instant();
        List<RegistrationEntry> out = new ArrayList<>();
        int tainted = 0;
        for (RegistrationEntry e : entries.values()) {
            if (e.parentId() != null && e.parentId().path().equals("/spire/server")) {
                continue;
            }
            if (e.selectors().stream()
                    .anyMatch(sel -> !WORKLOAD_SELECTOR_TYPES.contains(sel.type()))) {
                continue;
            }
            CachedSvid s = svids.get(e.id());
            if (s == null || !e.sameSvidShape(s.mintedFor()) || !now.isBefore(s.rotateAt())) {
                out.add(e);
            } else if (taints.signedByTaintedAuthority(s.chain())) {
                // SPIRE's agent: an SVID signed by a tainted authority is replaced now, not at
                // its rotation time, so nothing depends on the authority when it is revoked.
                out.add(e);
                tainted++;
            }
        }
        if (tainted > 0) {
            log.info(
                    "{} X.509 SVID(s) signed by a tainted authority; requesting new ones", tainted);
        }
        return out;
    }

    /** Drops SVIDs that have expired (the server could not be reached to renew them). */
    public void evictExpired() {
        boolean changed = false;
        synchronized (this) {
            Instant now = clock.instant();
            var it = svids.values().iterator();
            while (it.hasNext()) {
                CachedSvid s = it.next();
                if (!now.isBefore(s.expiresAt())) {
                    log.warn(
                            "SVID for {} expired at {} without renewal (server unreachable?); no longer served",
                            s.spiffeId(),
                            s.expiresAt());
                    it.remove();
                    changed = true;
                }
            }
            jwts.values().removeIf(j -> !now.isBefore(j.expiresAt()));
        }
        if (changed) {
            publish();
        }
    }

    /** What a workload with these selectors may have right now. */
    public synchronized WorkloadUpdate fetch(Set<Selector> selectors) {
        List<Identity> identities = new ArrayList<>();
        Map<TrustDomain, SpiffeBundle> fed = new LinkedHashMap<>();
        int matched = 0;
        List<RegistrationEntry> sorted = new ArrayList<>(entries.values());
        sorted.sort(
                Comparator.comparing((RegistrationEntry e) -> e.spiffeId().toString())
                        .thenComparing(RegistrationEntry::id));
        for (RegistrationEntry e : sorted) {
            if (!e.matches(selectors)) {
                continue;
            }
            matched++;
            CachedSvid s = svids.get(e.id());
            if (s != null) {
                identities.add(new Identity(e, s));
            }
            for (TrustDomain td : e.federatesWith()) {
                SpiffeBundle b = federated.get(td);
                if (b != null) {
                    fed.put(td, b);
                }
            }
        }
        return new WorkloadUpdate(identities, bundle, fed, matched);
    }

    /**
     * Subscribes to updates for a workload's selectors. The current state is delivered at once (on
     * the notifier thread), then every change.
     */
    public Subscription subscribe(Set<Selector> selectors, Consumer<WorkloadUpdate> listener) {
        Subscription sub = new Subscription(this, Set.copyOf(selectors), listener);
        subscriptions.add(sub);
        notifier.execute(() -> sub.maybeDeliver(fetch(sub.selectors)));
        return sub;
    }

    /** How many subscriptions are open (for metrics and tests). */
    public int subscriptionCount() {
        return subscriptions.size();
    }

    // ---- JWT-SVIDs ----

    /** A cached JWT-SVID for the entry and audience that is not past half its life, or null. */
    public synchronized String cachedJwt(String entryId, List<String> audience) {
        CachedJwt j = jwts.get(jwtKey(entryId, audience));
        if (j == null || !clock.instant().isBefore(j.refreshAt())) {
            return null;
        }
        return j.token();
    }

    /** Remembers a JWT-SVID. */
    public synchronized void putJwt(
            String entryId,
            List<String> audience,
            String token,
            Instant issuedAt,
            Instant expiresAt) {
        Instant refreshAt =
                issuedAt.plusMillis((expiresAt.toEpochMilli() - issuedAt.toEpochMilli()) / 2);
        jwts.put(jwtKey(entryId, audience), new CachedJwt(token, refreshAt, expiresAt));
    }

    /**
     * SPIRE's agent: JWT-SVIDs signed by a tainted key leave the cache, so the next fetch gets one
     * signed by the active key.
     */
    private void dropJwtsOfTaintedKeys() {
        if (taints.jwtKeyIds().isEmpty()) {
            return;
        }
        int before = jwts.size();
        jwts.values().removeIf(j -> taints.jwtKeyIds().contains(keyIdOf(j.token())));
        if (jwts.size() < before) {
            log.info(
                    "{} JWT-SVID(s) signed by a tainted authority removed from the cache",
                    before - jwts.size());
        }
    }

    /** The {@code kid} of a compact JWS, or "" when it cannot be read. */
    static String keyIdOf(String token) {
        try {
            return java.util.Objects.toString(
                    com.nimbusds.jose.JWSObject.parse(token).getHeader().getKeyID(), "");
        } catch (java.text.ParseException e) {
            return "";
        }
    }

    private static String jwtKey(String entryId, List<String> audience) {
        return entryId + "\n" + String.join("\n", new java.util.TreeSet<>(audience));
    }

    private record CachedJwt(String token, Instant refreshAt, Instant expiresAt) {}

    // ---- notification ----

    private void publish() {
        notifier.execute(
                () -> {
                    for (Subscription sub : subscriptions) {
                        sub.maybeDeliver(fetch(sub.selectors));
                    }
                });
    }

    void unsubscribe(Subscription sub) {
        subscriptions.remove(sub);
    }

    @Override
    public void close() {
        subscriptions.clear();
        notifier.shutdownNow();
    }

    /** An open subscription; close it when the stream ends. */
    public static final class Subscription implements AutoCloseable {
        private final SvidCache cache;
        private final Set<Selector> selectors;
        private final Consumer<WorkloadUpdate> listener;
        private List<Object> lastFingerprint; // notifier thread only

        Subscription(SvidCache cache, Set<Selector> selectors, Consumer<WorkloadUpdate> listener) {
            this.cache = cache;
            this.selectors = selectors;
            this.listener = listener;
        }

        void maybeDeliver(WorkloadUpdate update) {
            if (!cache.subscriptions.contains(this)) {
                return;
            }
            List<Object> fp = update.fingerprint();
            if (fp.equals(lastFingerprint)) {
                return;
            }
            lastFingerprint = fp;
            try {
                listener.accept(update);
            } catch (RuntimeException e) {
                log.debug(
                        "a Workload API subscriber failed ({}); closing its subscription",
                        e.toString());
                close();
            }
        }

        @Override
        public void close() {
            cache.unsubscribe(this);
        }
    }
}
