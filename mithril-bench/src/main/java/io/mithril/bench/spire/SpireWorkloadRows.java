package io.mithril.bench.spire;

import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchOptions;
import io.mithril.bench.BenchReport;
import io.mithril.bench.Spread;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The {@code workload-api} suite's rows beside SPIRE: this project's server and agent and SPIRE's
 * (v1.13.3, built from the Go module proxy by the interop harness), each a process of its own from
 * the same configuration text ({@link Deployment}), measured in the same run by the same go-spiffe
 * v2 client program: FetchX509Context latency, one rotation reaching 1,000 open streams, and the
 * resident memory of each server and agent.
 */
public final class SpireWorkloadRows {

    static final int STREAMS = 1000;

    private SpireWorkloadRows() {}

    /** Measures and adds the rows; when the harness cannot be built, a note says why instead. */
    public static void add(BenchContext ctx, BenchReport report) throws Exception {
        GoHarness go = GoHarness.buildForRows(ctx, report);
        if (go == null) {
            return;
        }
        Path dir = Files.createTempDirectory("mithril-bench-spire");
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        try (Deployment ours = Deployment.mithril(dir.resolve("mithril"));
                Deployment spire = Deployment.spire(dir.resolve("spire"), go)) {
            List<Deployment> both = List.of(ours, spire);
            for (Deployment d : both) {
                d.createEntry("spiffe://example.org/bench/go-1", uid);
                awaitSvid(go, d);
            }
            BenchOptions o = ctx.options();
            List<List<double[]>> runs = List.of(new ArrayList<>(), new ArrayList<>());
            ctx.progress(
                    "bench workload-api: go-spiffe client against the Mithril and SPIRE agents, warm-up");
            for (Deployment d : both) {
                fetchBench(go, d, o.warmup().toSeconds());
            }
            for (int r = 0; r < o.runs(); r++) {
                for (int i = 0; i < 2; i++) {
                    runs.get(i)
                            .add(fetchBench(go, both.get(i), Math.max(1, o.runTime().toSeconds())));
                }
                ctx.progress(
                        String.format(
                                Locale.ROOT,
                                "bench workload-api: go-spiffe run %d/%d: p50 Mithril %.3f ms, SPIRE %.3f ms",
                                r + 1,
                                o.runs(),
                                runs.get(0).get(r)[0],
                                runs.get(1).get(r)[0]));
            }
            int rounds = Math.min(3, o.runs());
            List<List<Double>> rotation = List.of(new ArrayList<>(), new ArrayList<>());
            for (int i = 0; i < 2; i++) {
                ctx.progress(
                        "bench workload-api: "
                                + STREAMS
                                + " go-spiffe streams on the "
                                + both.get(i).name()
                                + " agent");
                rotation.get(i).addAll(rotations(go, both.get(i), uid, rounds));
            }
            String[] what = {"p50 ms", "p99 ms", "fetches/s"};
            for (int k = 0; k < 3; k++) {
                int col = k;
                Spread m = Spread.of(runs.get(0).stream().map(x -> x[col]).toList());
                Spread s = Spread.of(runs.get(1).stream().map(x -> x[col]).toList());
                report.row(
                        List.of(
                                "go-spiffe FetchX509Context "
                                        + what[k]
                                        + ": Mithril agent vs SPIRE agent",
                                m.format(k == 2 ? 0 : 3),
                                s.format(k == 2 ? 0 : 3),
                                BenchReport.ratio(m.median() / s.median())));
            }
            Spread rm = Spread.of(rotation.get(0));
            Spread rs = Spread.of(rotation.get(1));
            report.row(
                    List.of(
                            "rotation: entry created -> all "
                                    + STREAMS
                                    + " go-spiffe streams, ms: Mithril vs SPIRE",
                            rm.format(0),
                            rs.format(0),
                            BenchReport.ratio(rm.median() / rs.median())));
            report.row(
                    List.of(
                            "resident memory, MB: Mithril server vs spire-server",
                            mb(ours.serverRssKb()),
                            mb(spire.serverRssKb()),
                            BenchReport.ratio(ours.serverRssKb() / (double) spire.serverRssKb())));
            report.row(
                    List.of(
                            "resident memory, MB: Mithril agent vs spire-agent ("
                                    + STREAMS
                                    + " streams closed)",
                            mb(ours.agentRssKb()),
                            mb(spire.agentRssKb()),
                            BenchReport.ratio(ours.agentRssKb() / (double) spire.agentRssKb())));
            report.note(
                    "Beside SPIRE: SPIRE v1.13.3's spire-server and spire-agent (built from the Go module proxy by interop/go/build.sh) "
                            + "and this project's server and agent, each in a process of its own (ours in JVMs with the options ./mithril gives "
                            + "proxies), all four from the same server.conf/agent.conf text (sqlite3 datastore, memory KeyManager, join_token, "
                            + "unix WorkloadAttestor, agent experimental.sync_interval and server experimental.cache_reload_interval "
                            + Deployment.SYNC_INTERVAL
                            + "). The same go-spiffe v2.9.0 client program (interop/go/client) measures both: "
                            + "FetchX509Context over one workloadapi.Client, "
                            + o.runs()
                            + " runs of "
                            + Math.max(1, o.runTime().toSeconds())
                            + " s per agent, alternating. Rotation: "
                            + STREAMS
                            + " WatchX509Context streams (100 per connection) in one "
                            + "go-spiffe process; one rotation = one more registration entry for the same uid (Mithril: admin API; SPIRE: "
                            + "spire-server entry create), timed from when the creation returned to when the last stream had the new SVID; "
                            + rounds
                            + " rotations. Resident memory: VmRSS after the runs.");
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static String mb(long kb) {
        return String.format(Locale.ROOT, "%.0f", kb / 1024.0);
    }

    private static void awaitSvid(GoHarness go, Deployment d) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                Deployment.run(
                        List.of(
                                go.gospiffe().toString(),
                                "x509",
                                "-socket",
                                d.address(),
                                "-timeout",
                                "10s"),
                        30);
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new IOException(
                            d.name() + "'s agent served no SVID within 60 s: " + e.getMessage(), e);
                }
                Thread.sleep(200);
            }
        }
    }

    /** One run of {@code gospiffe bench}: p50 ms, p99 ms, fetches/s. */
    private static double[] fetchBench(GoHarness go, Deployment d, long seconds) throws Exception {
        List<String> out =
                Deployment.run(
                        List.of(
                                go.gospiffe().toString(),
                                "bench",
                                "-socket",
                                d.address(),
                                "-seconds",
                                seconds + "s",
                                "-timeout",
                                (seconds + 60) + "s"),
                        seconds + 90);
        double count = value(out, "COUNT");
        return new double[] {
            value(out, "P50_NS") / 1e6, value(out, "P99_NS") / 1e6, count / seconds
        };
    }

    private static double value(List<String> lines, String key) throws IOException {
        for (String l : lines) {
            if (l.startsWith(key + "=")) {
                return Double.parseDouble(l.substring(key.length() + 1));
            }
        }
        throw new IOException("gospiffe printed no " + key + ": " + lines);
    }

    private static List<Double> rotations(GoHarness go, Deployment d, int uid, int rounds)
            throws Exception {
        Process p =
                new ProcessBuilder(
                                go.gospiffe().toString(),
                                "streams",
                                "-socket",
                                d.address(),
                                "-streams",
                                Integer.toString(STREAMS),
                                "-timeout",
                                "120s")
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
        List<Double> out = new ArrayList<>();
        try (BufferedReader r =
                        new BufferedReader(
                                new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                Writer w =
                        new java.io.OutputStreamWriter(
                                p.getOutputStream(), StandardCharsets.UTF_8)) {
            Deployment.expect(r, "READY", d, 150);
            for (int i = 0; i < rounds; i++) {
                int svids = i + 2;
                d.createEntry("spiffe://example.org/bench/go-" + svids, uid);
                Instant created = Instant.now();
                w.write(svids + "\n");
                w.flush();
                String line = Deployment.expect(r, "REACHED", d, 150);
                long last = Long.parseLong(line.substring(line.indexOf("last=") + 5).trim());
                long createdNs = created.getEpochSecond() * 1_000_000_000L + created.getNano();
                out.add((last - createdNs) / 1e6);
            }
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        return out;
    }
}
