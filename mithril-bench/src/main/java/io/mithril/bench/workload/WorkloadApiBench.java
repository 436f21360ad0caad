package io.mithril.bench.workload;

import io.mithril.agent.Agent;
import io.mithril.agent.cache.SvidCache;
import io.mithril.agent.config.AgentConfig;
import io.mithril.api.selector.Selector;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.api.workload.client.WorkloadApiException;
import io.mithril.api.workload.client.X509Context;
import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchOptions;
import io.mithril.bench.BenchReport;
import io.mithril.bench.BenchSuite;
import io.mithril.bench.Latencies;
import io.mithril.bench.Spread;
import io.mithril.server.IdentityServer;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * Suite {@code workload-api}: a real identity server and agent in this JVM (as the agent's
 * integration tests run them), the Workload API on a Unix socket in a temp dir.
 *
 * <ul>
 *   <li>FetchX509SVID latency (one call = one unary-style fetch of the first response) from
 *       Mithril's {@code WorkloadApiClient} and from the SPIFFE project's {@code
 *       DefaultWorkloadApiClient} (java-spiffe-core), each over its own connection;
 *   <li>the time for one rotation (a new SVID: a new registration entry for the same workload) to
 *       reach {@value #STREAMS} open FetchX509SVID streams, from the moment the agent's cache holds
 *       it, and from the moment the entry was created on the server.
 * </ul>
 */
public final class WorkloadApiBench implements BenchSuite {

    static final int STREAMS = 1000;
    static final int STREAMS_PER_CONNECTION = 100;
    private static final TrustDomain TD = TrustDomain.parse("example.org");
    private static final Duration SYNC_INTERVAL = Duration.ofMillis(200);

    @Override
    public String name() {
        return "workload-api";
    }

    @Override
    public String description() {
        return "Workload API over the agent's Unix socket: X.509 fetch p50/p99 (Mithril and java-spiffe clients), one rotation to "
                + STREAMS
                + " open streams; beside SPIRE's agent with the go-spiffe client";
    }

    @FunctionalInterface
    interface Fetch {
        void once() throws Exception;
    }

    @Override
    public BenchReport run(BenchContext ctx) throws Exception {
        Path dir = Files.createTempDirectory("mithril-bench-workload");
        IdentityServer server = null;
        Agent agent = null;
        try {
            server =
                    IdentityServer.start(
                            ServerConfig.builder(TD, dir.resolve("server"))
                                    .bindAddress("127.0.0.1")
                                    .bindPort(0)
                                    .socketPath(dir.resolve("server/admin.sock"))
                                    .build());
            Path bundle = dir.resolve("bundle.pem");
            Files.writeString(bundle, server.bundle().toPem());
            SpiffeId node = SpiffeId.parse("spiffe://example.org/node");
            String token = server.generateJoinToken(Duration.ofMinutes(10), node);
            server.createEntry(
                    RegistrationEntry.of(
                            SpiffeId.parse("spiffe://example.org/bench/workload-0"),
                            node,
                            List.of(io.mithril.api.selector.Selector.parse("unix:uid:" + uid()))));
            Path socket = Files.createDirectories(dir.resolve("sock")).resolve("api.sock");
            agent =
                    Agent.start(
                            AgentConfig.of(
                                            TD,
                                            dir.resolve("agent"),
                                            "127.0.0.1",
                                            server.agentApiAddress().getPort(),
                                            socket,
                                            bundle,
                                            token)
                                    .withSyncInterval(SYNC_INTERVAL));
            awaitFirstSvid(socket);

            BenchOptions o = ctx.options();
            List<Latencies> ours = new ArrayList<>();
            List<Latencies> theirs = new ArrayList<>();
            try (WorkloadApiClient mithril = WorkloadApiClient.connect("unix://" + socket);
                    io.spiffe.workloadapi.WorkloadApiClient spiffe =
                            DefaultWorkloadApiClient.newClient(
                                    DefaultWorkloadApiClient.ClientOptions.builder()
                                            .spiffeSocketPath("unix:" + socket)
                                            .build())) {
                Fetch ourFetch = () -> mithril.fetchX509Context(Duration.ofSeconds(10));
                Fetch theirFetch = spiffe::fetchX509Context;
                ctx.progress(
                        "bench workload-api: warm-up " + o.warmup().toSeconds() + " s per client");
                measure(ourFetch, o.warmup());
                measure(theirFetch, o.warmup());
                for (int r = 0; r < o.runs(); r++) {
                    // Alternate the clients run by run so a change in the machine's load hits both.
                    ours.add(measure(ourFetch, o.runTime()));
                    theirs.add(measure(theirFetch, o.runTime()));
                    ctx.progress(
                            "bench workload-api: run "
                                    + (r + 1)
                                    + "/"
                                    + o.runs()
                                    + ": Mithril p50 "
                                    + Latencies.ms(ours.get(r).p50())
                                    + " ms, java-spiffe p50 "
                                    + Latencies.ms(theirs.get(r).p50())
                                    + " ms");
                }
            }

            int rounds = Math.min(3, o.runs());
            ctx.progress("bench workload-api: opening " + STREAMS + " FetchX509SVID streams");
            List<Rotation> rotations = rotations(ctx, server, agent, socket, node, rounds);

            BenchReport report =
                    new BenchReport(
                            name(),
                            "bench workload-api: X.509-SVID over the agent's Unix socket",
                            ctx.machine(),
                            List.of("What", "Mithril", "peer", "Mithril / peer"));
            Spread ours50 = Spread.of(ours.stream().map(Latencies::p50).toList());
            Spread theirs50 = Spread.of(theirs.stream().map(Latencies::p50).toList());
            Spread ours99 = Spread.of(ours.stream().map(Latencies::p99).toList());
            Spread theirs99 = Spread.of(theirs.stream().map(Latencies::p99).toList());
            Spread oursRate =
                    Spread.of(
                            ours.stream()
                                    .map(l -> l.count() / (double) o.runTime().toNanos() * 1e9)
                                    .toList());
            Spread theirsRate =
                    Spread.of(
                            theirs.stream()
                                    .map(l -> l.count() / (double) o.runTime().toNanos() * 1e9)
                                    .toList());
            report.row(
                    List.of(
                            "FetchX509SVID p50 ms: Mithril client vs java-spiffe client",
                            ours50.format(3),
                            theirs50.format(3),
                            BenchReport.ratio(ours50.median() / theirs50.median())));
            report.row(
                    List.of(
                            "FetchX509SVID p99 ms: Mithril client vs java-spiffe client",
                            ours99.format(3),
                            theirs99.format(3),
                            BenchReport.ratio(ours99.median() / theirs99.median())));
            report.row(
                    List.of(
                            "fetches/s (one caller): Mithril client vs java-spiffe client",
                            oursRate.format(0),
                            theirsRate.format(0),
                            BenchReport.ratio(oursRate.median() / theirsRate.median())));
            Spread fanOut = Spread.of(rotations.stream().map(Rotation::cacheToLastMs).toList());
            Spread fanOut50 = Spread.of(rotations.stream().map(Rotation::cacheToMedianMs).toList());
            Spread fromEntry = Spread.of(rotations.stream().map(Rotation::entryToLastMs).toList());
            report.row(
                    List.of(
                            "rotation: agent cache -> all " + STREAMS + " streams, ms",
                            fanOut.format(1),
                            "-",
                            "-"));
            report.row(
                    List.of(
                            "rotation: agent cache -> half of the streams, ms",
                            fanOut50.format(1),
                            "-",
                            "-"));
            report.row(
                    List.of(
                            "rotation: entry created -> all " + STREAMS + " streams, ms",
                            fromEntry.format(1),
                            "-",
                            "-"));
            report.note(
                    "Identity server and agent in the bench's JVM (as the agent's integration tests run them), the caller in the same JVM "
                            + "over the Unix socket. Fetch latency: "
                            + o.runs()
                            + " runs of "
                            + o.runTime().toMillis()
                            + " ms per client, "
                            + "one caller, one connection per client, clients alternating run by run; median (min-max) over the runs. "
                            + "java-spiffe is io.spiffe:java-spiffe-core's DefaultWorkloadApiClient.fetchX509Context().");
            report.note(
                    "Rotation: "
                            + STREAMS
                            + " streams opened with Mithril's client ("
                            + STREAMS_PER_CONNECTION
                            + " per connection), each parsing every response; one rotation = a new registration entry for the same workload, "
                            + "so every stream gets one more SVID; "
                            + rounds
                            + " rotations, median (min-max). \"agent cache\" is when the "
                            + "agent's cache published the new SVID (the earlier of a probe subscriber on the cache and the first stream); \"entry created\" adds the agent's sync interval ("
                            + SYNC_INTERVAL.toMillis()
                            + " ms here) and the signing. The peer has no figure for this: nothing is printed in its column.");
            // The same run, beside SPIRE's server and agent (the Go harness of interop/go/).
            io.mithril.bench.spire.SpireWorkloadRows.add(ctx, report);
            report.note(
                    "The machine is shared with other engineers' builds and tests: figures are noisy; compare within one run.");
            return report;
        } finally {
            if (agent != null) {
                agent.close();
            }
            if (server != null) {
                server.close();
            }
            delete(dir);
        }
    }

    private static Latencies measure(Fetch fetch, Duration length) throws Exception {
        long[] samples = new long[1 << 16];
        int n = 0;
        long end = System.nanoTime() + length.toNanos();
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            fetch.once();
            long dt = System.nanoTime() - t0;
            if (n == samples.length) {
                samples = Arrays.copyOf(samples, n * 2);
            }
            samples[n++] = dt;
        }
        return Latencies.ofNanos(Arrays.copyOf(samples, Math.max(n, 1)));
    }

    /** One rotation: times in ms. */
    record Rotation(double cacheToLastMs, double cacheToMedianMs, double entryToLastMs) {}

    private static List<Rotation> rotations(
            BenchContext ctx,
            IdentityServer server,
            Agent agent,
            Path socket,
            SpiffeId node,
            int rounds)
            throws Exception {
        // What each stream has seen: the number of SVIDs in its last update, and when it first saw
        // `expected`.
        int[] seen = new int[STREAMS];
        long[] arrival = new long[STREAMS];
        AtomicReference<CountDownLatch> latch = new AtomicReference<>(new CountDownLatch(STREAMS));
        int[] expected = {1};
        AtomicReference<WorkloadApiException> failure = new AtomicReference<>();
        AtomicLong cacheAt = new AtomicLong();
        List<WorkloadApiClient> clients = new ArrayList<>();
        List<Closeable> streams = new ArrayList<>();
        // Subscribed before the streams, so the cache notifies this one first.
        SvidCache.Subscription probe =
                agent.cache()
                        .subscribe(
                                Set.of(Selector.parse("unix:uid:" + uid())),
                                u -> {
                                    if (u.identities().size() == expected[0]
                                            && cacheAt.get() == 0) {
                                        cacheAt.set(System.nanoTime());
                                    }
                                });
        try {
            for (int i = 0; i < STREAMS; i++) {
                if (i % STREAMS_PER_CONNECTION == 0) {
                    clients.add(WorkloadApiClient.connect("unix://" + socket));
                }
                int idx = i;
                streams.add(
                        clients.get(clients.size() - 1)
                                .watchX509Context(
                                        new WorkloadApiClient.Watcher<>() {
                                            @Override
                                            public void onUpdate(X509Context u) {
                                                long now = System.nanoTime();
                                                synchronized (seen) {
                                                    if (u.svids().size() >= expected[0]
                                                            && seen[idx] < expected[0]) {
                                                        arrival[idx] = now;
                                                        latch.get().countDown();
                                                    }
                                                    seen[idx] = u.svids().size();
                                                }
                                            }

                                            @Override
                                            public void onError(WorkloadApiException e) {
                                                failure.compareAndSet(null, e);
                                            }
                                        }));
            }
            await(latch.get(), failure, "the first update on " + STREAMS + " streams");
            List<Rotation> out = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                synchronized (seen) {
                    expected[0]++;
                    latch.set(new CountDownLatch(STREAMS));
                    cacheAt.set(0);
                }
                long created = System.nanoTime();
                server.createEntry(
                        RegistrationEntry.of(
                                SpiffeId.parse(
                                        "spiffe://example.org/bench/workload-" + expected[0]),
                                node,
                                List.of(
                                        io.mithril.api.selector.Selector.parse(
                                                "unix:uid:" + uid()))));
                await(latch.get(), failure, "rotation " + (r + 1) + " on " + STREAMS + " streams");
                long[] times;
                synchronized (seen) {
                    times = arrival.clone();
                }
                Arrays.sort(times);
                // The cache notifies subscribers in no fixed order, so a stream can hear of the
                // SVID
                // before the probe: the start is whichever came first.
                long cache = cacheAt.get() == 0 ? times[0] : Math.min(cacheAt.get(), times[0]);
                Rotation rot =
                        new Rotation(
                                (times[STREAMS - 1] - cache) / 1e6,
                                (times[STREAMS / 2 - 1] - cache) / 1e6,
                                (times[STREAMS - 1] - created) / 1e6);
                out.add(rot);
                ctx.progress(
                        String.format(
                                Locale.ROOT,
                                "bench workload-api: rotation %d/%d reached %d streams %.1f ms after the agent's cache",
                                r + 1,
                                rounds,
                                STREAMS,
                                rot.cacheToLastMs()));
            }
            return out;
        } finally {
            probe.close();
            for (Closeable c : streams) {
                c.close();
            }
            for (WorkloadApiClient c : clients) {
                c.close();
            }
        }
    }

    private static void await(
            CountDownLatch latch, AtomicReference<WorkloadApiException> failure, String what)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!latch.await(100, TimeUnit.MILLISECONDS)) {
            if (failure.get() != null) {
                throw new IOException(
                        "bench workload-api: a stream failed waiting for "
                                + what
                                + ": "
                                + failure.get().getMessage(),
                        failure.get());
            }
            if (System.nanoTime() > deadline) {
                throw new IOException(
                        "bench workload-api: timed out after 60 s waiting for "
                                + what
                                + " ("
                                + latch.getCount()
                                + " streams missing)");
            }
        }
    }

    private static void awaitFirstSvid(Path socket) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        try (WorkloadApiClient c = WorkloadApiClient.connect("unix://" + socket)) {
            while (true) {
                try {
                    c.fetchX509Context(Duration.ofSeconds(5));
                    return;
                } catch (WorkloadApiException e) {
                    if (System.nanoTime() > deadline) {
                        throw new IOException(
                                "bench workload-api: the agent served no SVID within 30 s: "
                                        + e.getMessage(),
                                e);
                    }
                    Thread.sleep(100);
                }
            }
        }
    }

    private static int uid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
