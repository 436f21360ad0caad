package io.mithril.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * Operations per second of a workload, on one or several threads: a warm-up run that is discarded,
 * then {@link BenchOptions#runs()} measured runs of {@link BenchOptions#runTime()} each; the result
 * keeps every run and reports their median, min and max.
 */
public final class Throughput {

    private Throughput() {}

    /** One operation of the workload. */
    @FunctionalInterface
    public interface Op {
        void run() throws Exception;
    }

    /** Makes each thread's operation (so threads can hold their own state). */
    @FunctionalInterface
    public interface OpFactory {
        Op newOp(int thread) throws Exception;
    }

    /**
     * One measured run.
     *
     * @param opsPerSecond operations over wall-clock time: what the machine delivered
     * @param opsPerCpuSecond operations over the CPU time the threads used, times the thread count:
     *     the rate had every thread a core of its own. {@code openssl speed} reports this way (user
     *     CPU time) by default, so this is the figure to compare with it on a busy machine.
     */
    public record Run(double opsPerSecond, double opsPerCpuSecond) {}

    /** The measured runs. */
    public record Stats(List<Run> runs) {
        public Stats {
            runs = List.copyOf(runs);
            if (runs.isEmpty()) {
                throw new IllegalArgumentException("no runs");
            }
        }

        /** Median of the wall-clock rates. */
        public double median() {
            return median(wall());
        }

        public double min() {
            return Collections.min(wall());
        }

        public double max() {
            return Collections.max(wall());
        }

        /** Median of the CPU-normalised rates. */
        public double cpuMedian() {
            return median(cpu());
        }

        private List<Double> wall() {
            return runs.stream().map(Run::opsPerSecond).toList();
        }

        private List<Double> cpu() {
            return runs.stream().map(Run::opsPerCpuSecond).toList();
        }

        static double median(List<Double> values) {
            List<Double> s = new ArrayList<>(values);
            Collections.sort(s);
            int n = s.size();
            return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
        }
    }

    /**
     * Runs the workload on {@code threads} threads.
     *
     * @throws Exception the first failure of any operation (a benchmark of failing operations means
     *     nothing)
     */
    public static Stats measure(int threads, OpFactory factory, BenchOptions options)
            throws Exception {
        List<Op> ops = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            ops.add(factory.newOp(t));
        }
        if (!options.warmup().isZero()) {
            once(ops, options.warmup().toNanos());
        }
        List<Run> runs = new ArrayList<>();
        for (int r = 0; r < options.runs(); r++) {
            runs.add(once(ops, options.runTime().toNanos()));
        }
        return new Stats(runs);
    }

    /**
     * One run: every thread loops until the deadline; the rate is all operations over the wall
     * time.
     */
    private static Run once(List<Op> ops, long nanos) throws Exception {
        LongAdder count = new LongAdder();
        LongAdder cpuNanos = new LongAdder();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        AtomicReference<Exception> failure = new AtomicReference<>();
        CountDownLatch ready = new CountDownLatch(ops.size());
        CountDownLatch go = new CountDownLatch(1);
        long[] deadline = new long[1];
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            Thread t =
                    new Thread(
                            () -> {
                                ready.countDown();
                                try {
                                    go.await();
                                    long cpu0 = mx.getCurrentThreadCpuTime();
                                    long n = 0;
                                    long end = deadline[0];
                                    while (System.nanoTime() < end && failure.get() == null) {
                                        op.run();
                                        n++;
                                    }
                                    count.add(n);
                                    cpuNanos.add(mx.getCurrentThreadCpuTime() - cpu0);
                                } catch (Exception e) {
                                    failure.compareAndSet(null, e);
                                }
                            },
                            "bench-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        ready.await();
        long start = System.nanoTime();
        deadline[0] = start + nanos;
        go.countDown(); // the latch publishes deadline[0] to the workers
        for (Thread t : threads) {
            t.join();
        }
        long elapsed = System.nanoTime() - start;
        if (failure.get() != null) {
            throw failure.get();
        }
        double wall = count.sum() / (elapsed / 1e9);
        long cpu = cpuNanos.sum();
        // Without thread CPU accounting (cpu <= 0), fall back to the wall-clock rate.
        double perCpu = cpu > 0 ? count.sum() / (cpu / 1e9 / ops.size()) : wall;
        return new Run(wall, perCpu);
    }
}
