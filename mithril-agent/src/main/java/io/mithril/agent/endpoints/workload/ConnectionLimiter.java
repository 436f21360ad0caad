package io.mithril.agent.endpoints.workload;

import io.netty.channel.Channel;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts the Workload API connections open, overall and per uid of the caller (from the kernel's
 * peer credentials), and refuses those over {@link WorkloadApiLimits}. Refusals are logged at most
 * once a minute, so a flood of connections does not also flood the log.
 */
final class ConnectionLimiter {

    private static final Logger log = LoggerFactory.getLogger(ConnectionLimiter.class);
    private static final long WARN_EVERY_NANOS = 60_000_000_000L;

    private final int max;
    private final int maxPerUid;
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<Integer, AtomicInteger> perUid = new ConcurrentHashMap<>();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong lastWarn = new AtomicLong(System.nanoTime() - WARN_EVERY_NANOS);

    ConnectionLimiter(int max, int maxPerUid) {
        this.max = max;
        this.maxPerUid = maxPerUid;
    }

    /**
     * Counts {@code ch} (until it closes) if it is within the limits.
     *
     * @return false when it is over a limit: the caller closes it
     */
    boolean admit(Channel ch, int uid) {
        AtomicInteger mine = perUid.computeIfAbsent(uid, u -> new AtomicInteger());
        // '|', not '||': both counters are incremented, and both undone on refusal
        if (open.incrementAndGet() > max | mine.incrementAndGet() > maxPerUid) {
            open.decrementAndGet();
            mine.decrementAndGet();
            warn(uid);
            return false;
        }
        ch.closeFuture()
                .addListener(
                        f -> {
                            open.decrementAndGet();
                            mine.decrementAndGet();
                        });
        return true;
    }

    private void warn(int uid) {
        long n = refused.incrementAndGet();
        long now = System.nanoTime();
        long last = lastWarn.get();
        if (now - last >= WARN_EVERY_NANOS && lastWarn.compareAndSet(last, now)) {
            log.warn(
                    "Workload API connection from uid {} refused: {} connections open, {} by that uid (limits {} and {} per uid);"
                            + " {} refused so far",
                    uid,
                    open.get(),
                    perUid.get(uid).get(),
                    max,
                    maxPerUid,
                    n);
        }
    }
}
