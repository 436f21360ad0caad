package io.mithril.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A proxy the bench runs in a JVM of its own, as an operator runs it, so /proc tells its CPU and
 * memory apart from the bench's: the bench's class path, the JVM options {@code ./mithril} gives a
 * proxy ({@link #PROXY_JVM_OPTIONS}, {@link #PROXY_ENV}) plus {@code MITHRIL_BENCH_PROXY_JAVA_OPTS}
 * (e.g. to record a flight recording), stderr to a log file. The child's main prints a ready line
 * with its port and exits when its stdin closes ({@link #serveUntilStdinCloses}), so it never
 * outlives the bench; {@link #close} closes that stdin and waits.
 */
public final class ChildJvm implements AutoCloseable {

    /**
     * The options {@code ./mithril} (the launcher at the repository root) runs a proxy with; keep
     * the two in step so the bench measures what operators run.
     */
    public static final List<String> PROXY_JVM_OPTIONS =
            List.of(
                    "-XX:+UseSerialGC",
                    "-Xshare:auto",
                    "-Xms16m",
                    "-XX:MinHeapFreeRatio=10",
                    "-XX:MaxHeapFreeRatio=30",
                    "-Dio.netty.leakDetection.level=disabled",
                    "-Dio.netty.jfr.enabled=false",
                    "-XX:+UnlockExperimentalVMOptions",
                    "-XX:+IgnoreUnrecognizedVMOptions",
                    "-XX:TrimNativeHeapInterval=2000");

    /**
     * The environment {@code ./mithril} gives a proxy: glibc's malloc with two arenas, not eight
     * per core.
     */
    public static final Map<String, String> PROXY_ENV = Map.of("MALLOC_ARENA_MAX", "2");

    /**
     * The options {@code ./mithril} runs every other command with, {@code ./mithril server run}
     * among them (no small initial heap, no heap free ratios: those are for proxies, and on a
     * server holding tens of thousands of entries they cost frequent full collections), and no
     * extra environment.
     */
    public static final List<String> SERVER_JVM_OPTIONS =
            List.of("-XX:+UseSerialGC", "-Xshare:auto");

    /** Extra JVM options for the bench's proxy children, split on spaces. */
    public static final String EXTRA_OPTIONS_ENV = "MITHRIL_BENCH_PROXY_JAVA_OPTS";

    private final Process process;
    private final String what;
    private final Path log;

    private ChildJvm(String what, Path log, List<String> command, Map<String, String> env)
            throws IOException {
        this.what = what;
        this.log = log;
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(log.toFile());
        env.forEach((k, v) -> pb.environment().putIfAbsent(k, v));
        this.process = pb.start();
    }

    /**
     * Starts {@code main} with {@code args}; stderr goes to {@code log}.
     *
     * @param what how errors name it ("the gateway", "the client sidecar")
     * @throws IOException when java cannot be started
     */
    public static ChildJvm start(String what, Class<?> main, Path log, String... args)
            throws IOException {
        return start(what, PROXY_JVM_OPTIONS, PROXY_ENV, main, log, args);
    }

    /**
     * Starts {@code main} with {@code args} as {@code ./mithril server run} runs a server ({@link
     * #SERVER_JVM_OPTIONS}); stderr goes to {@code log}.
     */
    public static ChildJvm startServer(String what, Class<?> main, Path log, String... args)
            throws IOException {
        return start(what, SERVER_JVM_OPTIONS, Map.of(), main, log, args);
    }

    private static ChildJvm start(
            String what,
            List<String> jvmOptions,
            Map<String, String> env,
            Class<?> main,
            Path log,
            String... args)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        String extra = System.getenv(EXTRA_OPTIONS_ENV);
        if (extra != null && !extra.isBlank()) {
            cmd.addAll(List.of(extra.trim().split("\\s+")));
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        return new ChildJvm(what, log, cmd, env);
    }

    public long pid() {
        return process.pid();
    }

    /**
     * Reads the child's stdout until the line starting with {@code readyPrefix} and returns the
     * number after it (the port); the rest of stdout is drained in the background.
     *
     * @throws IOException when the child exits or says nothing of the kind within 60 s
     */
    public int awaitReady(String readyPrefix) throws IOException, InterruptedException {
        BufferedReader r =
                new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<Integer> port =
                CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                for (String line = r.readLine();
                                        line != null;
                                        line = r.readLine()) {
                                    if (line.startsWith(readyPrefix)) {
                                        return Integer.parseInt(
                                                line.substring(readyPrefix.length()).trim());
                                    }
                                }
                                return -1;
                            } catch (IOException | NumberFormatException e) {
                                return -1;
                            }
                        });
        int result;
        try {
            result = port.get(60, TimeUnit.SECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            result = -1;
        }
        if (result < 0) {
            throw new IOException(
                    what
                            + " did not start (exit "
                            + (process.isAlive() ? "none yet" : process.exitValue())
                            + "); see its log "
                            + log);
        }
        Thread drain =
                new Thread(
                        () -> {
                            try {
                                while (r.readLine() != null) {
                                    // discard
                                }
                            } catch (IOException e) {
                                // child gone
                            }
                        },
                        "bench-drain-" + pid());
        drain.setDaemon(true);
        drain.start();
        return result;
    }

    /** utime + stime of the child so far, in clock ticks ({@link #clockTicksPerSecond}). */
    public long cpuTicks() throws IOException {
        return parseStatTicks(Files.readString(Path.of("/proc/" + pid() + "/stat")));
    }

    /** The child's resident memory now (VmRSS), in KiB; 0 when unreadable. */
    public long rssKb() {
        return rssKb(pid());
    }

    /** Closes the child's stdin (it exits on EOF) and waits; kills it when it does not go. */
    @Override
    public void close() {
        try {
            process.getOutputStream().close();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroy();
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
        } catch (IOException e) {
            process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /**
     * For the child's main: prints {@code readyLine} on stdout, then blocks until stdin closes (the
     * bench is done, or gone).
     */
    public static void serveUntilStdinCloses(String readyLine) {
        PrintStream out = System.out;
        out.println(readyLine);
        out.flush();
        try {
            while (System.in.read() >= 0) {
                // the bench never writes; EOF means it is done (or gone)
            }
        } catch (IOException e) {
            // stdin broken: the bench is gone
        }
    }

    /**
     * utime + stime from a /proc/<pid>/stat line: fields 14 and 15, counted after the command
     * name's closing parenthesis (the name itself may hold spaces and parentheses).
     *
     * @throws IOException if the line does not have those fields
     */
    public static long parseStatTicks(String stat) throws IOException {
        int close = stat.lastIndexOf(')');
        String[] f = close < 0 ? new String[0] : stat.substring(close + 1).trim().split("\\s+");
        // After ")": field 3 (state) is f[0], so field n is f[n - 3].
        if (f.length < 13) {
            throw new IOException("unexpected /proc stat line: \"" + stat.strip() + "\"");
        }
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /** Clock ticks per second of /proc's CPU times ({@code getconf CLK_TCK}; 100 when unknown). */
    public static long clockTicksPerSecond() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out =
                    new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            p.waitFor(5, TimeUnit.SECONDS);
            return Long.parseLong(out);
        } catch (IOException | NumberFormatException e) {
            return 100; // Linux's USER_HZ almost everywhere
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 100;
        }
    }

    /** VmRSS of a process in KiB, from /proc/<pid>/status; 0 when unreadable. */
    public static long rssKb(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }
}
