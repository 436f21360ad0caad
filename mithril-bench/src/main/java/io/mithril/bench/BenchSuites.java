package io.mithril.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The registry of known bench suites, in the order {@code mithril bench} runs them when no suite is
 * named. Suites are listed here in plain code (no class-path scanning); add yours with one {@code
 * register(...)} line, or call {@link #register} at start-up from another module.
 */
public final class BenchSuites {

    private static final Map<String, BenchSuite> SUITES = new LinkedHashMap<>();

    static {
        register(new PkiBench());
        register(new io.mithril.bench.server.ServerBench());
        register(new io.mithril.bench.gateway.GatewayBench());
        register(new io.mithril.bench.workload.WorkloadApiBench());
        register(new io.mithril.bench.sidecar.SidecarBench());
        register(new io.mithril.bench.demo.DemoBench());
        register(new io.mithril.bench.scale.ScaleBench());
    }

    private BenchSuites() {}

    /**
     * Adds a suite.
     *
     * @throws IllegalArgumentException if a suite of that name is already registered
     */
    public static synchronized void register(BenchSuite suite) {
        if (SUITES.putIfAbsent(suite.name(), suite) != null) {
            throw new IllegalArgumentException(
                    "bench suite \"" + suite.name() + "\" is already registered");
        }
    }

    /** Every known suite, in registration order. */
    public static synchronized List<BenchSuite> all() {
        return List.copyOf(new ArrayList<>(SUITES.values()));
    }

    /** The suite of that name. */
    public static synchronized Optional<BenchSuite> find(String name) {
        return Optional.ofNullable(SUITES.get(name));
    }

    /** The names of every known suite, in order. */
    public static synchronized List<String> names() {
        return List.copyOf(SUITES.keySet());
    }
}
