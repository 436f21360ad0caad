package io.mithril.server.ca;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * SPIRE's thresholds: prepare at min(life/2, 30d) remaining, activate at min(life/6, 7d) remaining.
 */
class RotationRuleTest {

    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @Test
    void dayLongCaIsPreparedAtHalfLife() {
        Instant end = T0.plus(Duration.ofHours(24));
        assertThat(CaManager.shouldPrepare(T0, end, T0.plus(Duration.ofHours(11)))).isFalse();
        assertThat(CaManager.shouldPrepare(T0, end, T0.plus(Duration.ofHours(12)))).isTrue();
    }

    @Test
    void dayLongCaIsActivatedAtFourHoursLeft() {
        Instant end = T0.plus(Duration.ofHours(24));
        assertThat(CaManager.shouldActivate(T0, end, T0.plus(Duration.ofHours(19)))).isFalse();
        assertThat(CaManager.shouldActivate(T0, end, T0.plus(Duration.ofHours(20)))).isTrue();
    }

    @Test
    void yearLongCaIsPreparedThirtyDaysAndActivatedSevenDaysBeforeExpiry() {
        Instant end = T0.plus(Duration.ofDays(365));
        assertThat(CaManager.shouldPrepare(T0, end, end.minus(Duration.ofDays(31)))).isFalse();
        assertThat(CaManager.shouldPrepare(T0, end, end.minus(Duration.ofDays(30)))).isTrue();
        assertThat(CaManager.shouldActivate(T0, end, end.minus(Duration.ofDays(8)))).isFalse();
        assertThat(CaManager.shouldActivate(T0, end, end.minus(Duration.ofDays(7)))).isTrue();
    }
}
