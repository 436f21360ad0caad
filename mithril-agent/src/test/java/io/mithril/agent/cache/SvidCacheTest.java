package io.mithril.agent.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.agent.testing.TestCa;
import io.mithril.api.selector.Selector;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SvidCacheTest {

    private final TestCa ca = new TestCa("example.org");
    private final SvidCache cache = new SvidCache(ca.trustDomain, Clock.systemUTC());
    private static final Set<Selector> UID_1000 =
            Set.of(Selector.parse("unix:uid:1000"), Selector.parse("unix:gid:1000"));

    @AfterEach
    void close() {
        cache.close();
    }

    @Test
    void entryMatchesOnlyWhenAllItsSelectorsArePresent() {
        RegistrationEntry both =
                TestCa.entry("spiffe://example.org/both", "unix:uid:1000", "unix:gid:1000");
        RegistrationEntry more =
                TestCa.entry("spiffe://example.org/more", "unix:uid:1000", "unix:gid:2000");
        cache.update(ca.bundle(), Map.of(), List.of(both, more));
        cache.putSvids(
                List.of(
                        ca.svid(both, Duration.ofMinutes(5)),
                        ca.svid(more, Duration.ofMinutes(5))));
        assertThat(cache.fetch(UID_1000).identities())
                .extracting(i -> i.entry().spiffeId().toString())
                .containsExactly("spiffe://example.org/both");
    }

    @Test
    void subscriberThatFailsDoesNotStopOthersFromGettingUpdates() throws Exception {
        RegistrationEntry e = TestCa.entry("spiffe://example.org/w", "unix:uid:1000");
        cache.update(ca.bundle(), Map.of(), List.of(e));
        cache.putSvids(List.of(ca.svid(e, Duration.ofMinutes(5))));
        cache.subscribe(
                UID_1000,
                u -> {
                    throw new IllegalStateException("client went away");
                });
        BlockingQueue<WorkloadUpdate> got = new LinkedBlockingQueue<>();
        cache.subscribe(UID_1000, got::add);
        assertThat(got.poll(5, TimeUnit.SECONDS)).isNotNull();
        CachedSvid rotated = ca.svid(e, Duration.ofMinutes(5));
        cache.putSvids(List.of(rotated));
        WorkloadUpdate second = got.poll(5, TimeUnit.SECONDS);
        assertThat(second).isNotNull();
        assertThat(second.identities().get(0).svid().leaf().getSerialNumber())
                .isEqualTo(rotated.leaf().getSerialNumber());
        assertThat(cache.subscriptionCount()).isEqualTo(1);
    }

    @Test
    void removedEntryTellsItsSubscribersThatTheIdentityIsGone() throws Exception {
        RegistrationEntry e = TestCa.entry("spiffe://example.org/w", "unix:uid:1000");
        cache.update(ca.bundle(), Map.of(), List.of(e));
        cache.putSvids(List.of(ca.svid(e, Duration.ofMinutes(5))));
        BlockingQueue<WorkloadUpdate> got = new LinkedBlockingQueue<>();
        cache.subscribe(UID_1000, got::add);
        assertThat(got.poll(5, TimeUnit.SECONDS).denied()).isFalse();
        cache.update(ca.bundle(), Map.of(), List.of());
        assertThat(got.poll(5, TimeUnit.SECONDS).denied()).isTrue();
        assertThat(cache.svid(e.id())).isNull();
    }

    @Test
    void unchangedStateIsNotResent() throws Exception {
        RegistrationEntry e = TestCa.entry("spiffe://example.org/w", "unix:uid:1000");
        cache.update(ca.bundle(), Map.of(), List.of(e));
        cache.putSvids(List.of(ca.svid(e, Duration.ofMinutes(5))));
        BlockingQueue<WorkloadUpdate> got = new LinkedBlockingQueue<>();
        cache.subscribe(UID_1000, got::add);
        assertThat(got.poll(5, TimeUnit.SECONDS)).isNotNull();
        cache.update(ca.bundle(), Map.of(), List.of(e)); // a sync that brings nothing new
        assertThat(got.poll(500, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void entryNeedsAnSvidWhenNoneHeldWhenRotationTimeCameOrWhenItsDnsNamesChanged() {
        Instant now = Instant.now();
        SvidCache later =
                new SvidCache(
                        ca.trustDomain,
                        Clock.fixed(now.plus(Duration.ofMinutes(3)), ZoneOffset.UTC));
        try {
            RegistrationEntry e = TestCa.entry("spiffe://example.org/w", "unix:uid:1000");
            later.update(ca.bundle(), Map.of(), List.of(e));
            assertThat(later.entriesNeedingSvid()).containsExactly(e);
            CachedSvid s = ca.svid(e, Duration.ofMinutes(10));
            later.putSvids(
                    List.of(
                            new CachedSvid(
                                    s.entryId(),
                                    s.spiffeId(),
                                    s.chain(),
                                    s.privateKey(),
                                    now.plus(Duration.ofMinutes(5)),
                                    e)));
            assertThat(later.entriesNeedingSvid()).isEmpty();
            later.putSvids(
                    List.of(
                            new CachedSvid(
                                    s.entryId(),
                                    s.spiffeId(),
                                    s.chain(),
                                    s.privateKey(),
                                    now.plus(Duration.ofMinutes(2)),
                                    e)));
            assertThat(later.entriesNeedingSvid()).containsExactly(e);
            later.putSvids(
                    List.of(
                            new CachedSvid(
                                    s.entryId(),
                                    s.spiffeId(),
                                    s.chain(),
                                    s.privateKey(),
                                    now.plus(Duration.ofMinutes(5)),
                                    e)));
            RegistrationEntry withDns =
                    new RegistrationEntry(
                            e.id(),
                            e.spiffeId(),
                            e.parentId(),
                            e.selectors(),
                            0,
                            0,
                            List.of("web.example.org"),
                            Set.of(),
                            "",
                            2);
            later.update(ca.bundle(), Map.of(), List.of(withDns));
            assertThat(later.entriesNeedingSvid()).containsExactly(withDns);
        } finally {
            later.close();
        }
    }

    @Test
    void rotationIsAroundHalfLifeCountedFromReceipt() {
        Instant nb = Instant.parse("2026-01-01T00:00:00Z");
        Instant received = nb.plusSeconds(10);
        Instant na = received.plusSeconds(100);
        assertThat(CachedSvid.rotationTimeFromReceipt(nb, received, na, 0.5))
                .isEqualTo(received.plusSeconds(50));
        assertThat(CachedSvid.rotationTimeFromReceipt(nb, received, na, 0.0))
                .isEqualTo(received.plusSeconds(40));
        assertThat(CachedSvid.rotationTimeFromReceipt(nb, received, na, 0.999))
                .isBefore(received.plusSeconds(60));
    }
}
