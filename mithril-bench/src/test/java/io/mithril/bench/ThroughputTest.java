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

    static final BenchOptions QUICK = new BenchOptions(3, Duration.ofMillis(50), Duration.ofMillis(10), 1);

    @Test
    void statsGiveMedianMinAndMaxOfTheRuns() {
        Throughput.Stats s = new Throughput.Stats(List.of(30.0, 10.0, 50.0, 20.0, 40.0));
        assertThat(s.median()).isEqualTo(30.0);
        assertThat(s.min()).isEqualTo(10.0);
        assertThat(s.max()).isEqualTo(50.0);
        assertThat(new Throughput.Stats(List.of(1.0, 3.0)).median()).isEqualTo(2.0);
    }

    @Test
    void everyThreadGetsItsOwnOpAndAllOperationsAreCounted() throws Exception {
        Set<Integer> threads = ConcurrentHashMap.newKeySet();
        AtomicLong calls = new AtomicLong();
        Throughput.Stats s = Throughput.measure(2, t -> {
            threads.add(t);
            return calls::incrementAndGet;
        }, QUICK);
        assertThat(threads).containsExactlyInAnyOrder(0, 1);
        assertThat(s.runs()).hasSize(3);
        assertThat(s.min()).isPositive();
        assertThat(calls.get()).isPositive();
    }

    @Test
    void aFailingOperationFailsTheMeasurement() {
        assertThatThrownBy(() -> Throughput.measure(1, t -> () -> {
            throw new IllegalStateException("broken workload");
        }, QUICK)).hasMessage("broken workload");
    }
}
