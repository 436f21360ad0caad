package io.mithril.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ThroughputTest {

    static final BenchOptions QUICK =
            new BenchOptions(3, Duration.ofMillis(50), Duration.ofMillis(10), 1);

    static Throughput.Run run(double wall, double cpu) {
        return new Throughput.Run(wall, cpu);
    }

    @Test
    void statsGiveMedianMinAndMaxOfTheRuns() {
        Throughput.Stats s =
                new Throughput.Stats(
                        List.of(
                                run(30, 300),
                                run(10, 100),
                                run(50, 500),
                                run(20, 200),
                                run(40, 400)));
        assertThat(s.median()).isEqualTo(30.0);
        assertThat(s.min()).isEqualTo(10.0);
        assertThat(s.max()).isEqualTo(50.0);
        assertThat(s.cpuMedian()).isEqualTo(300.0);
        assertThat(new Throughput.Stats(List.of(run(1, 1), run(3, 3))).median()).isEqualTo(2.0);
    }

    @Test
    void cpuNormalisedRateIsAtLeastTheWallRateForABusyLoop() throws Exception {
        // A CPU-bound op can only use as much CPU as wall time, so per-CPU >= wall (minus
        // accounting jitter).
        Throughput.Stats s =
                Throughput.measure(
                        1,
                        t ->
                                () -> {
                                    long x = 0;
                                    for (int i = 0; i < 10_000; i++) {
                                        x += i * 31L;
                                    }
                                    if (x == 42) {
                                        throw new IllegalStateException();
                                    }
                                },
                        QUICK);
        assertThat(s.cpuMedian()).isGreaterThan(s.median() * 0.8);
    }

    @Test
    void everyThreadGetsItsOwnOpAndAllOperationsAreCounted() throws Exception {
        Set<Integer> threads = ConcurrentHashMap.newKeySet();
        AtomicLong calls = new AtomicLong();
        Throughput.Stats s =
                Throughput.measure(
                        2,
                        t -> {
                            threads.add(t);
                            return calls::incrementAndGet;
                        },
                        QUICK);
        assertThat(threads).containsExactlyInAnyOrder(0, 1);
        assertThat(s.runs()).hasSize(3);
        assertThat(s.min()).isPositive();
        assertThat(calls.get()).isPositive();
    }

    @Test
    void aFailingOperationFailsTheMeasurement() {
        assertThatThrownBy(
                        () ->
                                Throughput.measure(
                                        1,
                                        t ->
                                                () -> {
                                                    throw new IllegalStateException(
                                                            "broken workload");
                                                },
                                        QUICK))
                .hasMessage("broken workload");
    }
}
