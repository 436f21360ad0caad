package io.mithril.server.api.agent;

import io.mithril.api.agent.FetchBundlesResponse;
import java.time.Duration;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The agent API's {@code FetchBundles} answer, read from the datastore at most once per {@code
 * maxAge} and shared by the calls in between. Every agent fetches the bundles on every sync
 * (SPIRE's: every 5 s), so reading them per call made one sync cost two datastore queries for data
 * that changes a few times a day (SPIRE's users report 600 bundle queries/s at 3,000 agents,
 * spiffe/spire#1342). A bundle change, by this server or another one sharing the database, reaches
 * the agents' next sync at most {@code maxAge} plus one datastore read later: while one call reads,
 * the others are answered from the previous read instead of waiting. Thread-safe.
 */
final class RecentBundles {

    /**
     * How old a shared answer may be; the authorised-entries index has the same bound for other
     * servers' writes.
     */
    static final Duration DEFAULT_MAX_AGE = Duration.ofSeconds(1);

    private record Loaded(FetchBundlesResponse answer, long readStartedNanos) {}

    private final Supplier<FetchBundlesResponse> load;
    private final long maxAgeNanos;
    private final LongSupplier nanoTime;
    private volatile Loaded loaded;
    private final java.util.concurrent.locks.ReentrantLock reading =
            new java.util.concurrent.locks.ReentrantLock();

    /**
     * @param load reads the answer from the datastore (it may throw; nothing is cached then)
     * @param nanoTime the monotonic clock ({@code System::nanoTime}; tests pass their own)
     */
    RecentBundles(Supplier<FetchBundlesResponse> load, Duration maxAge, LongSupplier nanoTime) {
        this.load = load;
        this.maxAgeNanos = maxAge.toNanos();
        this.nanoTime = nanoTime;
    }

    FetchBundlesResponse get() {
        Loaded l = loaded;
        if (l != null && nanoTime.getAsLong() - l.readStartedNanos() < maxAgeNanos) {
            return l.answer();
        }
        if (l != null && !reading.tryLock()) {
            // Another call is reading the datastore: answer from the previous read rather than
            // queue behind it (an attestation burst had its calls wait there in turn). The answer
            // is then at most maxAge plus one read old.
            return l.answer();
        }
        if (l == null) {
            reading.lock(); // nothing to answer from yet: wait for the first read
        }
        try {
            l = loaded;
            long now = nanoTime.getAsLong();
            if (l != null && now - l.readStartedNanos() < maxAgeNanos) {
                return l.answer(); // another call read it while we waited
            }
            // Aged from when the read began, so the answer is never older than maxAge past its
            // data.
            FetchBundlesResponse answer = load.get();
            loaded = new Loaded(answer, now);
            return answer;
        } finally {
            reading.unlock();
        }
    }
}
