package io.mithril.bench;

import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * What a suite runs with: the options, the machine it runs on, and where progress lines go (the CLI
 * prints them to stderr, one per measurement, so a long run shows it is alive).
 */
public final class BenchContext {

    private final BenchOptions options;
    private final Machine machine;
    private final Consumer<String> progress;
    private final Map<String, String> suiteOptions;

    public BenchContext(BenchOptions options, Machine machine, Consumer<String> progress) {
        this(options, machine, progress, Map.of());
    }

    /**
     * @param suiteOptions options only some suites read, by flag name without its dash (e.g. {@code
     *     agents} for the {@code scale} suite's {@code -agents})
     */
    public BenchContext(
            BenchOptions options,
            Machine machine,
            Consumer<String> progress,
            Map<String, String> suiteOptions) {
        this.options = Objects.requireNonNull(options, "options");
        this.machine = Objects.requireNonNull(machine, "machine");
        this.progress = Objects.requireNonNull(progress, "progress");
        this.suiteOptions = Map.copyOf(suiteOptions);
    }

    /** The options only some suites read (see the constructor). */
    public Map<String, String> suiteOptions() {
        return suiteOptions;
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
