package io.mithril.server.api.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.api.agent.FetchBundlesResponse;
import io.mithril.api.types.Bundle;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RecentBundlesTest {

    final AtomicLong now = new AtomicLong(1_000_000_000L);
    final AtomicInteger reads = new AtomicInteger();

    FetchBundlesResponse read() {
        return FetchBundlesResponse.newBuilder()
                .setBundle(Bundle.newBuilder().setSequenceNumber(reads.incrementAndGet()))
                .build();
    }

    @Test
    void callsWithinMaxAgeShareOneReadAndTheNextCallAfterItReadsAgain() {
        RecentBundles b = new RecentBundles(this::read, Duration.ofSeconds(1), now::get);
        assertThat(b.get().getBundle().getSequenceNumber()).isEqualTo(1);
        now.addAndGet(999_000_000L);
        assertThat(b.get().getBundle().getSequenceNumber()).isEqualTo(1);
        assertThat(reads).hasValue(1);
        now.addAndGet(1_000_000L); // 1 s after the read began
        assertThat(b.get().getBundle().getSequenceNumber()).isEqualTo(2);
        assertThat(reads).hasValue(2);
    }

    @Test
    void aFailedReadIsNotCachedAndFailsTheCall() {
        AtomicInteger calls = new AtomicInteger();
        RecentBundles b =
                new RecentBundles(
                        () -> {
                            if (calls.incrementAndGet() == 1) {
                                throw new IllegalStateException("datastore down");
                            }
                            return read();
                        },
                        Duration.ofSeconds(1),
                        now::get);
        assertThatThrownBy(b::get).hasMessage("datastore down");
        assertThat(b.get().getBundle().getSequenceNumber())
                .isEqualTo(1); // at once, not a second later
    }

    @Test
    void whileOneCallReadsTheOthersGetThePreviousAnswerWithoutWaiting() throws Exception {
        java.util.concurrent.CountDownLatch reading = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        RecentBundles b =
                new RecentBundles(
                        () -> {
                            if (reads.get() == 1) {
                                reading.countDown();
                                try {
                                    release.await();
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                            }
                            return read();
                        },
                        Duration.ofSeconds(1),
                        now::get);
        assertThat(b.get().getBundle().getSequenceNumber()).isEqualTo(1);
        now.addAndGet(2_000_000_000L);
        java.util.concurrent.CompletableFuture<FetchBundlesResponse> slow =
                java.util.concurrent.CompletableFuture.supplyAsync(b::get);
        try {
            assertThat(reading.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(
                            java.util.concurrent.CompletableFuture.supplyAsync(b::get)
                                    .get(5, java.util.concurrent.TimeUnit.SECONDS)
                                    .getBundle()
                                    .getSequenceNumber())
                    .isEqualTo(1);
        } finally {
            release.countDown();
        }
        assertThat(
                        slow.get(10, java.util.concurrent.TimeUnit.SECONDS)
                                .getBundle()
                                .getSequenceNumber())
                .isEqualTo(2);
        assertThat(b.get().getBundle().getSequenceNumber()).isEqualTo(2);
    }
}
