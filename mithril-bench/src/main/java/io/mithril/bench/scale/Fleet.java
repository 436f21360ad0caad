package io.mithril.bench.scale;

import io.grpc.Status;
import io.grpc.StatusException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Many {@link SimAgent}s in one JVM, each syncing on its own schedule: the first sync at a random
 * point of the first interval (so syncs spread over time, as agents started at different moments
 * do), then one interval after the previous sync ended; after a failed sync the node agent's
 * backoff ({@code SyncManager}: one interval after the first failure, then 2, 4, at most six
 * intervals). A pool of threads runs the syncs (blocking gRPC calls). Counts calls, syncs, failures
 * and SVIDs received, and records each successful sync's latency while {@link #recordLatencies} is
 * on.
 */
public final class Fleet implements AutoCloseable {

    private final List<SimAgent> agents;
    private final Duration interval;
    private final SimAgent.Receipts receipts;
    private final ScheduledThreadPoolExecutor pool;
    private final long[] lastSyncOk;
    private final int[] failures;

    final LongAdder syncs = new LongAdder();
    final LongAdder syncFailures = new LongAdder();
    final LongAdder calls = new LongAdder();
    final LongAdder svidsReceived = new LongAdder();
    final LongAdder agentRenewals = new LongAdder();
    private final AtomicLong lastFailure = new AtomicLong();
    private volatile String lastError = "";
    private volatile boolean recording;
    private final List<Long> latencies = new ArrayList<>();

    public Fleet(
            List<SimAgent> agents, Duration interval, int threads, SimAgent.Receipts receipts) {
        this.agents = List.copyOf(agents);
        this.interval = interval;
        this.receipts = receipts;
        this.pool =
                new ScheduledThreadPoolExecutor(
                        threads,
                        r -> {
                            Thread t = new Thread(r, "scale-agent-sync");
                            t.setDaemon(true);
                            return t;
                        });
        this.lastSyncOk = new long[agents.size()];
        this.failures = new int[agents.size()];
    }

    public List<SimAgent> agents() {
        return agents;
    }

    /**
     * Starts every agent's sync loop, the first sync of each at a random point of the first
     * interval.
     */
    public void start() {
        for (int i = 0; i < agents.size(); i++) {
            int n = i;
            pool.schedule(
                    () -> loop(n),
                    ThreadLocalRandom.current().nextLong(interval.toMillis()),
                    TimeUnit.MILLISECONDS);
        }
    }

    private void loop(int n) {
        if (pool.isShutdown()) {
            return;
        }
        SimAgent a = agents.get(n);
        long start = System.nanoTime();
        long delay;
        try {
            SimAgent.SyncResult r = a.sync(receipts);
            long took = System.nanoTime() - start;
            calls.add(r.calls());
            svidsReceived.add(r.svidsReceived());
            if (r.agentRenewed()) {
                agentRenewals.increment();
            }
            syncs.increment();
            if (recording) {
                synchronized (latencies) {
                    latencies.add(took);
                }
            }
            synchronized (this) {
                lastSyncOk[n] = System.nanoTime();
                failures[n] = 0;
            }
            delay = interval.toMillis();
        } catch (StatusException | RuntimeException e) {
            syncFailures.increment();
            lastFailure.set(System.nanoTime());
            lastError = Status.fromThrowable(e).toString();
            int f;
            synchronized (this) {
                f = ++failures[n];
            }
            delay = Math.min(interval.toMillis() << Math.min(f - 1, 10), interval.toMillis() * 6);
        }
        if (!pool.isShutdown()) {
            pool.schedule(() -> loop(n), delay, TimeUnit.MILLISECONDS);
        }
    }

    /** Starts (clearing what was recorded) or stops recording sync latencies. */
    public void recordLatencies(boolean on) {
        synchronized (latencies) {
            if (on) {
                latencies.clear();
            }
            recording = on;
        }
    }

    /** The sync latencies recorded, in nanoseconds. */
    public long[] latencies() {
        synchronized (latencies) {
            return latencies.stream().mapToLong(Long::longValue).toArray();
        }
    }

    /** System.nanoTime() of each agent's last successful sync (0: none yet). */
    public synchronized long[] lastSyncOk() {
        return lastSyncOk.clone();
    }

    /** The last sync error seen, for progress lines ("" if none). */
    public String lastError() {
        return lastError;
    }

    /** Counters, for a snapshot of the fleet's totals. */
    public Totals totals() {
        return new Totals(
                syncs.sum(),
                syncFailures.sum(),
                calls.sum(),
                svidsReceived.sum(),
                agentRenewals.sum());
    }

    /** The fleet's cumulative counts at one moment. */
    public record Totals(
            long syncs, long syncFailures, long calls, long svidsReceived, long agentRenewals) {
        public Totals minus(Totals o) {
            return new Totals(
                    syncs - o.syncs,
                    syncFailures - o.syncFailures,
                    calls - o.calls,
                    svidsReceived - o.svidsReceived,
                    agentRenewals - o.agentRenewals);
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
        try {
            pool.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        agents.forEach(SimAgent::close);
    }
}
