package io.mithril.bench;

import java.util.Arrays;
import java.util.Locale;

/**
 * Latency percentiles of one run, by the nearest-rank method (the p-th percentile is the smallest
 * sample with at least p% of the samples at or below it), in milliseconds.
 *
 * @param count samples
 * @param p50 median, ms
 * @param p90 90th percentile, ms
 * @param p99 99th percentile, ms
 * @param max largest sample, ms
 */
public record Latencies(int count, double p50, double p90, double p99, double max) {

    /**
     * The percentiles of {@code nanos} (the array is not modified).
     *
     * @throws IllegalArgumentException if there are no samples
     */
    public static Latencies ofNanos(long[] nanos) {
        if (nanos.length == 0) {
            throw new IllegalArgumentException("no latency samples");
        }
        long[] s = nanos.clone();
        Arrays.sort(s);
        return new Latencies(
                s.length,
                ms(percentile(s, 50)),
                ms(percentile(s, 90)),
                ms(percentile(s, 99)),
                ms(s[s.length - 1]));
    }

    /** The nearest-rank percentile {@code p} (0 < p <= 100) of sorted samples. */
    public static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            throw new IllegalArgumentException("no samples");
        }
        if (!(p > 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile must be in (0, 100] (got " + p + ")");
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    /** {@code 0.123} style: milliseconds with three decimals. */
    public static String ms(double millis) {
        return String.format(Locale.ROOT, "%.3f", millis);
    }
}
