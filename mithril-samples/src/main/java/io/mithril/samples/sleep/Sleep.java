package io.mithril.samples.sleep;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Istio's {@code sleep} sample: a client workload that does nothing but stay up (the sample's
 * container runs {@code sleep 3650d}) so that there is a process with the {@code sleep} identity
 * for the demo to run {@code curl} as. It serves nothing and calls nothing.
 */
public final class Sleep {

    private final CountDownLatch stopped = new CountDownLatch(1);

    /**
     * Blocks until {@code duration} has passed or {@link #stop()} is called.
     *
     * @return true if stopped, false if the duration ran out
     */
    public boolean run(Duration duration) throws InterruptedException {
        long nanos =
                duration.compareTo(Duration.ofNanos(Long.MAX_VALUE)) >= 0
                        ? Long.MAX_VALUE
                        : duration.toNanos();
        return stopped.await(nanos, TimeUnit.NANOSECONDS);
    }

    /** Ends {@link #run} (for a shutdown hook or a test). */
    public void stop() {
        stopped.countDown();
    }

    /**
     * Parses a duration as coreutils' {@code sleep} does: a number with an optional suffix {@code
     * s} (default), {@code m}, {@code h} or {@code d}, e.g. {@code 3650d}, {@code 30}, {@code
     * 1.5h}.
     *
     * @throws IllegalArgumentException quoting the text
     */
    public static Duration parseDuration(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        long unitSeconds = 1;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 's' -> t = t.substring(0, t.length() - 1);
                case 'm' -> {
                    unitSeconds = 60;
                    t = t.substring(0, t.length() - 1);
                }
                case 'h' -> {
                    unitSeconds = 3600;
                    t = t.substring(0, t.length() - 1);
                }
                case 'd' -> {
                    unitSeconds = 86400;
                    t = t.substring(0, t.length() - 1);
                }
                default -> {
                    // a bare number of seconds
                }
            }
        }
        if (!t.matches("[0-9]+(\\.[0-9]+)?")) {
            throw new IllegalArgumentException(
                    "invalid time interval \""
                            + text
                            + "\"; write a number with an optional suffix s, m, h or d, like 3650d");
        }
        double seconds = Double.parseDouble(t) * unitSeconds;
        if (seconds > Long.MAX_VALUE / 1_000_000_000.0) {
            return Duration.ofSeconds(Long.MAX_VALUE / 1_000_000_000L);
        }
        return Duration.ofNanos((long) (seconds * 1_000_000_000.0));
    }
}
