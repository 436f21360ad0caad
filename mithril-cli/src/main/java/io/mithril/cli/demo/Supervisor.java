package io.mithril.cli.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Starts the demo's processes, keeps track of them and stops every one of them (and their
 * descendants) in reverse start order, whatever happens: normal end, failure or Ctrl-C. Each
 * process writes its output to its own log file.
 */
final class Supervisor implements AutoCloseable {

    /** A process started by the supervisor. */
    record Managed(String name, Process process, Path log) {
        boolean alive() {
            return process.isAlive();
        }
    }

    private final Path logDir;
    private final List<Managed> started = Collections.synchronizedList(new ArrayList<>());
    private final Thread hook;
    private final java.util.function.Supplier<Duration> grace;
    private final Runnable afterStop;
    private volatile boolean closed;

    Supervisor(Path logDir) throws IOException {
        this(logDir, () -> Duration.ofSeconds(5), () -> {});
    }

    /**
     * @param grace how long stopped processes may take to exit before they are killed
     * @param afterStop run once every process has exited (also on Ctrl-C)
     */
    Supervisor(Path logDir, java.util.function.Supplier<Duration> grace, Runnable afterStop)
            throws IOException {
        this.grace = grace;
        this.afterStop = afterStop;
        // Logs may name tokens, paths and peers: readable by the demo's user only.
        this.logDir = StateDir.dir(logDir, StateDir.PRIVATE);
        this.hook = new Thread(this::stopAll, "demo-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * Starts {@code command} with extra environment {@code env}, output to {@code
     * <logDir>/<name>.log}.
     *
     * @throws IOException when the process cannot be started (the message names it)
     */
    Managed start(String name, List<String> command, Map<String, String> env) throws IOException {
        if (closed) {
            throw new IllegalStateException("supervisor is stopped");
        }
        Path log = logDir.resolve(name + ".log");
        if (!Files.exists(log, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Files.createFile(
                    log,
                    PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rw-------")));
        }
        Files.setPosixFilePermissions(log, PosixFilePermissions.fromString("rw-------"));
        ProcessBuilder pb =
                new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().putAll(env);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IOException(
                    name + ": cannot start " + command.get(0) + ": " + e.getMessage(), e);
        }
        Managed m = new Managed(name, p, log);
        started.add(m);
        return m;
    }

    /** The processes started so far, in start order. */
    List<Managed> processes() {
        synchronized (started) {
            return List.copyOf(started);
        }
    }

    /** The last lines of a process's log, to explain a failure. */
    static String tail(Path log, int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join(
                    System.lineSeparator(),
                    all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Stops every process: SIGTERM in reverse start order, then SIGKILL after a grace period. */
    void stopAll() {
        stopAll(grace.get());
    }

    /** Stops every process, waiting up to {@code grace} for them to exit before killing them. */
    void stopAll(Duration grace) {
        if (closed) {
            return;
        }
        closed = true;
        List<Managed> reversed = new ArrayList<>(processes());
        Collections.reverse(reversed);
        for (Managed m : reversed) {
            m.process().descendants().forEach(ProcessHandle::destroy);
            m.process().destroy();
        }
        long deadline = System.nanoTime() + grace.toNanos();
        for (Managed m : reversed) {
            try {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !m.process().waitFor(left, TimeUnit.NANOSECONDS)) {
                    m.process().descendants().forEach(ProcessHandle::destroyForcibly);
                    m.process().destroyForcibly().waitFor(2, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                m.process().destroyForcibly();
            }
        }
        afterStop.run();
    }

    @Override
    public void close() {
        stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running already
        }
    }
}
