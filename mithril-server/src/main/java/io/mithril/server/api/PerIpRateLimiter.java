package io.mithril.server.api;

import java.net.InetAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * A token bucket per client IP, as SPIRE's per-IP limiter ({@code rate.NewLimiter(limit, limit)}):
 * {@code perSecond} operations a second with a burst of as many. A caller asks for {@code n}
 * operations and learns how long to wait for them; waits queue up (each reservation is paid for in
 * advance), and a reservation that would wait longer than {@code maxWaitNanos}, or asks for more
 * than the burst, is refused and costs nothing.
 */
public final class PerIpRateLimiter {

    /** {@link #reserve}'s answer for more operations than the burst allows at all. */
    public static final long OVER_BURST = -1;

    /** {@link #reserve}'s answer when the wait would exceed the maximum. */
    public static final long TOO_LONG = -2;

    private static final int SWEEP_ABOVE = 4096;

    private final int perSecond;
    private final long maxWaitNanos;
    private final LongSupplier nanoTime;
    private final Map<InetAddress, Bucket> buckets = new ConcurrentHashMap<>();

    public PerIpRateLimiter(int perSecond, long maxWaitNanos, LongSupplier nanoTime) {
        if (perSecond <= 0) {
            throw new IllegalArgumentException("perSecond must be positive: " + perSecond);
        }
        this.perSecond = perSecond;
        this.maxWaitNanos = maxWaitNanos;
        this.nanoTime = nanoTime;
    }

    /**
     * Reserves {@code n} operations for {@code ip}.
     *
     * @return nanoseconds to wait before doing them (0: at once), {@link #OVER_BURST} or {@link
     *     #TOO_LONG}
     */
    public long reserve(InetAddress ip, int n) {
        if (n > perSecond) {
            return OVER_BURST;
        }
        long now = nanoTime.getAsLong();
        if (buckets.size() > SWEEP_ABOVE) {
            buckets.values().removeIf(b -> b.fullAt(now, perSecond));
        }
        Bucket bucket = buckets.computeIfAbsent(ip, k -> new Bucket(perSecond, now));
        synchronized (bucket) {
            bucket.refill(now, perSecond);
            double after = bucket.tokens - n;
            long wait = after >= 0 ? 0 : (long) Math.ceil(-after * 1e9 / perSecond);
            if (wait > maxWaitNanos) {
                return TOO_LONG;
            }
            bucket.tokens = after;
            return wait;
        }
    }

    private static final class Bucket {
        double tokens;
        long last;

        Bucket(int burst, long now) {
            tokens = burst;
            last = now;
        }

        void refill(long now, int perSecond) {
            tokens = Math.min(perSecond, tokens + (now - last) * perSecond / 1e9);
            last = now;
        }

        synchronized boolean fullAt(long now, int perSecond) {
            return tokens + (now - last) * perSecond / 1e9 >= perSecond;
        }
    }
}
