package io.mithril.cli.bench;

import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchOptions;
import io.mithril.bench.BenchReport;
import io.mithril.bench.BenchSuite;
import io.mithril.bench.BenchSuites;
import io.mithril.bench.Machine;
import io.mithril.cli.Cli;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mithril bench [suite...]}: runs benchmark suites (all known ones when none is named),
 * prints each suite's Markdown table to stdout and writes it to {@code <out>/<suite>-<date>.md};
 * one progress line per measurement goes to stderr.
 */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {
            "Measure Mithril beside its peers (openssl speed, ...) on this machine, in one run.",
            "Prints a Markdown table per suite and writes it to bench/results/<suite>-<date>.md."
        })
public final class BenchCommand implements Callable<Integer> {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(
            arity = "0..*",
            paramLabel = "SUITE",
            description = "Suites to run (default: all known suites; see -list).")
    List<String> suites = new ArrayList<>();

    @Option(
            names = {"-list", "--list"},
            description = "List the known suites and exit.")
    boolean list;

    @Option(
            names = {"-runs", "--runs"},
            defaultValue = "5",
            description = "Measured runs per measurement (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(
            names = {"-seconds", "--seconds"},
            defaultValue = "1",
            description = "Length of one run in seconds (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(
            names = {"-warmup", "--warmup"},
            defaultValue = "2",
            description = "Warm-up before the runs, in seconds (default: ${DEFAULT-VALUE}).")
    double warmup;

    @Option(
            names = {"-opensslSeconds", "--opensslSeconds"},
            defaultValue = "3",
            description = "The -seconds given to openssl speed (default: ${DEFAULT-VALUE}).")
    int opensslSeconds;

    @Option(
            names = {"-agents", "--agents"},
            description = "scale: simulated agents (default: 500; the issue's scale: 5000).")
    Integer agents;

    @Option(
            names = {"-entries", "--entries"},
            description = "scale: registration entries, spread over the agents (default: 5000).")
    Integer entries;

    @Option(
            names = {"-syncSeconds", "--syncSeconds"},
            description = "scale: each agent's sync interval (default: 5, SPIRE's).")
    Double syncSeconds;

    @Option(
            names = {"-scaleSeconds", "--scaleSeconds"},
            description =
                    "scale: the measured window, and the SVID TTLs so renewals fall in it (default: 60).")
    Double scaleSeconds;

    @Option(
            names = {"-failoverAgents", "--failoverAgents"},
            description =
                    "scale: agents of the two-servers-behind-HAProxy run; 0 skips it (default: 100).")
    Integer failoverAgents;

    @Option(
            names = {"-out", "--out"},
            defaultValue = "bench/results",
            description = "Directory for the result files (default: ${DEFAULT-VALUE}).")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        if (list) {
            for (BenchSuite s : BenchSuites.all()) {
                stdout.println(s.name() + "\t" + s.description());
            }
            stdout.flush();
            return 0;
        }
        List<BenchSuite> chosen = new ArrayList<>();
        for (String name : suites) {
            chosen.add(
                    BenchSuites.find(name)
                            .orElseThrow(
                                    () ->
                                            new Cli.UserException(
                                                    "unknown bench suite \""
                                                            + name
                                                            + "\": known suites are "
                                                            + String.join(
                                                                    ", ", BenchSuites.names()))));
        }
        if (chosen.isEmpty()) {
            chosen.addAll(BenchSuites.all());
        }
        BenchOptions options;
        try {
            options =
                    new BenchOptions(
                            runs,
                            seconds(seconds, "-seconds"),
                            seconds(warmup, "-warmup"),
                            opensslSeconds);
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
        Machine machine = Machine.current();
        java.util.Map<String, String> suiteOptions = new java.util.LinkedHashMap<>();
        putIfSet(suiteOptions, "agents", agents);
        putIfSet(suiteOptions, "entries", entries);
        putIfSet(suiteOptions, "syncSeconds", syncSeconds);
        putIfSet(suiteOptions, "scaleSeconds", scaleSeconds);
        putIfSet(suiteOptions, "failoverAgents", failoverAgents);
        if (!suiteOptions.isEmpty() && !suites.isEmpty() && !suites.contains("scale")) {
            throw new Cli.UserException(
                    "-"
                            + String.join(", -", suiteOptions.keySet())
                            + ": only the scale suite reads these; run `bench scale ...`");
        }
        try {
            io.mithril.bench.scale.ScaleSettings.from(suiteOptions);
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
        BenchContext ctx =
                new BenchContext(
                        options,
                        machine,
                        line -> {
                            stderr.println(line);
                            stderr.flush();
                        },
                        suiteOptions);
        for (BenchSuite suite : chosen) {
            BenchReport report = suite.run(ctx);
            stdout.println(report.markdown());
            stdout.flush();
            Path file = report.write(out);
            stderr.println("bench " + suite.name() + ": wrote " + file);
            stderr.flush();
        }
        return 0;
    }

    private static void putIfSet(java.util.Map<String, String> into, String key, Object value) {
        if (value != null) {
            into.put(key, value.toString());
        }
    }

    private static Duration seconds(double s, String flag) {
        if (Double.isNaN(s) || s < 0) {
            throw new Cli.UserException(
                    flag + " must be a non-negative number of seconds (got " + s + ")");
        }
        return Duration.ofNanos((long) (s * 1e9));
    }
}
