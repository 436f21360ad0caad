package io.mithril.server.api.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mithril.api.selector.Selector;
import io.mithril.server.datastore.DataStore;
import io.mithril.server.datastore.SqlDataStore;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.spiffe.id.SpiffeId;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The background revision check of the authorised-entries index against this server's own writes
 * that committed but were not yet applied to the index (the check read the new revision first). It
 * must not rebuild the index for them (under an attestation burst that was a full datastore read
 * every second), and must still rebuild when another server's write is among them.
 */
class OwnWritesInFlightTest {

    static final SpiffeId SERVER = SpiffeId.parse("spiffe://example.org/spire/server");
    static final SpiffeId AGENT = SpiffeId.parse("spiffe://example.org/spire/agent/x509pop/n1");

    @TempDir Path dir;

    DataStore own;
    DataStore other;
    AuthorizedEntries cache;
    final CountDownLatch release = new CountDownLatch(1);

    @AfterEach
    void close() {
        release.countDown();
        if (cache != null) {
            cache.close();
        }
        for (DataStore s : new DataStore[] {own, other}) {
            if (s != null) {
                s.close();
            }
        }
    }

    private DataStore open() {
        return SqlDataStore.openSqlite(dir.resolve("datastore.sqlite3"), Clock.systemUTC());
    }

    private static RegistrationEntry entry(String path) {
        return RegistrationEntry.of(
                SpiffeId.parse("spiffe://example.org" + path),
                AGENT,
                List.of(Selector.parse("unix:uid:1")));
    }

    /**
     * Opens the stores and a cache checking the revision every 20 ms, with a listener ahead of the
     * cache's that holds the delivery of this server's next write until {@link #release}.
     */
    private CountDownLatch holdNextDelivery() {
        own = open();
        other = open();
        CountDownLatch held = new CountDownLatch(1);
        own.addChangeListener(
                (rev, changes) -> {
                    if (held.getCount() > 0) {
                        held.countDown();
                        try {
                            release.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                });
        cache =
                AuthorizedEntries.start(
                        own, SERVER, Clock.systemUTC(), Duration.ofMillis(20), null);
        return held;
    }

    @Test
    void ownCommittedWriteNotYetDeliveredCausesNoRebuild() throws Exception {
        CountDownLatch held = holdNextDelivery();
        CompletableFuture<RegistrationEntry> write =
                CompletableFuture.supplyAsync(() -> own.createEntry(entry("/w1")));
        assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
        // committed, not yet applied: the revision check sees it a dozen times meanwhile
        assertThat(own.changeRevision()).isGreaterThan(0);
        Thread.sleep(300);
        assertThat(cache.rebuilds())
                .as("rebuilds while our write was being delivered")
                .isEqualTo(1);
        release.countDown();
        RegistrationEntry e = write.get(10, TimeUnit.SECONDS);
        assertThat(cache.authorizedEntry(AGENT, e.id())).isPresent();
        Thread.sleep(200);
        assertThat(cache.rebuilds()).isEqualTo(1);
    }

    @Test
    void anotherServersWriteAmongOwnUndeliveredOnesStillRebuilds() throws Exception {
        CountDownLatch held = holdNextDelivery();
        CompletableFuture<RegistrationEntry> write =
                CompletableFuture.supplyAsync(() -> own.createEntry(entry("/ours")));
        assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
        RegistrationEntry theirs = other.createEntry(entry("/theirs"));
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(
                        () -> assertThat(cache.authorizedEntry(AGENT, theirs.id())).isPresent());
        assertThat(cache.rebuilds()).isGreaterThan(1);
        release.countDown();
        RegistrationEntry ours = write.get(10, TimeUnit.SECONDS);
        assertThat(cache.authorizedEntry(AGENT, ours.id())).isPresent();
    }

    @Test
    void untoldOwnWritesIsFalseForForeignOrToldRevisions() {
        own = open();
        other = open();
        long r0 = own.changeRevision();
        own.createEntry(entry("/a"));
        assertThat(own.untoldOwnWrites(r0, r0 + 1)).as("told already").isFalse();
        other.createEntry(entry("/b"));
        assertThat(own.untoldOwnWrites(r0 + 1, r0 + 2)).as("another instance's").isFalse();
        assertThat(own.untoldOwnWrites(r0 + 2, r0 + 2)).as("empty range").isFalse();
    }
}
