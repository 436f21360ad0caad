package io.mithril.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class LatenciesTest {

    @Test
    void percentilesUseTheNearestRank() {
        long[] sorted = LongStream.rangeClosed(1, 100).toArray();
        assertThat(Latencies.percentile(sorted, 50)).isEqualTo(50);
        assertThat(Latencies.percentile(sorted, 90)).isEqualTo(90);
        assertThat(Latencies.percentile(sorted, 99)).isEqualTo(99);
        assertThat(Latencies.percentile(sorted, 100)).isEqualTo(100);
        assertThat(Latencies.percentile(new long[] {7}, 99)).isEqualTo(7);
        assertThat(Latencies.percentile(new long[] {1, 2, 3}, 50)).isEqualTo(2);
    }

    @Test
    void ofNanosSortsACopyAndReportsMilliseconds() {
        long[] nanos = {3_000_000, 1_000_000, 2_000_000, 10_000_000};
        Latencies l = Latencies.ofNanos(nanos);
        assertThat(l.count()).isEqualTo(4);
        assertThat(l.p50()).isEqualTo(2.0);
        assertThat(l.p99()).isEqualTo(10.0);
        assertThat(l.max()).isEqualTo(10.0);
        assertThat(nanos).containsExactly(3_000_000, 1_000_000, 2_000_000, 10_000_000);
    }

    @Test
    void noSamplesOrABadPercentileAreRefused() {
        assertThatThrownBy(() -> Latencies.ofNanos(new long[0]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no latency samples");
        assertThatThrownBy(() -> Latencies.percentile(new long[] {1}, 0))
                .hasMessageContaining("(got 0.0)");
    }

    @Test
    void spreadGivesMedianMinMaxAndFormatsThem() {
        Spread s = Spread.of(List.of(3.0, 1.0, 2.0, 10.0));
        assertThat(s.median()).isEqualTo(2.5);
        assertThat(s.min()).isEqualTo(1.0);
        assertThat(s.max()).isEqualTo(10.0);
        assertThat(s.format(1)).isEqualTo("2.5 (1.0-10.0)");
        assertThat(s.map(v -> v * 2).median()).isEqualTo(5.0);
        assertThatThrownBy(() -> Spread.of(List.of())).isInstanceOf(IllegalArgumentException.class);
    }
}
