package io.mithril.bench;

import java.util.Objects;
import java.util.function.Consumer;

/**
 * What a suite runs with: the options, the machine it runs on, and where progress lines go (the
 * CLI prints them to stderr, one per measurement, so a long run shows it is alive).
 */
public final class BenchContext {

    private final BenchOptions options;
    private final Machine machine;
    private final Consumer<String> progress;

    public BenchContext(BenchOptions options, Machine machine, Consumer<String> progress) {
        this.options = Objects.requireNonNull(options, "options");
        this.machine = Objects.requireNonNull(machine, "machine");
        this.progress = Objects.requireNonNull(progress, "progress");
    }

    public BenchOptions options() {
        return options;
    }

    public Machine machine() {
        return machine;
    }

    /** Reports one progress line. */
    public void progress(String line) {
        progress.accept(line);
    }

    /** Measures {@code op} with {@link Throughput} under these options. */
    public Throughput.Stats measure(int threads, Throughput.OpFactory op) throws Exception {
        return Throughput.measure(threads, op, options);
    }
}
