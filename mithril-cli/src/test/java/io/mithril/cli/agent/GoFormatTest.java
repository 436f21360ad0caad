package io.mithril.cli.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class GoFormatTest {

    @Test
    void durationsPrintLikeGo() {
        assertThat(GoFormat.duration(Duration.ofNanos(3_200_000))).isEqualTo("3.2ms");
        assertThat(GoFormat.duration(Duration.ofNanos(8_939_531))).isEqualTo("8.939531ms");
        assertThat(GoFormat.duration(Duration.ofNanos(850_000))).isEqualTo("850µs");
        assertThat(GoFormat.duration(Duration.ofMillis(1500))).isEqualTo("1.5s");
        assertThat(GoFormat.duration(Duration.ofSeconds(123))).isEqualTo("2m3s");
        assertThat(GoFormat.duration(Duration.ofSeconds(3600))).isEqualTo("1h0m0s");
    }

    @Test
    void timesPrintLikeGoInUtc() {
        assertThat(GoFormat.time(Instant.parse("2018-01-15T19:46:58Z")))
                .isEqualTo("2018-01-15 19:46:58 +0000 UTC");
    }

    @Test
    void goDurationsParse() {
        assertThat(GoFormat.parseDuration("5s")).isEqualTo(Duration.ofSeconds(5));
        assertThat(GoFormat.parseDuration("1m30s")).isEqualTo(Duration.ofSeconds(90));
        assertThat(GoFormat.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(GoFormat.parseDuration("10")).isEqualTo(Duration.ofSeconds(10));
        assertThatThrownBy(() -> GoFormat.parseDuration("5 seconds"))
                .hasMessageContaining("invalid duration \"5 seconds\"");
    }
}
