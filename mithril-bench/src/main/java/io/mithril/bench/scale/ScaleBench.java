package io.mithril.bench.scale;

import io.mithril.api.admin.BatchCreateEntryRequest;
import io.mithril.api.admin.BatchCreateEntryResponse;
import io.mithril.api.admin.CreateJoinTokenRequest;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.Entry;
import io.mithril.api.types.JwtKey;
import io.mithril.api.types.Selector;
import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchReport;
import io.mithril.bench.BenchSuite;
import io.mithril.bench.ChildJvm;
import io.mithril.bench.Latencies;
import io.mithril.pki.KeyType;
import io.mithril.pki.Pem;
import io.mithril.pki.X509Minter;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code mithril bench scale}: thousands of simulated agents on one identity server on PostgreSQL,
 * then two servers on one PostgreSQL behind HAProxy with one of them killed mid-run. See
 * docs/bench.md ("scale") for what is measured and how.
 */
public final class ScaleBench implements BenchSuite {

    static final TrustDomain TD = TrustDomain.of("example.org");
    static final int ENTRIES_PER_FAILOVER_AGENT = 10;

    /**
     * Threads running syncs (blocking calls): enough that a slow server, not the bench, limits how
     * many syncs are in flight; one per 20 agents (at 5,000 agents, 1,000 syncs/s, 250 threads keep
     * up while a sync takes up to 250 ms), at least 64.
     */
    static int syncThreads(int agents) {
        return Math.max(64, agents / 20);
    }

    @Override
    public String name() {
        return "scale";
    }

    @Override
    public String description() {
        return "N simulated agents on one identity server on PostgreSQL (sync p50/p99, SVIDs/s, CPU, RSS, queries/s, propagation);"
                + " two servers behind HAProxy, one killed";
    }

    @Override
    public BenchReport run(BenchContext ctx) throws Exception {
        return run(ctx, ScaleSettings.from(ctx.suiteOptions()));
    }

    /**
     * The one-server part alone, on a PostgreSQL cluster of its own, in a temp dir removed
     * afterwards (for tests).
     */
    public OneServer runOneServer(BenchContext ctx, ScaleSettings s) throws Exception {
        return withCluster(
                dir ->
                        pgAndUpstream(
                                dir,
                                (pg, upstream) ->
                                        oneServer(ctx, s, dir.resolve("one"), pg, upstream)));
    }

    /**
     * The two-servers-behind-HAProxy part alone, on a PostgreSQL cluster of its own (for the
     * end-to-end test).
     *
     * @throws java.io.IOException when haproxy or PostgreSQL is not installed (the message says
     *     what to install)
     */
    public Failover runFailover(BenchContext ctx, ScaleSettings s) throws Exception {
        if (Haproxy.find().isEmpty()) {
            throw new IOException("haproxy is not installed (Debian: apt-get install haproxy)");
        }
        return withCluster(
                dir ->
                        pgAndUpstream(
                                dir,
                                (pg, upstream) ->
                                        failover(ctx, s, dir.resolve("failover"), pg, upstream)));
    }

    private interface InDir<T> {
        T run(Path dir) throws Exception;
    }

    private interface WithPg<T> {
        T run(PostgresCluster pg, Upstream upstream) throws Exception;
    }

    private static <T> T withCluster(InDir<T> body) throws Exception {
        Path dir = Files.createTempDirectory("mithril-bench-scale");
        try {
            return body.run(dir);
        } finally {
            try (Stream<Path> w = Files.walk(dir)) {
                w.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static <T> T pgAndUpstream(Path dir, WithPg<T> body) throws Exception {
        try (PostgresCluster pg = PostgresCluster.start()) {
            return body.run(pg, Upstream.write(dir.resolve("upstream")));
        }
    }

    /** Runs both parts with {@code s} and reports them. */
    public BenchReport run(BenchContext ctx, ScaleSettings s) throws Exception {
        return withCluster(
                dir ->
                        pgAndUpstream(
                                dir,
                                (pg, upstream) -> {
                                    OneServer one =
                                            oneServer(ctx, s, dir.resolve("one"), pg, upstream);
                                    Failover fo = null;
                                    String foSkipped = null;
                                    if (s.failoverAgents() == 0) {
                                        foSkipped = "skipped (-failoverAgents 0)";
                                    } else if (Haproxy.find().isEmpty()) {
                                        foSkipped =
                                                "skipped: haproxy is not installed (Debian: apt-get install haproxy)";
                                        ctx.progress("bench scale: " + foSkipped);
                                    } else {
                                        try {
                                            fo =
                                                    failover(
                                                            ctx,
                                                            s,
                                                            dir.resolve("failover"),
                                                            pg,
                                                            upstream);
                                        } catch (Exception e) {
                                            foSkipped = "FAILED: " + e.getMessage();
                                            ctx.progress(
                                                    "bench scale: the failover run failed: " + e);
                                        }
                                    }
                                    return report(ctx, s, one, fo, foSkipped);
                                }));
    }

    // ------------------------------------------------------------------ pieces

    /**
     * The upstream CA every server mints its intermediate under (as the seed's two clusters share
     * one).
     */
    record Upstream(Path cert, Path key, X509Certificate root) {
        static Upstream write(Path dir) throws IOException {
            Files.createDirectories(dir);
            KeyPair key = KeyType.EC_P256.generate();
            X509Certificate root =
                    new X509Minter(Clock.systemUTC())
                            .selfSignedCa(key, TD, Duration.ofDays(2), null);
            Path cert = dir.resolve("upstream-ca.pem");
            Path k = dir.resolve("upstream-ca.key.pem");
            Pem.writeCertificates(cert, List.of(root));
            Pem.writePrivateKey(k, key.getPrivate());
            return new Upstream(cert, k, root);
        }
    }

    /**
     * Entry creations timed from just before the admin call to the first receipt by the agent that
     * should hold it.
     */
    static final class Propagation implements SimAgent.Receipts {
        private final Map<String, Long> firstReceipt = new ConcurrentHashMap<>();
        private final Map<String, Long> created = new ConcurrentHashMap<>();
        private final Map<String, Integer> expectedAgent = new ConcurrentHashMap<>();
        private final AtomicInteger wrongAgent = new AtomicInteger();

        @Override
        public void received(SimAgent agent, String entryId, X509Certificate leaf, long nanoTime) {
            Integer expected = expectedAgent.get(entryId);
            if (expected != null && expected != agent.index()) {
                wrongAgent.incrementAndGet();
            }
            firstReceipt.putIfAbsent(entryId, nanoTime);
        }

        /** Creates one entry for {@code agent} and starts its clock. */
        String create(AdminClient admin, SimAgent agent, String path) {
            long start = System.nanoTime();
            BatchCreateEntryResponse r =
                    admin.admin()
                            .batchCreateEntry(
                                    BatchCreateEntryRequest.newBuilder()
                                            .addEntries(entry(agent.agentId(), path, 4242))
                                            .build());
            if (r.getResults(0).getStatus().getCode() != 0) {
                throw new IllegalStateException(
                        "creating "
                                + path
                                + " failed: "
                                + r.getResults(0).getStatus().getMessage());
            }
            String id = r.getResults(0).getEntry().getId();
            started(id, agent.index(), start);
            return id;
        }

        /**
         * Starts the clock of entry {@code id}, created at {@code nanoTime} for agent {@code
         * agentIndex}.
         */
        void started(String id, int agentIndex, long nanoTime) {
            expectedAgent.put(id, agentIndex);
            created.put(id, nanoTime);
        }

        /** Nanoseconds from creation to receipt of each created entry received so far. */
        long[] delays() {
            return created.entrySet().stream()
                    .filter(e -> firstReceipt.containsKey(e.getKey()))
                    .mapToLong(e -> firstReceipt.get(e.getKey()) - e.getValue())
                    .toArray();
        }

        int createdCount() {
            return created.size();
        }

        int receivedCount() {
            return (int) created.keySet().stream().filter(firstReceipt::containsKey).count();
        }

        int wrongAgent() {
            return wrongAgent.get();
        }

        /** Whether entry {@code id} was created (timed) for agent {@code agentIndex}. */
        boolean isFor(String id, int agentIndex) {
            Integer a = expectedAgent.get(id);
            return a != null && a == agentIndex;
        }
    }

    static Entry.Builder entry(SpiffeId parent, String path, int uid) {
        return Entry.newBuilder()
                .setSpiffeId(TD.idString() + path)
                .setParentId(parent.toString())
                .addSelectors(Selector.newBuilder().setType("unix").setValue("uid:" + uid));
    }

    /** N join tokens; returns them in order. */
    static List<String> joinTokens(AdminClient admin, int n) {
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(
                    admin.admin()
                            .createJoinToken(
                                    CreateJoinTokenRequest.newBuilder().setTtl(3600).build())
                            .getValue());
        }
        return out;
    }

    /**
     * The agent ID a join token gives (SPIRE's {@code
     * spiffe://<td>/spire/agent/join_token/<token>}).
     */
    static SpiffeId agentIdOf(String token) {
        return TD.spiffeId("/spire/agent/join_token/" + token);
    }

    /**
     * Creates {@code count} entries, entry {@code i} parented by agent {@code i % agents}, 500 per
     * admin call; returns each agent's entry IDs.
     */
    static List<Set<String>> createEntries(
            BenchContext ctx, AdminClient admin, List<String> tokens, int count, String tag) {
        List<Set<String>> byAgent = new ArrayList<>();
        tokens.forEach(t -> byAgent.add(new HashSet<>()));
        for (int from = 0; from < count; from += 500) {
            BatchCreateEntryRequest.Builder b = BatchCreateEntryRequest.newBuilder();
            int to = Math.min(count, from + 500);
            for (int i = from; i < to; i++) {
                int a = i % tokens.size();
                b.addEntries(
                        entry(
                                agentIdOf(tokens.get(a)),
                                "/" + tag + "/a" + a + "/w" + i,
                                1000 + i / tokens.size()));
            }
            BatchCreateEntryResponse r = admin.admin().batchCreateEntry(b.build());
            for (int i = from; i < to; i++) {
                BatchCreateEntryResponse.Result res = r.getResults(i - from);
                if (res.getStatus().getCode() != 0) {
                    throw new IllegalStateException(
                            "creating entry " + i + " failed: " + res.getStatus().getMessage());
                }
                byAgent.get(i % tokens.size()).add(res.getEntry().getId());
            }
            if (to % 10_000 == 0) {
                ctx.progress("bench scale:   " + to + " / " + count + " entries");
            }
        }
        return byAgent;
    }

    /** What attesting every agent at once took. */
    public record Storm(int attested, int failed, double seconds, String firstError) {}

    /**
     * Attests every agent at once, {@code threads} at a time, each with its own token; a progress
     * line every 10 s.
     */
    static Storm attestAll(
            BenchContext ctx, List<SimAgent> agents, List<String> tokens, int threads)
            throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        long start = System.nanoTime();
        AtomicInteger finished = new AtomicInteger();
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < agents.size(); i++) {
            SimAgent a = agents.get(i);
            String token = tokens.get(i);
            futures.add(
                    pool.submit(
                            () -> {
                                try {
                                    a.attest(token);
                                } finally {
                                    finished.incrementAndGet();
                                }
                                return null;
                            }));
        }
        int ok = 0;
        String firstError = null;
        long nextReport = start + TimeUnit.SECONDS.toNanos(10);
        for (Future<?> f : futures) {
            while (!f.isDone()) {
                Thread.sleep(20);
                if (System.nanoTime() >= nextReport) {
                    ctx.progress(
                            String.format(
                                    Locale.ROOT,
                                    "bench scale:   %d of %d agents attested after %.0f s",
                                    finished.get(),
                                    agents.size(),
                                    (System.nanoTime() - start) / 1e9));
                    nextReport += TimeUnit.SECONDS.toNanos(10);
                }
            }
            try {
                f.get();
                ok++;
            } catch (java.util.concurrent.ExecutionException e) {
                if (firstError == null) {
                    firstError = String.valueOf(e.getCause().getMessage());
                }
            }
        }
        pool.shutdown();
        return new Storm(ok, agents.size() - ok, (System.nanoTime() - start) / 1e9, firstError);
    }

    /**
     * Waits until every agent holds a valid SVID for each of its entries; returns the seconds it
     * took, or -1 at the deadline.
     */
    static double awaitAllHeld(
            BenchContext ctx,
            Fleet fleet,
            List<Set<String>> expected,
            Duration timeout,
            String what)
            throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        long nextReport = start + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            Instant now = Instant.now();
            long dead =
                    fleet.agents().stream()
                            .filter(
                                    a ->
                                            !a.agentSvid()
                                                    .get(0)
                                                    .getNotAfter()
                                                    .toInstant()
                                                    .isAfter(now))
                            .count();
            if (dead > 0) {
                throw new IllegalStateException(
                        dead
                                + " agents' own SVIDs expired before they could renew them (the machine is too"
                                + " loaded for this many agents, or the server refused renewals); last sync error: "
                                + fleet.lastError());
            }
            int missing = missing(fleet, expected, now);
            if (missing == 0) {
                return (System.nanoTime() - start) / 1e9;
            }
            if (System.nanoTime() > nextReport) {
                ctx.progress(
                        "bench scale:   "
                                + what
                                + ": "
                                + missing
                                + " agents still without all their SVIDs; "
                                + fleet.totals().svidsReceived()
                                + " SVIDs received"
                                + (fleet.lastError().isEmpty()
                                        ? ""
                                        : "; last error " + fleet.lastError()));
                nextReport = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            }
            Thread.sleep(200);
        }
        return -1;
    }

    /**
     * Agents that lack a valid agent SVID or a valid SVID for one of their expected entries at
     * {@code now}.
     */
    static int missing(Fleet fleet, List<Set<String>> expected, Instant now) {
        int n = 0;
        for (SimAgent a : fleet.agents()) {
            if (!a.holdsValidSvids(now, expected.get(a.index()))) {
                n++;
            }
        }
        return n;
    }

    // ------------------------------------------------------------------ part 1: one server

    /** CPU time of the bench's own process (the simulated agents, PostgreSQL excluded). */
    static long benchCpuNanos() {
        return ProcessHandle.current()
                .info()
                .totalCpuDuration()
                .map(java.time.Duration::toNanos)
                .orElse(0L);
    }

    /** The one-server run's figures. */
    public record OneServer(
            int agents,
            int entries,
            Storm storm,
            double stormServerCpuSeconds,
            double stormBenchCpuSeconds,
            long indexRebuildsInWindow,
            double initialSeconds,
            double windowSeconds,
            Fleet.Totals window,
            Latencies sync,
            long x509SignedInWindow,
            double serverCpuCores,
            long serverRssKb,
            long serverRssMaxKb,
            long statements,
            long transactions,
            Map<String, Long> topStatements,
            Latencies propagation,
            int probesCreated,
            int probesReceived,
            int wrongAgent,
            int distinctSerials,
            int heldSvids,
            int distinctAgentIds,
            boolean everyAgentHoldsExactlyItsEntries) {}

    OneServer oneServer(
            BenchContext ctx, ScaleSettings s, Path dir, PostgresCluster pg, Upstream upstream)
            throws Exception {
        String db = "mithril_scale";
        String url = pg.createDatabase(db);
        ctx.progress(
                "bench scale: one server on PostgreSQL, "
                        + s.agents()
                        + " agents, "
                        + s.entries()
                        + " entries, sync every "
                        + s.syncInterval().toMillis() / 1000.0
                        + " s, SVID TTL "
                        + s.svidTtl().toSeconds()
                        + " s");
        try (ServerProcess server =
                        ServerProcess.start(
                                "the identity server",
                                dir.resolve("server"),
                                url,
                                upstream.cert(),
                                upstream.key(),
                                s.svidTtl());
                AdminClient admin = AdminClient.connect(server.adminSocket())) {
            List<String> tokens = joinTokens(admin, s.agents());
            ctx.progress("bench scale: creating " + s.entries() + " entries");
            List<Set<String>> expected = createEntries(ctx, admin, tokens, s.entries(), "scale");
            List<SimAgent> agents = new ArrayList<>();
            for (int i = 0; i < s.agents(); i++) {
                agents.add(
                        new SimAgent(
                                i,
                                server.agentApi(),
                                TD,
                                List.of(upstream.root()),
                                Clock.systemUTC()));
            }
            ctx.progress(
                    "bench scale: attesting " + s.agents() + " agents at once (a cluster restart)");
            long stormTicks0 = server.cpuTicks();
            long stormBench0 = benchCpuNanos();
            Storm storm = attestAll(ctx, agents, tokens, 32);
            double stormServerCpu =
                    (server.cpuTicks() - stormTicks0) / (double) ChildJvm.clockTicksPerSecond();
            double stormBenchCpu = (benchCpuNanos() - stormBench0) / 1e9;
            ctx.progress(
                    String.format(
                            Locale.ROOT,
                            "bench scale:   %d attested, %d failed, in %.1f s",
                            storm.attested(),
                            storm.failed(),
                            storm.seconds()));
            if (storm.failed() > 0) {
                throw new IllegalStateException(
                        storm.failed()
                                + " of "
                                + s.agents()
                                + " agents failed to attest; first error: "
                                + storm.firstError());
            }
            Propagation propagation = new Propagation();
            try (Fleet fleet =
                    new Fleet(agents, s.syncInterval(), syncThreads(agents.size()), propagation)) {
                fleet.start();
                ctx.progress(
                        "bench scale: agents syncing; waiting until each holds the SVIDs of its entries");
                double initial =
                        awaitAllHeld(ctx, fleet, expected, Duration.ofMinutes(10), "initial sync");
                if (initial < 0) {
                    throw new IllegalStateException(
                            "agents did not get all their SVIDs within 10 minutes: "
                                    + missing(fleet, expected, Instant.now())
                                    + " still missing; last error "
                                    + fleet.lastError());
                }
                ctx.progress(
                        String.format(
                                Locale.ROOT,
                                "bench scale:   all %d SVIDs held after %.1f s; measuring %d s",
                                s.entries(),
                                initial,
                                s.window().toSeconds()));
                // the measured window
                long ticks0 = server.cpuTicks();
                long signed0 = server.x509SvidsSigned();
                long rebuilds0 = server.indexRebuilds();
                PostgresCluster.Counters pg0 = pg.counters(db);
                Fleet.Totals t0 = fleet.totals();
                fleet.recordLatencies(true);
                long start = System.nanoTime();
                long rssMax = 0;
                Random random = new Random(42);
                long probeEvery = s.window().toNanos() / s.probes();
                int probes = 0;
                while (System.nanoTime() - start < s.window().toNanos()) {
                    if (probes < s.probes() && System.nanoTime() - start >= probes * probeEvery) {
                        SimAgent a = agents.get(random.nextInt(agents.size()));
                        propagation.create(admin, a, "/scale/new/" + probes);
                        probes++;
                    }
                    rssMax = Math.max(rssMax, server.rssKb());
                    Thread.sleep(Math.min(100, Math.max(1, probeEvery / 1_000_000)));
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                fleet.recordLatencies(false);
                Fleet.Totals window = fleet.totals().minus(t0);
                PostgresCluster.Counters pg1 = pg.counters(db);
                long signed = server.x509SvidsSigned() - signed0;
                long rebuilds = server.indexRebuilds() - rebuilds0;
                double cores =
                        (server.cpuTicks() - ticks0)
                                / (double) ChildJvm.clockTicksPerSecond()
                                / seconds;
                long rss = server.rssKb();
                // the last probes: give them up to three intervals
                long deadline = System.nanoTime() + s.syncInterval().multipliedBy(3).toNanos();
                while (propagation.receivedCount() < propagation.createdCount()
                        && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                Set<String> serials = new HashSet<>();
                Set<SpiffeId> agentIds = new HashSet<>();
                int held = 0;
                boolean exact = true;
                for (SimAgent a : agents) {
                    agentIds.add(a.agentId());
                    Map<String, SimAgent.Held> h = a.held();
                    // its own entries, plus the probes created for it; nothing of another agent's
                    exact &=
                            h.keySet().containsAll(expected.get(a.index()))
                                    && h.keySet().stream()
                                            .allMatch(
                                                    id ->
                                                            expected.get(a.index()).contains(id)
                                                                    || propagation.isFor(
                                                                            id, a.index()));
                    for (SimAgent.Held x : h.values()) {
                        serials.add(x.leaf().getSerialNumber().toString(16));
                        held++;
                    }
                }
                long[] delays = propagation.delays();
                return new OneServer(
                        s.agents(),
                        s.entries(),
                        storm,
                        stormServerCpu,
                        stormBenchCpu,
                        rebuilds,
                        initial,
                        seconds,
                        window,
                        Latencies.ofNanos(fleet.latencies()),
                        signed,
                        cores,
                        rss,
                        Math.max(rss, rssMax),
                        pg1.statements() - pg0.statements(),
                        pg1.transactions() - pg0.transactions(),
                        pg1.since(pg0),
                        delays.length == 0 ? null : Latencies.ofNanos(delays),
                        propagation.createdCount(),
                        propagation.receivedCount(),
                        propagation.wrongAgent(),
                        serials.size(),
                        held,
                        agentIds.size(),
                        exact);
            }
        }
    }

    // ------------------------------------------------------------------ part 2: two servers behind
    // HAProxy

    /** The failover run's figures. */
    public record Failover(
            int agents,
            int entries,
            double initialSeconds,
            int maxWithoutValidSvid,
            int samples,
            double killToAllResyncedSeconds,
            int notResynced,
            int outageEntriesCreated,
            int outageEntriesReceived,
            Latencies outagePropagation,
            boolean x509AuthoritiesAgreeBefore,
            boolean x509AuthoritiesAgreeAfter,
            boolean jwtKeysAgreeAfter,
            long syncFailures,
            String killed) {}

    Failover failover(
            BenchContext ctx, ScaleSettings s, Path dir, PostgresCluster pg, Upstream upstream)
            throws Exception {
        int n = s.failoverAgents();
        int entries = n * ENTRIES_PER_FAILOVER_AGENT;
        String url = pg.createDatabase("mithril_failover");
        ctx.progress(
                "bench scale: two servers on one PostgreSQL behind HAProxy, "
                        + n
                        + " agents, "
                        + entries
                        + " entries");
        try (ServerProcess s1 =
                        ServerProcess.start(
                                "identity server 1",
                                dir.resolve("s1"),
                                url,
                                upstream.cert(),
                                upstream.key(),
                                s.svidTtl());
                ServerProcess s2 =
                        ServerProcess.start(
                                "identity server 2",
                                dir.resolve("s2"),
                                url,
                                upstream.cert(),
                                upstream.key(),
                                s.svidTtl());
                Haproxy lb = Haproxy.start(dir, List.of(s1.agentApi(), s2.agentApi()));
                AdminClient admin = AdminClient.connect(s2.adminSocket())) {
            List<String> tokens = joinTokens(admin, n);
            List<Set<String>> expected = createEntries(ctx, admin, tokens, entries, "failover");
            List<SimAgent> agents = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                agents.add(
                        new SimAgent(
                                i, lb.address(), TD, List.of(upstream.root()), Clock.systemUTC()));
            }
            Storm storm = attestAll(ctx, agents, tokens, 16);
            if (storm.failed() > 0) {
                throw new IllegalStateException(
                        storm.failed()
                                + " of "
                                + n
                                + " agents failed to attest through HAProxy; first error: "
                                + storm.firstError());
            }
            Propagation propagation = new Propagation();
            try (Fleet fleet =
                    new Fleet(agents, s.syncInterval(), syncThreads(agents.size()), propagation)) {
                fleet.start();
                double initial =
                        awaitAllHeld(
                                ctx,
                                fleet,
                                expected,
                                Duration.ofMinutes(5),
                                "failover initial sync");
                if (initial < 0) {
                    throw new IllegalStateException(
                            "agents behind HAProxy did not get all their SVIDs within 5 minutes; last error "
                                    + fleet.lastError());
                }
                boolean x509Before = sameX509(s1.bundle(), s2.bundle());
                // sample "agents without a valid SVID" every 100 ms from now on
                AtomicInteger maxMissing = new AtomicInteger();
                AtomicInteger samples = new AtomicInteger();
                Thread monitor =
                        new Thread(
                                () -> {
                                    while (!Thread.currentThread().isInterrupted()) {
                                        maxMissing.accumulateAndGet(
                                                missing(fleet, expected, Instant.now()), Math::max);
                                        samples.incrementAndGet();
                                        try {
                                            Thread.sleep(100);
                                        } catch (InterruptedException e) {
                                            return;
                                        }
                                    }
                                },
                                "scale-validity-monitor");
                monitor.setDaemon(true);
                monitor.start();
                long failures0 = fleet.totals().syncFailures();
                Thread.sleep(s.syncInterval().multipliedBy(2).toMillis());
                ctx.progress("bench scale: kill -9 " + s1.name() + " (pid " + s1.pid() + ")");
                s1.kill();
                long killedAt = System.nanoTime();
                // entries created during the outage, through the surviving server
                int outage = Math.max(1, Math.min(20, n));
                Random random = new Random(7);
                for (int i = 0; i < outage; i++) {
                    propagation.create(
                            admin, agents.get(random.nextInt(n)), "/failover/outage/" + i);
                }
                // wait for every agent's first good sync after the kill, and the outage entries, up
                // to six intervals
                long deadline = killedAt + s.syncInterval().multipliedBy(6).toNanos();
                long[] last;
                while (true) {
                    last = fleet.lastSyncOk();
                    boolean all = java.util.Arrays.stream(last).allMatch(t -> t > killedAt);
                    if ((all && propagation.receivedCount() == outage)
                            || System.nanoTime() > deadline) {
                        break;
                    }
                    Thread.sleep(50);
                }
                int notResynced =
                        (int) java.util.Arrays.stream(last).filter(t -> t <= killedAt).count();
                double resync =
                        java.util.Arrays.stream(last).map(t -> t - killedAt).max().orElse(0) / 1e9;
                // keep running one more interval to catch an agent losing an SVID after resyncing
                Thread.sleep(s.syncInterval().toMillis());
                monitor.interrupt();
                monitor.join();
                long syncFailures = fleet.totals().syncFailures() - failures0;
                ctx.progress(
                        "bench scale: restarting "
                                + s1.name()
                                + " from the same server.conf to compare bundles");
                s1.startAgain();
                Bundle b1 = s1.bundle();
                Bundle b2 = s2.bundle();
                long[] delays = propagation.delays();
                return new Failover(
                        n,
                        entries,
                        initial,
                        maxMissing.get(),
                        samples.get(),
                        resync,
                        notResynced,
                        outage,
                        propagation.receivedCount(),
                        delays.length == 0 ? null : Latencies.ofNanos(delays),
                        x509Before,
                        sameX509(b1, b2),
                        jwtKeyIds(b1).equals(jwtKeyIds(b2)),
                        syncFailures,
                        s1.name());
            }
        }
    }

    static boolean sameX509(Bundle a, Bundle b) {
        return new HashSet<>(a.getX509AuthoritiesList())
                .equals(new HashSet<>(b.getX509AuthoritiesList()));
    }

    static Set<String> jwtKeyIds(Bundle b) {
        return b.getJwtAuthoritiesList().stream().map(JwtKey::getKeyId).collect(Collectors.toSet());
    }

    // ------------------------------------------------------------------ the report

    static String f1(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static BenchReport report(
            BenchContext ctx, ScaleSettings s, OneServer o, Failover f, String foSkipped) {
        BenchReport r =
                new BenchReport(
                        "scale",
                        "bench scale: "
                                + o.agents()
                                + " agents, "
                                + o.entries()
                                + " entries on one identity server (PostgreSQL); two servers behind HAProxy",
                        ctx.machine(),
                        List.of(
                                "what",
                                "Mithril (this run)",
                                "target (issue 21, at 5,000 agents)",
                                "SPIRE, published"),
                        1);
        double w = o.windowSeconds();
        r.row(
                List.of(
                        "agents attesting at once (" + o.agents() + ", 32 at a time)",
                        o.storm().attested()
                                + " of "
                                + o.agents()
                                + " in "
                                + f1(o.storm().seconds())
                                + " s; CPU per attestation: server "
                                + f1(o.stormServerCpuSeconds() * 1000 / o.agents())
                                + " ms, simulated agents "
                                + f1(o.stormBenchCpuSeconds() * 1000 / o.agents())
                                + " ms",
                        "all within 30 s",
                        "n/a"));
        r.row(
                List.of(
                        "initial sync: every agent holds all its SVIDs",
                        f1(o.initialSeconds()) + " s for " + o.entries() + " SVIDs",
                        "",
                        "n/a"));
        r.row(
                List.of(
                        "sync calls/s (steady state)",
                        f1(o.window().syncs() / w)
                                + " syncs/s, "
                                + f1(o.window().calls() / w)
                                + " agent API calls/s",
                        "",
                        "n/a"));
        r.row(List.of("sync p50 ms", Latencies.ms(o.sync().p50()), "", "not published"));
        r.row(List.of("sync p99 ms", Latencies.ms(o.sync().p99()), "<= 100", "not published"));
        r.row(
                List.of(
                        "failed syncs in the window",
                        String.valueOf(o.window().syncFailures()),
                        "",
                        "n/a"));
        r.row(
                List.of(
                        "authorised-entries index rebuilds in the window",
                        String.valueOf(o.indexRebuildsInWindow()),
                        "",
                        "n/a"));
        r.row(
                List.of(
                        "X.509-SVIDs signed/s (renewals and new entries)",
                        f1(o.x509SignedInWindow() / w)
                                + " (server counter; agents received "
                                + f1(o.window().svidsReceived() / w)
                                + ")",
                        "",
                        "n/a"));
        r.row(
                List.of(
                        "server CPU",
                        String.format(Locale.ROOT, "%.2f cores", o.serverCpuCores()),
                        "",
                        "4 servers x 16 CPUs for 10,000 workloads" + " (scaling guide)"));
        r.row(
                List.of(
                        "server resident memory",
                        (o.serverRssKb() / 1024)
                                + " MiB (max "
                                + (o.serverRssMaxKb() / 1024)
                                + " MiB)",
                        "<= 1 GB",
                        "n/a"));
        r.row(
                List.of(
                        "PostgreSQL queries/s (steady state)",
                        f1(o.statements() / w)
                                + " statements/s ("
                                + f1(o.transactions() / w)
                                + " transactions/s)",
                        "<= 100",
                        "~47,000 MySQL queries/s at ~3,500 agents, 31,000 workloads (spiffe/spire#1351);"
                                + " 600 bundle queries/s at 3,000 agents (#1342)"));
        r.row(
                List.of(
                        "new entry to its agent, p50 / p99 ("
                                + o.probesReceived()
                                + " of "
                                + o.probesCreated()
                                + " entries)",
                        o.propagation() == null
                                ? "none received"
                                : f1(o.propagation().p50() / 1000)
                                        + " s / "
                                        + f1(o.propagation().p99() / 1000)
                                        + " s",
                        "p99 <= 2 sync intervals (" + 2 * s.syncInterval().toSeconds() + " s)",
                        "30-60 s (spiffe/spire#2593)"));
        if (f != null) {
            r.row(
                    List.of(
                            "agents without a valid SVID during failover",
                            f.maxWithoutValidSvid()
                                    + " of "
                                    + f.agents()
                                    + " (max over "
                                    + f.samples()
                                    + " samples, 100 ms apart)",
                            "0",
                            "n/a"));
            r.row(
                    List.of(
                            "failover: kill -9 to every agent synced again",
                            f1(f.killToAllResyncedSeconds())
                                    + " s"
                                    + (f.notResynced() > 0
                                            ? " (" + f.notResynced() + " agents had not)"
                                            : "")
                                    + "; "
                                    + f.syncFailures()
                                    + " failed syncs",
                            "<= 2 sync intervals (" + 2 * s.syncInterval().toSeconds() + " s)",
                            "n/a"));
            r.row(
                    List.of(
                            "failover: entries created during the outage reached their agents",
                            f.outageEntriesReceived()
                                    + " of "
                                    + f.outageEntriesCreated()
                                    + (f.outagePropagation() == null
                                            ? ""
                                            : ", p99 "
                                                    + f1(f.outagePropagation().p99() / 1000)
                                                    + " s"),
                            "all",
                            "n/a"));
            r.row(
                    List.of(
                            "failover: both servers' bundles agree",
                            "X.509 roots "
                                    + (f.x509AuthoritiesAgreeBefore()
                                                    && f.x509AuthoritiesAgreeAfter()
                                            ? "yes"
                                            : "NO")
                                    + "; JWT keys "
                                    + (f.jwtKeysAgreeAfter() ? "yes" : "no"),
                            "yes",
                            "n/a"));
        } else {
            r.row(List.of("agents without a valid SVID during failover", foSkipped, "0", "n/a"));
        }
        r.note(
                "One identity server ("
                        + ScaleServerMain.class.getSimpleName()
                        + ", a JVM of its own started from a SPIRE-style server.conf:"
                        + " PostgreSQL datastore, join_token attestor, disk upstream CA) and "
                        + o.agents()
                        + " simulated agents in the bench's JVM, each"
                        + " a real agent-API client (mTLS with its own agent SVID from its own join token), syncing every "
                        + s.syncInterval().toMillis() / 1000.0
                        + " s from a random start (FetchBundles, GetAuthorizedEntries, BatchNewX509SVID when"
                        + " an SVID is missing or due). X.509-SVID TTL is "
                        + s.svidTtl().toSeconds()
                        + " s (twice the window: each is renewed"
                        + " about once in it, at 40-60% of its life), the agent SVID TTL "
                        + ServerProcess.agentTtl(s.svidTtl()).toSeconds()
                        + " s. Measured over "
                        + f1(w)
                        + " s of steady state after the initial sync; "
                        + o.probesCreated()
                        + " new entries were"
                        + " created during it, timed from the admin call to the SVID's arrival at its agent. The bench itself (agents, "
                        + "PostgreSQL, HAProxy) runs on the same cores as the server.");
        r.note(
                "At the end: "
                        + o.distinctAgentIds()
                        + " distinct agent IDs; "
                        + o.heldSvids()
                        + " X.509-SVIDs held, "
                        + o.distinctSerials()
                        + " distinct serials; every agent holds exactly its own entries' SVIDs: "
                        + (o.everyAgentHoldsExactlyItsEntries() ? "yes" : "NO")
                        + "; SVIDs of a timed entry received by another agent: "
                        + o.wrongAgent()
                        + ".");
        StringBuilder top =
                new StringBuilder(
                        "Statements PostgreSQL ran in the window (pg_stat_statements, most calls first):");
        o.topStatements().entrySet().stream()
                .limit(6)
                .forEach(
                        e ->
                                top.append(" ")
                                        .append(e.getValue())
                                        .append(" x `")
                                        .append(
                                                e.getKey()
                                                        .replaceAll("\\s+", " ")
                                                        .replace("`", "'"))
                                        .append("`;"));
        r.note(top.toString());
        if (f != null) {
            r.note(
                    "Failover: two servers on one PostgreSQL database behind HAProxy (mode tcp, round robin, TCP health check every 500 ms,"
                            + " option redispatch), "
                            + f.agents()
                            + " agents with "
                            + f.entries()
                            + " entries through HAProxy; "
                            + f.killed()
                            + " was killed with SIGKILL two sync intervals after every agent held its SVIDs, "
                            + f.outageEntriesCreated()
                            + " entries were created through the other right after. \"Synced again\" is each agent's"
                            + " first successful sync that ended after the kill (those connected to the surviving server included). Bundles were"
                            + " compared (admin GetBundle) before the kill and after restarting the killed server from the same server.conf.");
        }
        r.note(
                "SPIRE's figures are as reported by its users and its scaling guide, on other hardware and other databases (cited in issue 21):"
                        + " they show where SPIRE's load lands (the datastore), not a like-for-like race.");
        return r;
    }
}
