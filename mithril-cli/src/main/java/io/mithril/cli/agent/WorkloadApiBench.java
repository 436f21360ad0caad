package io.mithril.cli.agent;

import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.api.workload.client.WorkloadApiException;
import io.mithril.api.workload.client.X509Context;
import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchReport;
import io.mithril.bench.BenchSuite;
import io.mithril.server.IdentityServer;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.entry.Selector;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.io.Closeable;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Suite {@code workload-api}: the agent's Workload API as a workload sees it, with a real
 * identity server and agent on this machine.
 *
 * <ul>
 *   <li>X.509 fetch latency: one {@code FetchX509SVID} (first message, then cancel) on an open
 *       Unix-socket channel, as {@code api fetch x509} or a sidecar start does; p50/p99/max over
 *       many sequential calls after a warm-up.</li>
 *   <li>Rotation fan-out: 1,000 {@code FetchX509SVID} streams are held open (on 4 channels)
 *       while the SVID rotates at half of a 20 s TTL; reported is how long after the first stream
 *       received the new SVID the last one did, and the margin left before the old one expired.</li>
 * </ul>
 */
public final class WorkloadApiBench implements BenchSuite {

    private static final int STREAMS = 1000;
    private static final int CHANNELS = 4;
    private static final int TTL_SECONDS = 20;

    @Override
    public String name() {
        return "workload-api";
    }

    @Override
    public String description() {
        return "Workload API X.509 fetch latency (p50/p99) and time for one rotation to reach 1,000 open streams";
    }

    @Override
    public BenchReport run(BenchContext ctx) throws Exception {
        BenchReport report = new BenchReport("workload-api", "bench workload-api: the agent's Workload API over its Unix socket",
                ctx.machine(), List.of("Measurement", "Detail", "p50", "p99", "max"), 2);
        Path dir = Files.createTempDirectory("mithril-bench-wl-");
        TrustDomain td = TrustDomain.parse("example.org");
        ctx.progress("bench workload-api: starting an identity server and an agent in " + dir);
        try (IdentityServer server = IdentityServer.start(ServerConfig.builder(td, dir.resolve("server"))
                .bindAddress("127.0.0.1").bindPort(0).socketPath(dir.resolve("server/admin.sock")).build())) {
            String uid = String.valueOf(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
            SpiffeId node = SpiffeId.parse("spiffe://example.org/bench-node");
            server.createEntry(RegistrationEntry.of(SpiffeId.parse("spiffe://example.org/bench"), node,
                    List.of(Selector.parse("unix:uid:" + uid))).withX509SvidTtl(TTL_SECONDS));
            Files.writeString(dir.resolve("bundle.pem"), server.bundle().toPem());
            Path socket = dir.resolve("agent/public/api.sock");
            try (Agent agent = Agent.start(AgentConfig.of(td, dir.resolve("agent/data"), "127.0.0.1",
                    server.agentApiAddress().getPort(), socket, dir.resolve("bundle.pem"),
                    server.generateJoinToken(Duration.ofMinutes(5), node)).withSyncInterval(Duration.ofMillis(500)))) {
                fetchLatency(ctx, report, "unix://" + socket);
                rotationFanOut(ctx, report, "unix://" + socket);
            }
        } finally {
            try (Stream<Path> walk = Files.walk(dir)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        report.note("Fetch latency is measured from a client in the same JVM as the agent over the real Unix socket"
                + " (gRPC, peer-credential attestation of each call included).");
        return report;
    }

    private static void fetchLatency(BenchContext ctx, BenchReport report, String address) {
        int warmup = 300;
        int calls = 2000;
        try (WorkloadApiClient client = WorkloadApiClient.connect(address)) {
            for (int i = 0; i < warmup; i++) {
                client.fetchX509Context(Duration.ofSeconds(10));
            }
            long[] ns = new long[calls];
            for (int i = 0; i < calls; i++) {
                long t = System.nanoTime();
                client.fetchX509Context(Duration.ofSeconds(10));
                ns[i] = System.nanoTime() - t;
            }
            Arrays.sort(ns);
            report.row(List.of("FetchX509SVID (first message)", calls + " sequential calls, 1 channel",
                    ms(ns[calls / 2]), ms(ns[(int) (calls * 0.99)]), ms(ns[calls - 1])));
            ctx.progress("bench workload-api: fetch p50 " + ms(ns[calls / 2]) + ", p99 " + ms(ns[(int) (calls * 0.99)]));
        }
    }

    private static void rotationFanOut(BenchContext ctx, BenchReport report, String address) throws Exception {
        List<WorkloadApiClient> clients = new ArrayList<>();
        List<Closeable> watches = new ArrayList<>();
        ConcurrentHashMap<Integer, Long> rotatedAt = new ConcurrentHashMap<>();
        BigInteger[] firstSerial = new BigInteger[1];
        long[] oldNotAfterMs = new long[1];
        CountDownLatch opened = new CountDownLatch(STREAMS);
        CountDownLatch rotated = new CountDownLatch(STREAMS);
        try {
            for (int c = 0; c < CHANNELS; c++) {
                clients.add(WorkloadApiClient.connect(address));
            }
            X509Context initial = clients.get(0).fetchX509Context(Duration.ofSeconds(10));
            firstSerial[0] = initial.defaultSvid().leaf().getSerialNumber();
            oldNotAfterMs[0] = initial.defaultSvid().leaf().getNotAfter().getTime();
            ctx.progress("bench workload-api: opening " + STREAMS + " streams, waiting for the rotation of a " + TTL_SECONDS + " s SVID");
            for (int i = 0; i < STREAMS; i++) {
                int id = i;
                boolean[] seen = {false};
                watches.add(clients.get(i % CHANNELS).watchX509Context(new WorkloadApiClient.Watcher<>() {
                    @Override
                    public void onUpdate(X509Context u) {
                        if (!seen[0]) {
                            seen[0] = true;
                            opened.countDown();
                        }
                        if (!u.defaultSvid().leaf().getSerialNumber().equals(firstSerial[0])
                                && rotatedAt.putIfAbsent(id, System.nanoTime()) == null) {
                            rotated.countDown();
                        }
                    }

                    @Override
                    public void onError(WorkloadApiException error) {
                    }
                }));
            }
            if (!opened.await(60, TimeUnit.SECONDS)) {
                report.row(List.of("Rotation fan-out", "only " + (STREAMS - opened.getCount()) + " of " + STREAMS + " streams opened", "n/a", "n/a", "n/a"));
                return;
            }
            if (!rotated.await(TTL_SECONDS * 2L, TimeUnit.SECONDS)) {
                report.row(List.of("Rotation fan-out", (STREAMS - rotated.getCount()) + " of " + STREAMS + " streams got the rotated SVID",
                        "n/a", "n/a", "n/a"));
                return;
            }
            long[] at = rotatedAt.values().stream().mapToLong(Long::longValue).sorted().toArray();
            long first = at[0];
            long[] offsets = Arrays.stream(at).map(t -> t - first).toArray();
            long marginMs = oldNotAfterMs[0] - System.currentTimeMillis() + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - at[at.length - 1]);
            report.row(List.of("Rotation reaching " + STREAMS + " open streams",
                    "after the first stream; " + CHANNELS + " channels; old SVID still valid for " + marginMs / 1000 + " s",
                    ms(offsets[offsets.length / 2]), ms(offsets[(int) (offsets.length * 0.99)]), ms(offsets[offsets.length - 1])));
            ctx.progress("bench workload-api: rotation reached all " + STREAMS + " streams within " + ms(offsets[offsets.length - 1]));
        } finally {
            for (Closeable w : watches) {
                try {
                    w.close();
                } catch (IOException ignored) {
                    // cancelling does not fail
                }
            }
            for (WorkloadApiClient c : clients) {
                c.close();
            }
        }
    }

    private static String ms(long ns) {
        return String.format(Locale.ROOT, "%.3f ms", ns / 1e6);
    }
}
