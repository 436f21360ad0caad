package io.mithril.agent.sync;

import io.grpc.Status;
import io.grpc.StatusException;
import io.mithril.agent.AgentStartException;
import io.mithril.agent.attestor.node.JoinTokenAttestor;
import io.mithril.agent.cache.CachedSvid;
import io.mithril.agent.cache.RegistrationEntry;
import io.mithril.agent.cache.SvidCache;
import io.mithril.agent.client.AgentApiClient;
import io.mithril.agent.client.ServerRefusal;
import io.mithril.agent.endpoints.workload.JwtSvidIssuer;
import io.mithril.api.agent.PermissionDeniedDetails;
import io.mithril.pki.Csr;
import io.mithril.pki.KeyType;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the cache in step with the server: about every sync interval (SPIRE: 5s) it renews the
 * agent SVID at half life, fetches the bundles and the authorised entries, and has SVIDs signed for
 * entries that have none or whose SVID reached its rotation time (half life with jitter). Workload
 * keys are generated here, on the node, and never leave it; only CSRs go to the server.
 *
 * <p>When the server cannot be reached, the sync is retried one interval later, then with
 * exponential backoff (2, 4, at most six intervals) and the cache keeps serving what it has until
 * each SVID expires; the first successful sync afterwards catches up by itself.
 */
public final class SyncManager implements JwtSvidIssuer, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SyncManager.class);
    private static final int BATCH = 100;

    private final SvidCache cache;
    private final AgentIdentity identity;
    private final Clock clock;
    private final Duration interval;
    private final Duration maxBackoff;
    private final Consumer<Boolean> healthListener;
    private final ScheduledExecutorService scheduler =
            Executors.newSingleThreadScheduledExecutor(
                    r -> {
                        Thread t = new Thread(r, "agent-sync");
                        t.setDaemon(true);
                        return t;
                    });
    private int failures;
    private volatile boolean closed;
    private boolean
            evictionReported; // eviction errors are logged once until a re-attestation succeeds
    private boolean reattesting;
    private volatile boolean banned;

    /**
     * @param identity the agent SVID holder, which also owns the server client
     * @param healthListener told true after each successful sync, false after a failure
     */
    public SyncManager(
            SvidCache cache,
            AgentIdentity identity,
            Clock clock,
            Duration interval,
            Consumer<Boolean> healthListener) {
        this.cache = cache;
        this.identity = identity;
        this.clock = clock;
        this.interval = interval;
        this.maxBackoff = interval.multipliedBy(6);
        this.healthListener = healthListener;
    }

    /** Runs one sync now (on the caller's thread), then keeps syncing in the background. */
    public void start() {
        boolean ok = syncSafely();
        scheduler.schedule(
                this::loop,
                ok ? interval.toMillis() : nextDelay().toMillis(),
                TimeUnit.MILLISECONDS);
    }

    private void loop() {
        if (closed) {
            return;
        }
        syncSafely();
        if (!closed && !banned) {
            scheduler.schedule(this::loop, nextDelay().toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private Duration nextDelay() {
        if (failures == 0) {
            return interval;
        }
        // One failure (e.g. the server died mid-call; the next connection reaches another server
        // behind the same address) retries at the normal cadence; repeated failures back off.
        long ms = interval.toMillis() << Math.min(failures - 1, 10);
        return Duration.ofMillis(Math.min(ms, maxBackoff.toMillis()));
    }

    private synchronized boolean syncSafely() {
        if (banned) {
            return false; // the server banned this agent: nothing more to ask it
        }
        try {
            syncOnce();
            if (failures > 0) {
                log.info("Synced with the server again after {} failed attempts", failures);
            }
            failures = 0;
            healthListener.accept(true);
            return true;
        } catch (StatusException | RuntimeException e) {
            if (closed) {
                return false; // interrupted by close(): not a server failure
            }
            Status s = Status.fromThrowable(e);
            // Decided by the typed reason in the status details only; the description is for the
            // log.
            Optional<PermissionDeniedDetails.Reason> reason = ServerRefusal.reason(e);
            if (ServerRefusal.banned(reason)) {
                stopBanned(s);
                return false;
            }
            if (ServerRefusal.shouldReattest(reason)
                    && !reattesting
                    && reattestAfterRefusal(s, reason.get())) {
                reattesting = true; // one immediate retry on the new SVID, not a loop
                try {
                    return syncSafely();
                } finally {
                    reattesting = false;
                }
            }
            failures++;
            String why =
                    s.getCode()
                            + (s.getDescription() == null
                                    ? ""
                                    : ": " + JoinTokenAttestor.redact(s.getDescription()));
            if (failures == 1 || failures % 10 == 0) {
                log.warn(
                        "Sync with the server failed ({}); serving cached SVIDs, retrying in {} ms",
                        why,
                        nextDelay().toMillis());
            } else {
                log.debug("Sync with the server failed again ({})", why);
            }
            cache.evictExpired();
            return false;
        }
    }

    /** Whether the server refused this agent as banned; it then stopped syncing. */
    public boolean banned() {
        return banned;
    }

    /** The server banned this agent (AGENT_BANNED): stop asking it, say so once and clearly. */
    private void stopBanned(Status s) {
        banned = true;
        healthListener.accept(false);
        log.error(
                "The server banned this agent ({}): it stopped syncing and does not attest again; cached SVIDs are"
                        + " served until they expire. An operator must delete the ban (`agent evict`) before this node can"
                        + " attest again",
                JoinTokenAttestor.redact(String.valueOf(s.getDescription())));
    }

    /**
     * The server no longer accepts this agent's identity (AGENT_NOT_ATTESTED after {@code agent
     * evict}, AGENT_EXPIRED, AGENT_NOT_ACTIVE, AGENT_CAN_REATTEST): attest again when the node
     * attestor allows it. Returns whether it did; says once why it cannot otherwise.
     */
    private boolean reattestAfterRefusal(Status s, PermissionDeniedDetails.Reason reason) {
        try {
            if (identity.reattest()) {
                log.info(
                        "Re-attested with {} after the server refused this agent ({}: {}): agent ID {}",
                        identity.attestorType(),
                        reason,
                        JoinTokenAttestor.redact(s.getDescription()),
                        JoinTokenAttestor.redact(identity.agentId()));
                evictionReported = false;
                return true;
            }
        } catch (AgentStartException e) {
            if (ServerRefusal.banned(ServerRefusal.reason(e))) {
                stopBanned(Status.fromThrowable(e.getCause() == null ? e : e.getCause()));
                return false;
            }
            if (!evictionReported) {
                evictionReported = true;
                log.error(
                        "The server refused this agent ({}) and refused to attest it again: {}",
                        reason,
                        JoinTokenAttestor.redact(e.getMessage()));
            }
            return false;
        }
        if (!evictionReported) {
            evictionReported = true;
            log.error(
                    "The server refused this agent ({}: {}) and its node attestor ({}) cannot attest again: serving cached"
                            + " SVIDs until they expire. To rejoin, stop the agent, delete its agent_svid.der and key, and start"
                            + " it with a new -joinToken",
                    reason,
                    JoinTokenAttestor.redact(s.getDescription()),
                    identity.attestorType());
        }
        return false;
    }

    /**
     * One sync: renew the agent SVID if due, fetch bundles and entries, mint what is missing.
     *
     * @throws StatusException when the server cannot be reached or refuses
     */
    public void syncOnce() throws StatusException {
        cache.evictExpired();
        identity.renewIfDue();
        AgentApiClient client = identity.client();
        AgentApiClient.Bundles bundles = client.fetchBundles();
        List<RegistrationEntry> entries = client.authorizedEntries();
        identity.storeBundle(bundles.bundle());
        identity.renewIfTainted(bundles.taints());
        client = identity.client(); // a renewal replaces the client
        cache.update(bundles.bundle(), bundles.federated(), entries, bundles.taints());
        List<RegistrationEntry> needing = cache.entriesNeedingSvid();
        for (int i = 0; i < needing.size(); i += BATCH) {
            mint(client, needing.subList(i, Math.min(needing.size(), i + BATCH)));
        }
    }

    private void mint(AgentApiClient client, List<RegistrationEntry> entries)
            throws StatusException {
        Map<String, byte[]> csrs = new LinkedHashMap<>();
        Map<String, KeyPair> keys = new HashMap<>();
        Map<String, RegistrationEntry> byId = new HashMap<>();
        for (RegistrationEntry e : entries) {
            KeyPair kp = KeyType.EC_P256.generate();
            keys.put(e.id(), kp);
            byId.put(e.id(), e);
            csrs.put(e.id(), Csr.create(kp, e.spiffeId(), e.dnsNames()));
        }
        List<CachedSvid> fresh = new ArrayList<>();
        for (AgentApiClient.SvidResult r : client.batchNewX509Svid(csrs)) {
            RegistrationEntry e = byId.get(r.entryId());
            if (r.error() != null) {
                log.warn(
                        "The server refused an SVID for entry {} ({}): {}",
                        r.entryId(),
                        e == null ? "?" : e.spiffeId(),
                        r.error());
                continue;
            }
            X509Certificate leaf = r.chain().get(0);
            Instant rotateAt =
                    CachedSvid.rotationTimeFromReceipt(
                            leaf.getNotBefore().toInstant(),
                            clock.instant(),
                            leaf.getNotAfter().toInstant(),
                            ThreadLocalRandom.current().nextDouble());
            fresh.add(
                    new CachedSvid(
                            r.entryId(),
                            e.spiffeId(),
                            r.chain(),
                            keys.get(r.entryId()).getPrivate(),
                            rotateAt,
                            e));
            log.info(
                    "SVID for {} (entry {}) issued, serial {}, valid until {}",
                    e.spiffeId(),
                    e.id(),
                    leaf.getSerialNumber().toString(16),
                    leaf.getNotAfter().toInstant());
        }
        cache.putSvids(fresh);
    }

    @Override
    public String issue(RegistrationEntry entry, List<String> audience) throws StatusException {
        try {
            AgentApiClient.JwtSvid jwt = identity.client().newJwtSvid(entry.id(), audience);
            cache.putJwt(entry.id(), audience, jwt.token(), jwt.issuedAt(), jwt.expiresAt());
            return jwt.token();
        } catch (StatusException e) {
            if (e.getStatus().getCode() == Status.Code.PERMISSION_DENIED
                    || e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) {
                throw e;
            }
            throw Status.UNAVAILABLE
                    .withDescription("cannot get a JWT-SVID from the server: " + e.getStatus())
                    .asException();
        }
    }

    @Override
    public void close() {
        closed = true;
        scheduler.shutdownNow();
        try {
            scheduler.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
