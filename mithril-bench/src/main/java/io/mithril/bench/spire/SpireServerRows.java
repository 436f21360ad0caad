package io.mithril.bench.spire;

import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchReport;
import io.mithril.bench.Spread;
import java.io.BufferedReader;
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
 * The {@code server} suite's rows beside SPIRE, measured in the same run on the two {@link
 * Deployment}s (this project's server and agent, SPIRE's; each a process of its own):
 *
 * <ul>
 *   <li>X.509-SVIDs signed per second as agents get them: {@value #SVIDS} entries for the agent's
 *       workload are created at once, and the time runs until a go-spiffe stream on the agent holds
 *       all of them (entry sync, CSRs, signing by the server, delivery) — the same work on both
 *       sides, unlike {@code spire-server x509 mint}, which mints one SVID per process;
 *   <li>entries created per second through each CLI ({@code spire-server entry create} and {@code
 *       mithril server entry create}, one entry per invocation, as an operator types it).
 * </ul>
 */
public final class SpireServerRows {

    static final int SVIDS = 500;
    static final int CLI_ENTRIES = 20;
    static final int CLI_BATCH = 1000;

    private SpireServerRows() {}

    public static void add(BenchContext ctx, BenchReport report) throws Exception {
        GoHarness go = GoHarness.buildForRows(ctx, report);
        if (go == null) {
            return;
        }
        Path dir = Files.createTempDirectory("mithril-bench-spire-server");
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        Path home = GoHarness.projectRoot();
        try (Deployment ours = Deployment.mithril(dir.resolve("mithril"));
                Deployment spire = Deployment.spire(dir.resolve("spire"), go)) {
            List<Deployment> both = List.of(ours, spire);
            double[] signed = new double[2];
            for (int i = 0; i < 2; i++) {
                Deployment d = both.get(i);
                ctx.progress(
                        "bench server: " + SVIDS + " SVIDs through the " + d.name() + " agent");
                signed[i] = svidsPerSecond(go, d, uid);
            }
            report.row(
                    List.of(
                            "X.509-SVIDs to an agent, Mithril vs SPIRE",
                            SVIDS
                                    + " entries created at once, until a go-spiffe stream "
                                    + "holds them all",
                            rate(signed[0]) + " vs " + rate(signed[1]),
                            "SVIDs/s",
                            "Mithril/SPIRE " + BenchReport.ratio(signed[0] / signed[1])));
            List<List<Double>> cli = List.of(new ArrayList<>(), new ArrayList<>());
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 2; i++) {
                    cli.get(i)
                            .add(
                                    cliEntriesPerSecond(
                                            both.get(i),
                                            i == 0 ? ourCli(home, ours) : spireCli(go, spire),
                                            round));
                }
            }
            Spread m = Spread.of(cli.get(0));
            Spread s = Spread.of(cli.get(1));
            report.row(
                    List.of(
                            "entries created through the CLI, Mithril vs SPIRE",
                            CLI_ENTRIES + " x `server entry create`, one " + "process each",
                            rate(m.median()) + " vs " + rate(s.median()),
                            "entries/s",
                            "Mithril/SPIRE " + BenchReport.ratio(m.median() / s.median())));
            List<List<Double>> batch = List.of(new ArrayList<>(), new ArrayList<>());
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 2; i++) {
                    batch.get(i)
                            .add(
                                    cliBatchPerSecond(
                                            both.get(i),
                                            i == 0 ? ourCli(home, ours) : spireCli(go, spire),
                                            round,
                                            dir));
                }
            }
            Spread bm = Spread.of(batch.get(0));
            Spread bs = Spread.of(batch.get(1));
            report.row(
                    List.of(
                            "entries created through the CLI, Mithril vs SPIRE",
                            "`server entry create -data` with " + CLI_BATCH + " entries",
                            rate(bm.median()) + " vs " + rate(bs.median()),
                            "entries/s",
                            "Mithril/SPIRE " + BenchReport.ratio(bm.median() / bs.median())));
            report.note(
                    "Beside SPIRE: SPIRE v1.13.3's spire-server and spire-agent (built from the Go module proxy by interop/go/build.sh) "
                            + "and this project's server and agent in JVMs of their own, from the same server.conf/agent.conf text (sqlite3, "
                            + "memory KeyManager, join_token, agent sync every "
                            + Deployment.SYNC_INTERVAL
                            + "). SVIDs: "
                            + SVIDS
                            + " entries "
                            + "for the go-spiffe client's uid created in one batch (Mithril: admin API BatchCreateEntry; SPIRE: spire-server "
                            + "entry create -data), timed from the creation's return to when one WatchX509Context stream holds all "
                            + (SVIDS + 1)
                            + " SVIDs; it includes the agent's sync interval. CLI: "
                            + CLI_ENTRIES
                            + " invocations of entry create per side, "
                            + "and one `entry create -data` file of "
                            + CLI_BATCH
                            + " entries (SPIRE's registration JSON, one batch), two rounds "
                            + "alternating, median; Mithril's CLI is a JVM (java -cp mithril-cli.jar), so process start dominates the first.");
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static String rate(double r) {
        return String.format(Locale.ROOT, r >= 100 ? "%.0f" : "%.1f", r);
    }

    private static List<String> ourCli(Path home, Deployment ours) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path jar = home.resolve("mithril-cli/target/mithril-cli.jar");
        return List.of(
                java,
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-cp",
                jar + ":" + jar.resolveSibling("lib") + "/*",
                "io.mithril.cli.Main",
                "server",
                "entry",
                "create",
                "-socketPath",
                ours.adminSocket().toString());
    }

    private static List<String> spireCli(GoHarness go, Deployment spire) {
        return List.of(
                go.spireServer().toString(),
                "entry",
                "create",
                "-socketPath",
                spire.adminSocket().toString());
    }

    private static double cliEntriesPerSecond(Deployment d, List<String> base, int round)
            throws Exception {
        long t0 = System.nanoTime();
        for (int i = 0; i < CLI_ENTRIES; i++) {
            List<String> cmd = new ArrayList<>(base);
            cmd.addAll(
                    List.of(
                            "-parentID",
                            Deployment.NODE,
                            "-spiffeID",
                            "spiffe://example.org/bench/cli-" + round + "-" + i,
                            "-selector",
                            "unix:uid:" + (200_000 + i)));
            Deployment.run(cmd, 120);
        }
        return CLI_ENTRIES / ((System.nanoTime() - t0) / 1e9);
    }

    private static double cliBatchPerSecond(Deployment d, List<String> base, int round, Path dir)
            throws Exception {
        Path data = dir.resolve(d.name() + "-batch-" + round + ".json");
        Files.writeString(
                data,
                Deployment.registrationJson(
                        "spiffe://example.org/bench/batch-" + round + "-",
                        CLI_BATCH,
                        i -> 300_000 + i));
        List<String> cmd = new ArrayList<>(base);
        cmd.addAll(List.of("-data", data.toString()));
        long t0 = System.nanoTime();
        Deployment.run(cmd, 300);
        return CLI_BATCH / ((System.nanoTime() - t0) / 1e9);
    }

    private static double svidsPerSecond(GoHarness go, Deployment d, int uid) throws Exception {
        d.createEntry("spiffe://example.org/bench/svid-first", uid);
        Process p =
                new ProcessBuilder(
                                go.gospiffe().toString(),
                                "streams",
                                "-socket",
                                d.address(),
                                "-streams",
                                "1",
                                "-timeout",
                                "300s")
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
        try (BufferedReader r =
                        new BufferedReader(
                                new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                Writer w =
                        new java.io.OutputStreamWriter(
                                p.getOutputStream(), StandardCharsets.UTF_8)) {
            Deployment.expect(r, "READY", d, 320);
            d.createEntries("spiffe://example.org/bench/svid-", SVIDS, uid);
            Instant created = Instant.now();
            w.write((SVIDS + 1) + "\n");
            w.flush();
            String line = Deployment.expect(r, "REACHED", d, 320);
            long last = Long.parseLong(line.substring(line.indexOf("last=") + 5).trim());
            long createdNs = created.getEpochSecond() * 1_000_000_000L + created.getNano();
            return SVIDS / ((last - createdNs) / 1e9);
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
