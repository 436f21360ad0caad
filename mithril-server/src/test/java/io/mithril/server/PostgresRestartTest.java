package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mithril.api.admin.BatchCreateEntryRequest;
import io.mithril.api.admin.BatchCreateEntryResponse;
import io.mithril.api.admin.ListEntriesRequest;
import io.mithril.api.selector.Selector;
import io.mithril.api.types.Entry;
import io.mithril.server.api.ProtoConverters;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.datastore.SqlDataStore;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.testing.PostgresServer;
import io.mithril.server.testing.ServerFixture;
import io.mithril.server.testing.TestAgent;
import io.mithril.spiffe.id.SpiffeId;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The datastore recovers by itself: PostgreSQL is restarted ({@code pg_ctl stop -m fast}, then
 * start) under a running identity server. While it is down an admin write fails with {@code
 * UNAVAILABLE} within the pool's connection timeout; once it is up again writes succeed within
 * seconds, and every entry and join token written before the restart is still there. After a
 * restart that no call noticed, the next write succeeds at once.
 */
class PostgresRestartTest {

    static final SpiffeId NODE = SpiffeId.parse("spiffe://example.org/node/restart");

    @TempDir Path dir;

    static Entry entry(String path, int uid) {
        return ProtoConverters.toProto(
                RegistrationEntry.of(
                        SpiffeId.parse("spiffe://example.org" + path),
                        NODE,
                        List.of(Selector.parse("unix:uid:" + uid))));
    }

    static BatchCreateEntryResponse.Result create(AdminClient admin, Entry e) {
        return admin.admin()
                .batchCreateEntry(BatchCreateEntryRequest.newBuilder().addEntries(e).build())
                .getResults(0);
    }

    @Test
    void writesSucceedAgainWithinSecondsAfterPostgresRestartsAndNothingIsLost() throws Exception {
        try (PostgresServer pg = PostgresServer.start()) {
            ServerConfig.DataStoreConfig ds =
                    new ServerConfig.DataStoreConfig("postgres", pg.createDatabase("restart"));
            try (IdentityServer server =
                            IdentityServer.start(
                                    ServerFixture.config(dir, Clock.systemUTC())
                                            .dataStore(ds)
                                            .build());
                    AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
                List<String> before = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    BatchCreateEntryResponse.Result r =
                            create(admin, entry("/before/" + i, 1000 + i));
                    assertThat(r.getStatus().getCode()).isZero();
                    before.add(r.getEntry().getId());
                }
                String token = server.generateJoinToken(null, null);
                SqlDataStore store = (SqlDataStore) server.dataStore();

                pg.stop();
                long down = System.nanoTime();
                assertThatThrownBy(() -> create(admin, entry("/during", 2000)))
                        .isInstanceOfSatisfying(
                                StatusRuntimeException.class,
                                e -> {
                                    assertThat(e.getStatus().getCode())
                                            .isEqualTo(Status.Code.UNAVAILABLE);
                                    assertThat(e.getStatus().getDescription())
                                            .contains(
                                                    "database unavailable",
                                                    "127.0.0.1:" + pg.port() + "/restart");
                                });
                Duration failedIn = Duration.ofNanos(System.nanoTime() - down);
                // An agent that is not authenticated yet learns that it may retry, not where the
                // database is.
                try (TestAgent stranger = ServerFixture.agent(server, Clock.systemUTC())) {
                    assertThatThrownBy(() -> stranger.attestJoinToken("no-such-token"))
                            .isInstanceOfSatisfying(
                                    StatusRuntimeException.class,
                                    e -> {
                                        assertThat(e.getStatus().getCode())
                                                .isEqualTo(Status.Code.UNAVAILABLE);
                                        assertThat(e.getStatus().getDescription())
                                                .doesNotContain(
                                                        Integer.toString(pg.port()), "restart");
                                    });
                }
                assertThat(failedIn)
                        .isLessThan(
                                SqlDataStore.PoolSettings.DEFAULT
                                        .connectionTimeout()
                                        .plusSeconds(5));

                pg.startAgain();
                long up = System.nanoTime();
                Entry after = entry("/after", 3000);
                // HikariCP retries opening connections with a backoff that grows to 5 s; the bound
                // leaves room for a loaded CI machine
                await().atMost(Duration.ofSeconds(15))
                        .pollInterval(Duration.ofMillis(100))
                        .ignoreException(StatusRuntimeException.class)
                        .until(() -> create(admin, after).getStatus().getCode() == 0);
                Duration recovered = Duration.ofNanos(System.nanoTime() - up);
                System.out.printf(
                        "PostgresRestartTest: a write failed %d ms after the stop; writes succeeded again %d ms after the start; pool %s%n",
                        failedIn.toMillis(), recovered.toMillis(), store.poolStats());
                assertThat(recovered).isLessThan(Duration.ofSeconds(15));

                // nothing lost: every entry written before is there, the failed one is not, and
                // the join token made before the restart still attests an agent
                List<Entry> all =
                        admin.admin()
                                .listEntries(ListEntriesRequest.getDefaultInstance())
                                .getEntriesList();
                assertThat(all).extracting(Entry::getId).containsAll(before);
                assertThat(all)
                        .extracting(Entry::getSpiffeId)
                        .contains("spiffe://example.org/after")
                        .doesNotContain("spiffe://example.org/during");
                assertThat(all).hasSize(before.size() + 1);
                try (TestAgent agent = ServerFixture.agent(server, Clock.systemUTC())) {
                    agent.attestJoinToken(token);
                }
                assertThat(store.poolStats().total()).isPositive();

                // a restart no call saw: the pool's stale connections are replaced under the next
                // write, which succeeds at its first try
                pg.stop();
                pg.startAgain();
                assertThat(create(admin, entry("/quick", 4000)).getStatus().getCode()).isZero();
            }
        }
    }
}
