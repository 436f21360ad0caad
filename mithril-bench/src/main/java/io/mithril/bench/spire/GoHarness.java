package io.mithril.bench.spire;

import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchReport;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The interop harness of {@code interop/go/}: the go-spiffe v2 client program {@code gospiffe} and
 * SPIRE's {@code spire-server} and {@code spire-agent}, built from the Go module proxy by {@code
 * interop/go/build.sh} into a cache directory keyed by the modules' hashes (a second build costs
 * nothing). Used by the interop tests and the bench's SPIRE rows only; nothing shipped needs Go.
 * {@link #build} fails with the build's own output when the harness cannot be built.
 */
public final class GoHarness {

    private static GoHarness built;

    private final Path gospiffe;
    private final Path spireBin;

    private GoHarness(Path gospiffe, Path spireBin) {
        this.gospiffe = gospiffe;
        this.spireBin = spireBin;
    }

    public Path gospiffe() {
        return gospiffe;
    }

    public Path spireServer() {
        return spireBin.resolve("spire-server");
    }

    public Path spireAgent() {
        return spireBin.resolve("spire-agent");
    }

    /**
     * The source tree holding {@code interop/go/build.sh}: {@code mithril.home}, else the working
     * directory or a parent.
     */
    public static Path projectRoot() {
        String home = System.getProperty("mithril.home");
        if (home != null && Files.isRegularFile(Path.of(home, "interop/go/build.sh"))) {
            return Path.of(home).toAbsolutePath();
        }
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("interop/go/build.sh"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException(
                    "interop/go/build.sh not found from "
                            + Path.of("").toAbsolutePath()
                            + " or its parents (set -Dmithril.home to the source tree)");
        }
        return p;
    }

    /**
     * The harness for a bench's SPIRE rows, or null, with a note in {@code report} saying why, when
     * it cannot be built (the bench then goes on without those rows).
     */
    static GoHarness buildForRows(BenchContext ctx, BenchReport report)
            throws InterruptedException {
        try {
            return build(ctx::progress);
        } catch (IOException e) {
            report.note(
                    "SPIRE rows not measured: the Go harness (interop/go/build.sh) could not be built: "
                            + e.getMessage().lines().findFirst().orElse(""));
            return null;
        }
    }

    /**
     * Builds the harness (or finds it in the cache), once per JVM. {@code progress} gets the
     * build's progress lines and how long it took.
     *
     * @throws IOException with the build's output when it fails
     */
    public static synchronized GoHarness build(Consumer<String> progress)
            throws IOException, InterruptedException {
        if (built != null) {
            return built;
        }
        Path script = projectRoot().resolve("interop/go/build.sh");
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder("bash", script.toString()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        List<String> lines = new ArrayList<>();
        String gospiffe = null;
        String spireBin = null;
        try (BufferedReader r =
                new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                lines.add(line);
                if (line.startsWith("GOSPIFFE=")) {
                    gospiffe = line.substring("GOSPIFFE=".length());
                } else if (line.startsWith("SPIRE_BIN=")) {
                    spireBin = line.substring("SPIRE_BIN=".length());
                } else {
                    progress.accept(line);
                }
            }
        }
        if (!p.waitFor(60, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IOException("interop/go/build.sh did not finish within 60 minutes");
        }
        if (p.exitValue() != 0 || gospiffe == null || spireBin == null) {
            throw new IOException(
                    "interop/go/build.sh failed (exit "
                            + p.exitValue()
                            + "); the Go harness (go-spiffe client, "
                            + "spire-server, spire-agent) is needed by the interop tests and the bench's SPIRE rows. Its output:\n"
                            + String.join("\n", lines));
        }
        progress.accept(
                String.format(
                        java.util.Locale.ROOT,
                        "interop: harness ready in %.1f s",
                        (System.nanoTime() - t0) / 1e9));
        built = new GoHarness(Path.of(gospiffe), Path.of(spireBin));
        for (Path exe : List.of(built.gospiffe(), built.spireServer(), built.spireAgent())) {
            if (!Files.isExecutable(exe)) {
                built = null;
                throw new IOException(
                        "interop/go/build.sh reported " + exe + ", which is not executable");
            }
        }
        return built;
    }
}
