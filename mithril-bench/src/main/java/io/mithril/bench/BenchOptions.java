package io.mithril.bench;

import java.time.Duration;

/**
 * How long and how often to measure.
 *
 * @param runs measured runs per measurement; the report gives their median, min and max
 * @param runTime length of one run
 * @param warmup length of the discarded warm-up run before the measured ones (JIT, caches)
 * @param opensslSeconds the {@code -seconds} given to {@code openssl speed}
 */
public record BenchOptions(int runs, Duration runTime, Duration warmup, int opensslSeconds) {

    /** Five 1-second runs after a 2-second warm-up; {@code openssl speed -seconds 3}. */
    public static final BenchOptions DEFAULTS =
            new BenchOptions(5, Duration.ofSeconds(1), Duration.ofSeconds(2), 3);

    public BenchOptions {
        if (runs < 1) {
            throw new IllegalArgumentException("runs must be at least 1 (got " + runs + ")");
        }
        if (runTime.isNegative() || runTime.isZero()) {
            throw new IllegalArgumentException("run time must be positive (got " + runTime + ")");
        }
        if (warmup.isNegative()) {
            throw new IllegalArgumentException("warm-up must not be negative (got " + warmup + ")");
        }
        if (opensslSeconds < 1) {
            throw new IllegalArgumentException(
                    "openssl seconds must be at least 1 (got " + opensslSeconds + ")");
        }
    }
}
