package io.mithril.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PerIpRateLimiterTest {

    static final long SECOND = 1_000_000_000L;
    final AtomicLong now = new AtomicLong(42 * SECOND);
    final InetAddress a = InetAddress.getLoopbackAddress();
    final InetAddress b = InetAddress.getByAddress(new byte[] {10, 0, 0, 2});

    PerIpRateLimiterTest() throws Exception {}

    @Test
    void oneAttestationASecondPerIpAndWaitsQueueUp() {
        PerIpRateLimiter limiter = new PerIpRateLimiter(1, 30 * SECOND, now::get);
        assertThat(limiter.reserve(a, 1)).isZero();
        assertThat(limiter.reserve(a, 1)).isEqualTo(SECOND);
        assertThat(limiter.reserve(a, 1)).isEqualTo(2 * SECOND);
        // another address has its own bucket
        assertThat(limiter.reserve(b, 1)).isZero();
        now.addAndGet(3 * SECOND);
        assertThat(limiter.reserve(a, 1)).isZero();
    }

    @Test
    void aWaitOverTheMaximumIsRefusedAndCostsNothing() {
        PerIpRateLimiter limiter = new PerIpRateLimiter(1, 2 * SECOND, now::get);
        assertThat(limiter.reserve(a, 1)).isZero();
        assertThat(limiter.reserve(a, 1)).isEqualTo(SECOND);
        assertThat(limiter.reserve(a, 1)).isEqualTo(2 * SECOND);
        assertThat(limiter.reserve(a, 1)).isEqualTo(PerIpRateLimiter.TOO_LONG);
        now.addAndGet(SECOND);
        assertThat(limiter.reserve(a, 1)).isEqualTo(2 * SECOND);
    }

    @Test
    void moreThanTheBurstIsRefusedOutright() {
        PerIpRateLimiter limiter = new PerIpRateLimiter(500, 30 * SECOND, now::get);
        assertThat(limiter.reserve(a, 501)).isEqualTo(PerIpRateLimiter.OVER_BURST);
        assertThat(limiter.reserve(a, 500)).isZero();
        assertThat(limiter.reserve(a, 250)).isEqualTo(SECOND / 2);
    }

    @Test
    void theBucketRefillsToTheBurstAndNoFurther() {
        PerIpRateLimiter limiter = new PerIpRateLimiter(500, 30 * SECOND, now::get);
        assertThat(limiter.reserve(a, 500)).isZero();
        now.addAndGet(10 * SECOND);
        assertThat(limiter.reserve(a, 500)).isZero();
        assertThat(limiter.reserve(a, 1)).isEqualTo(SECOND / 500);
    }
}
