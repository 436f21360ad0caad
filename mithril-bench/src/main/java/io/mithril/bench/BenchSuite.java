package io.mithril.bench;

/**
 * One benchmark suite of {@code mithril bench}: it measures Mithril beside its peers (openssl,
 * nginx, Envoy figures) on this machine, in the same run, and reports a Markdown table.
 *
 * <p>To add a suite: implement this interface in {@code io.mithril.bench} (or a sub-package) and
 * add one line to {@link BenchSuites}.
 */
public interface BenchSuite {

    /** The name typed on the command line, e.g. {@code pki}. */
    String name();

    /** One line saying what is measured. */
    String description();

    /**
     * Runs the suite; reports one progress line per measurement through the context.
     *
     * @throws Exception if the suite cannot run (the CLI prints the message)
     */
    BenchReport run(BenchContext context) throws Exception;
}
