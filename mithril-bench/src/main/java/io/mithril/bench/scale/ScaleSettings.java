package io.mithril.bench.scale;

import java.time.Duration;
import java.util.Map;

/**
 * What {@code mithril bench scale} runs with: {@code -agents}, {@code -entries}, {@code
 * -syncSeconds}, {@code -scaleSeconds} and {@code -failoverAgents} of the bench command. The
 * defaults are the scale (5,000 agents, 50,000 entries) with a 300 s window, so a 600 s
 * X.509-SVID TTL: the 50,000 SVIDs are renewed at about 170/s in steady state (a 60 s window would
 * ask 830/s, more than a shared 2-core machine signs, delivers and verifies while serving 1,000
 * syncs/s).
 *
 * @param agents simulated agents of the one-server run
 * @param entries registration entries of the one-server run, spread evenly over the agents
 * @param syncInterval how often each agent syncs (SPIRE's default: 5 s)
 * @param window the measured steady-state window; the X.509-SVID TTL is twice it ({@link
 *     #svidTtl}), so that every SVID is renewed about once, at 40-60% of its life, within the
 *     window
 * @param probes new entries created during the window to time propagation (the issue: 100)
 * @param failoverAgents simulated agents of the two-server run (10 entries each)
 */
public record ScaleSettings(
        int agents,
        int entries,
        Duration syncInterval,
        Duration window,
        int probes,
        int failoverAgents) {

    public static final ScaleSettings DEFAULTS =
            new ScaleSettings(
                    5_000, 50_000, Duration.ofSeconds(5), Duration.ofSeconds(300), 100, 100);

    public ScaleSettings {
        if (agents < 1) {
            throw new IllegalArgumentException("-agents must be at least 1 (got " + agents + ")");
        }
        if (entries < agents) {
            throw new IllegalArgumentException(
                    "-entries must be at least -agents ("
                            + agents
                            + "), one per agent (got "
                            + entries
                            + ")");
        }
        if (syncInterval.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException(
                    "-syncSeconds must be at least 0.1 (got "
                            + syncInterval.toMillis() / 1000.0
                            + ")");
        }
        if (window.compareTo(syncInterval.multipliedBy(4)) < 0) {
            throw new IllegalArgumentException(
                    "-scaleSeconds must be at least four sync intervals ("
                            + syncInterval.multipliedBy(4).toSeconds()
                            + " s; got "
                            + window.toSeconds()
                            + ")");
        }
        if (probes < 1) {
            throw new IllegalArgumentException("probes must be at least 1 (got " + probes + ")");
        }
        if (failoverAgents < 0) {
            throw new IllegalArgumentException(
                    "-failoverAgents must not be negative (got "
                            + failoverAgents
                            + "); 0 skips the failover run");
        }
    }

    /**
     * The settings from the bench command's suite options (absent keys keep the defaults).
     *
     * @throws IllegalArgumentException naming the flag, for a value that is not a number or out of
     *     range
     */
    public static ScaleSettings from(Map<String, String> options) {
        ScaleSettings d = DEFAULTS;
        return new ScaleSettings(
                integer(options, "agents", d.agents),
                integer(options, "entries", d.entries),
                seconds(options, "syncSeconds", d.syncInterval),
                seconds(options, "scaleSeconds", d.window),
                d.probes,
                integer(options, "failoverAgents", d.failoverAgents));
    }

    /**
     * The X.509-SVID TTL the servers are given: twice the window, so each SVID is renewed about
     * once in it.
     */
    public Duration svidTtl() {
        return window.multipliedBy(2);
    }

    /** The settings a test uses: everything explicit. */
    public ScaleSettings withFailoverAgents(int n) {
        return new ScaleSettings(agents, entries, syncInterval, window, probes, n);
    }

    private static int integer(Map<String, String> options, String key, int dflt) {
        String v = options.get(key);
        if (v == null) {
            return dflt;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "-" + key + " must be a whole number (got \"" + v + "\")");
        }
    }

    private static Duration seconds(Map<String, String> options, String key, Duration dflt) {
        String v = options.get(key);
        if (v == null) {
            return dflt;
        }
        try {
            double s = Double.parseDouble(v.trim());
            if (!(s > 0) || Double.isInfinite(s)) {
                throw new NumberFormatException();
            }
            return Duration.ofMillis((long) (s * 1000));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "-" + key + " must be a positive number of seconds (got \"" + v + "\")");
        }
    }
}
