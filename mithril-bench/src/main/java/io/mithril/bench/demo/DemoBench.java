package io.mithril.bench.demo;

import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchReport;
import io.mithril.bench.BenchSuite;
import io.mithril.bench.Spread;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Suite {@code demo}: runs {@code ./mithril demo} {@value #RUNS} times (each a fresh state
 * directory, the gateway on a free port) and reports the time from launch to the first successful
 * curl and the total resident memory of the demo's processes, both as the demo prints them in its
 * summary line.
 */
public final class DemoBench implements BenchSuite {

    static final int RUNS = 3;
    static final long RUN_TIMEOUT_SECONDS = 240;

    /** How many times, 10 s apart, a run whose ports are taken by another demo is retried. */
    static final int PORT_RETRIES = 18;

    private static final Pattern SUMMARY =
            Pattern.compile(
                    "first successful curl at ([0-9]+(?:\\.[0-9]+)?)s after start; ([0-9]+) processes, ([0-9]+(?:\\.[0-9]+)?) MiB resident in total");

    /** The demo's summary line. */
    record Summary(double firstCurlSeconds, int processes, double residentMiB) {}

    @Override
    public String name() {
        return "demo";
    }

    @Override
    public String description() {
        return "./mithril demo "
                + RUNS
                + " times: launch to the first successful curl, total resident memory";
    }

    /**
     * The figures of the demo's summary line in its output.
     *
     * @throws IOException if the output has no summary line (the demo failed or changed its
     *     wording)
     */
    static Summary parse(String output) throws IOException {
        Matcher m = SUMMARY.matcher(output);
        if (!m.find()) {
            String tail =
                    output.length() > 2000 ? output.substring(output.length() - 2000) : output;
            throw new IOException(
                    "bench demo: no \"first successful curl at N.Ns ...\" line in the demo's output; it ended with:\n"
                            + tail.strip());
        }
        return new Summary(
                Double.parseDouble(m.group(1)),
                Integer.parseInt(m.group(2)),
                Double.parseDouble(m.group(3)));
    }

    @Override
    public BenchReport run(BenchContext ctx) throws Exception {
        Path home = Path.of(System.getProperty("mithril.home", "")).toAbsolutePath();
        Path launcher = home.resolve("mithril");
        if (!Files.isExecutable(launcher)) {
            throw new IOException(
                    "bench demo: no executable "
                            + launcher
                            + "; run the bench from the repository root with ./mithril bench demo");
        }
        List<Double> firstCurl = new ArrayList<>();
        List<Double> demoOwn = new ArrayList<>();
        List<Double> rss = new ArrayList<>();
        List<Double> total = new ArrayList<>();
        int processes = 0;
        boolean isolated = canIsolate();
        ctx.progress(
                "bench demo: "
                        + (isolated
                                ? "each run in a network namespace of its own (unshare -n)"
                                : "runs share this machine's loopback (not root, or no unshare/ip): another demo's ports make it wait"));
        int busyRetries = 0;
        for (int r = 0; r < RUNS; r++) {
            Path dir = Files.createTempDirectory("mithril-bench-demo");
            // The demo runs workloads under their own uids: they must get through this directory to
            // the state dir.
            Files.setPosixFilePermissions(
                    dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            try {
                int port = freePort();
                long t0 = System.nanoTime();
                List<String> cmd = new ArrayList<>();
                if (isolated) {
                    // A network namespace of its own: the demo's fixed loopback ports neither meet
                    // nor block other demos.
                    cmd.addAll(
                            List.of(
                                    UNSHARE,
                                    "-n",
                                    "sh",
                                    "-c",
                                    "ip link set lo up && exec \"$0\" \"$@\""));
                }
                cmd.addAll(
                        List.of(
                                launcher.toString(),
                                "demo",
                                "-dir",
                                dir.resolve("state").toString(),
                                "-gatewayPort",
                                Integer.toString(port)));
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                long[] firstLineAt = {0};
                CompletableFuture<String> out =
                        CompletableFuture.supplyAsync(
                                () -> {
                                    StringBuilder sb = new StringBuilder();
                                    try (BufferedReader br =
                                            new BufferedReader(
                                                    new InputStreamReader(
                                                            p.getInputStream(),
                                                            StandardCharsets.UTF_8))) {
                                        for (String line = br.readLine();
                                                line != null;
                                                line = br.readLine()) {
                                            if (firstLineAt[0] == 0
                                                    && line.startsWith("Mithril demo:")) {
                                                firstLineAt[0] = System.nanoTime();
                                            }
                                            sb.append(line).append('\n');
                                        }
                                    } catch (IOException e) {
                                        sb.append("(reading the demo's output failed: ")
                                                .append(e.getMessage())
                                                .append(")\n");
                                    }
                                    return sb.toString();
                                });
                if (!p.waitFor(RUN_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    // The demo stops its own processes on SIGTERM (its shutdown hook).
                    p.destroy();
                    if (!p.waitFor(20, TimeUnit.SECONDS)) {
                        p.descendants().forEach(ProcessHandle::destroyForcibly);
                        p.destroyForcibly();
                    }
                    throw new IOException(
                            "bench demo: run "
                                    + (r + 1)
                                    + " did not finish within "
                                    + RUN_TIMEOUT_SECONDS
                                    + " s");
                }
                long t1 = System.nanoTime();
                String output = out.get(30, TimeUnit.SECONDS);
                if (p.exitValue() != 0
                        && output.contains("already in use")
                        && busyRetries < PORT_RETRIES) {
                    // The demo's ports are fixed; another demo on this machine holds them. Wait for
                    // it, boundedly.
                    busyRetries++;
                    ctx.progress(
                            "bench demo: the demo's ports are in use (another demo on this machine); retrying in 10 s ("
                                    + busyRetries
                                    + "/"
                                    + PORT_RETRIES
                                    + ")");
                    Thread.sleep(10_000);
                    r--;
                    continue;
                }
                Summary s = parse(output);
                // The demo counts from its own start; add the launcher's and JVM's start-up before
                // its first line.
                double startup = firstLineAt[0] == 0 ? 0 : (firstLineAt[0] - t0) / 1e9;
                firstCurl.add(startup + s.firstCurlSeconds());
                demoOwn.add(s.firstCurlSeconds());
                rss.add(s.residentMiB());
                total.add((t1 - t0) / 1e9);
                processes = s.processes();
                ctx.progress(
                        String.format(
                                Locale.ROOT,
                                "bench demo: run %d/%d: first successful curl %.1f s after launch, %.0f MiB resident, "
                                        + "exit %d after %.1f s",
                                r + 1,
                                RUNS,
                                firstCurl.get(r),
                                s.residentMiB(),
                                p.exitValue(),
                                total.get(r)));
                if (p.exitValue() != 0) {
                    throw new IOException(
                            "bench demo: run " + (r + 1) + " exited " + p.exitValue());
                }
            } finally {
                try (Stream<Path> st = Files.walk(dir)) {
                    st.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                }
            }
        }
        BenchReport report =
                new BenchReport(
                        name(),
                        "bench demo: ./mithril demo from launch to the first successful curl",
                        ctx.machine(),
                        List.of("What", "median (min-max) over " + RUNS + " runs"));
        report.row(List.of("launch -> first successful curl, s", Spread.of(firstCurl).format(1)));
        report.row(
                List.of(
                        "demo's own figure (from its first line), s",
                        Spread.of(demoOwn).format(1)));
        report.row(
                List.of("whole demo run (all checks, then stop), s", Spread.of(total).format(1)));
        report.row(
                List.of(
                        "resident memory of its " + processes + " processes, MiB",
                        Spread.of(rss).format(0)));
        report.note(
                "Each run: `./mithril demo -dir <fresh temp dir> -gatewayPort <free port>` (distribution already built)"
                        + (isolated
                                ? ", in a network namespace of its own (`unshare -n`, loopback up) so other demos on the machine do not collide"
                                : "")
                        + "; stdout "
                        + "parsed for the summary line `first successful curl at N.Ns after start; P processes, M MiB resident in total`. "
                        + "\"launch ->\" adds the time from starting the launcher to the demo's first output line (JVM and CLI start-up) to "
                        + "the demo's own figure. Memory is the sum of VmRSS of every process the demo started, measured by the demo at its end.");
        report.note(
                "The machine is shared with other engineers' builds and tests: figures are noisy.");
        return report;
    }

    private static final String UNSHARE = "/usr/bin/unshare";

    /** Root with unshare and ip: the demo can run in a fresh network namespace. */
    private static boolean canIsolate() {
        try {
            boolean root = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0;
            boolean ip =
                    Files.isExecutable(Path.of("/usr/sbin/ip"))
                            || Files.isExecutable(Path.of("/sbin/ip"))
                            || Files.isExecutable(Path.of("/usr/bin/ip"));
            return root && ip && Files.isExecutable(Path.of(UNSHARE));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
