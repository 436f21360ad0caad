package io.mithril.server.federation;

import io.mithril.api.types.Bundle;
import io.mithril.server.ca.BundleCodec;
import io.mithril.server.ca.TrustBundle;
import io.mithril.server.datastore.DataStore;
import io.mithril.server.federation.BundleEndpointClient.FetchException;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.BundleSource;
import io.mithril.spiffe.bundle.SpiffeBundle;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.TrustDomain;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the bundles of federated trust domains fresh (SPIRE's bundle client manager): for each
 * federation relationship in the datastore it fetches the bundle from the relationship's endpoint
 * when due, stores it, and schedules the next fetch after the bundle's {@code spiffe_refresh_hint}
 * (5 minutes when it has none, never sooner than {@code minRefresh}). A fetch that fails, or a
 * bundle that must not be trusted, is logged with the reason and leaves the last good bundle in
 * place; the next attempt comes after {@code retryInterval}. Refused bundles: an unreachable
 * endpoint, an endpoint that does not authenticate as the relationship says, a document that is not
 * a SPIFFE bundle, a bundle with a lower {@code spiffe_sequence} than the one held (a replay of an
 * older bundle), and a bundle with no X.509 authority (it would fail every peer of that trust
 * domain).
 */
public final class FederationManager implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(FederationManager.class);

    /** The refresh interval when a bundle has no refresh hint. */
    public static final Duration DEFAULT_REFRESH = Duration.ofMinutes(5);

    private final TrustDomain own;
    private final DataStore dataStore;
    private final BundleEndpointClient client;
    private final Clock clock;
    private final Duration retryInterval;
    private final Duration minRefresh;
    private final Map<TrustDomain, Instant> nextRefresh = new HashMap<>();
    private final ScheduledExecutorService scheduler;

    /**
     * @param retryInterval how long after a failed fetch the next one is tried
     * @param minRefresh the shortest refresh interval a peer's refresh hint may ask for
     */
    public FederationManager(
            TrustDomain own,
            DataStore dataStore,
            BundleEndpointClient client,
            Clock clock,
            Duration retryInterval,
            Duration minRefresh) {
        this.own = own;
        this.dataStore = dataStore;
        this.client = client;
        this.clock = clock;
        this.retryInterval = retryInterval;
        this.minRefresh = minRefresh;
        this.scheduler =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "mithril-federation");
                            t.setDaemon(true);
                            return t;
                        });
    }

    /** Starts checking, every {@code tick}, which relationships are due. */
    public FederationManager start(Duration tick) {
        scheduler.scheduleWithFixedDelay(this::tick, 0, tick.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** Makes every relationship due now (a relationship was created or changed). */
    public synchronized void relationshipsChanged() {
        nextRefresh.clear();
        scheduler.execute(this::tick);
    }

    private void tick() {
        try {
            Set<TrustDomain> current = new HashSet<>();
            for (var p : dataStore.listFederationRelationships()) {
                Relationship r;
                try {
                    r = Relationship.fromProto(p);
                } catch (IllegalArgumentException e) {
                    log.error(
                            "Federation relationship with \"{}\" in the datastore is invalid, skipped: {}",
                            p.getTrustDomain(),
                            e.getMessage());
                    continue;
                }
                current.add(r.trustDomain());
                Instant due;
                synchronized (this) {
                    due = nextRefresh.getOrDefault(r.trustDomain(), Instant.MIN);
                }
                if (!clock.instant().isBefore(due)) {
                    try {
                        refresh(r);
                    } catch (FetchException e) {
                        // logged by refresh
                    } catch (RuntimeException e) {
                        schedule(r.trustDomain(), retryInterval);
                        log.warn(
                                "Federated bundle of {} NOT refreshed: {}; retrying in {}s",
                                r.trustDomain(),
                                e.toString(),
                                retryInterval.getSeconds());
                    }
                }
            }
            synchronized (this) {
                nextRefresh.keySet().retainAll(current);
            }
            listFailing = false;
        } catch (RuntimeException e) {
            // The datastore is unreachable: say so once, not every tick, until it answers again.
            if (!listFailing) {
                log.error("Federation: cannot read the federation relationships: {}", e.toString());
            } else {
                log.debug("Federation: cannot read the federation relationships: {}", e.toString());
            }
            listFailing = true;
        }
    }

    private volatile boolean listFailing;

    /**
     * Fetches the relationship's bundle now ({@code server bundle refresh}/{@code federation
     * refresh}).
     *
     * @return the bundle stored after the fetch
     * @throws FetchException when the fetch failed or the bundle was refused (the stored one is
     *     unchanged)
     */
    public TrustBundle refresh(TrustDomain td) throws FetchException {
        var p =
                dataStore
                        .fetchFederationRelationship(td.name())
                        .orElseThrow(
                                () ->
                                        new FetchException(
                                                "no federation relationship with " + td, null));
        return refresh(Relationship.fromProto(p));
    }

    private TrustBundle refresh(Relationship r) throws FetchException {
        TrustDomain td = r.trustDomain();
        if (td.equals(own)) {
            // A relationship stored before the server's trust domain became td: never let a peer
            // replace the own bundle.
            throw new FetchException(
                    "federation relationship with "
                            + td
                            + " is the server's own trust domain; "
                            + "delete it (server federation delete -id "
                            + td.name()
                            + ")",
                    null);
        }
        Optional<Bundle> stored = dataStore.fetchBundle(td.name());
        try {
            SpiffeBundle got = client.fetch(r, trustSource());
            if (got.x509Authorities().isEmpty()) {
                throw new FetchException(
                        "bundle endpoint "
                                + r.bundleEndpointUrl()
                                + " of "
                                + td
                                + " served a bundle with no X.509 authority; refused (it would fail every peer of "
                                + td
                                + ")",
                        null);
            }
            // A bundle without spiffe_sequence counts as sequence 0: once a sequence is held, it
            // cannot be replayed past it.
            long sequence = got.sequenceNumber().orElse(0);
            if (stored.isPresent() && sequence < stored.get().getSequenceNumber()) {
                throw new FetchException(
                        "bundle endpoint "
                                + r.bundleEndpointUrl()
                                + " of "
                                + td
                                + " served spiffe_sequence "
                                + (got.sequenceNumber().isPresent() ? sequence : "none")
                                + ", lower than the "
                                + stored.get().getSequenceNumber()
                                + " held: an older bundle, refused",
                        null);
            }
            TrustBundle fresh = TrustBundle.fromSpiffeBundle(got);
            Bundle proto = BundleCodec.toProto(fresh);
            boolean changed = stored.isEmpty() || !stored.get().equals(proto);
            if (changed) {
                dataStore.setBundle(proto);
            }
            Duration next = got.refreshHint().filter(h -> !h.isZero()).orElse(DEFAULT_REFRESH);
            if (next.compareTo(minRefresh) < 0) {
                next = minRefresh;
            }
            schedule(td, next);
            log.info(
                    "Federated bundle {}: trust_domain={} sequence={} x509_authorities={} jwt_authorities={} next_refresh_in={}s",
                    changed ? "updated" : "unchanged",
                    td,
                    got.sequenceNumber().isPresent() ? got.sequenceNumber().getAsLong() : "none",
                    got.x509Authorities().size(),
                    got.jwtAuthorities().size(),
                    next.getSeconds());
            return fresh;
        } catch (FetchException e) {
            schedule(td, retryInterval);
            log.warn(
                    "Federated bundle of {} NOT refreshed, {}: {}; retrying in {}s",
                    td,
                    stored.map(
                                    b ->
                                            "keeping the last good one (sequence "
                                                    + b.getSequenceNumber()
                                                    + ")")
                            .orElse("none held yet"),
                    e.getMessage(),
                    retryInterval.getSeconds());
            throw e;
        }
    }

    /**
     * https_spiffe endpoints are checked against the bundles in the datastore (the own one
     * included).
     */
    private BundleSource<X509Bundle> trustSource() {
        return td ->
                dataStore
                        .fetchBundle(td.name())
                        .map(b -> BundleCodec.fromProto(b).x509Bundle())
                        .orElseThrow(() -> new BundleNotFoundException(td));
    }

    private synchronized void schedule(TrustDomain td, Duration in) {
        nextRefresh.put(td, clock.instant().plus(in));
    }

    /** When the next fetch of {@code td}'s bundle is due, if scheduled. */
    public synchronized Optional<Instant> nextRefresh(TrustDomain td) {
        return Optional.ofNullable(nextRefresh.get(td));
    }

    /** The own trust domain (never federated with). */
    public TrustDomain trustDomain() {
        return own;
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
