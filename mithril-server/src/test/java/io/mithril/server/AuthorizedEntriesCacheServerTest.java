package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.api.admin.BatchCreateEntryRequest;
import io.mithril.api.admin.BatchDeleteEntryRequest;
import io.mithril.api.admin.BatchUpdateEntryRequest;
import io.mithril.api.agent.GetAuthorizedEntriesRequest;
import io.mithril.api.types.Entry;
import io.mithril.server.api.ProtoConverters;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.datastore.SqlDataStore;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.entry.Selector;
import io.mithril.server.testing.MutableClock;
import io.mithril.server.testing.ServerFixture;
import io.mithril.server.testing.TestAgent;
import io.mithril.spiffe.id.SpiffeId;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The authorised-entries cache seen from an agent over the real agent API: admin API writes show
 * on the agent's next call; a write by another process on the server's SQLite file shows within
 * the refresh interval; a restarted server answers the same.
 */
class AuthorizedEntriesCacheServerTest {

    @TempDir
    Path dir;
    MutableClock clock = MutableClock.startingNow();
    IdentityServer server;
    AdminClient admin;
    TestAgent agent;

    static final SpiffeId NODE = SpiffeId.parse("spiffe://example.org/node/n1");
    static final SpiffeId WORKLOAD = SpiffeId.parse("spiffe://example.org/ns/default/sa/sleep");

    @BeforeEach
    void start() throws Exception {
        server = IdentityServer.start(ServerFixture.config(dir, clock).build());
        admin = AdminClient.connect(server.adminSocketPath());
        agent = ServerFixture.agent(server, clock);
        agent.attestJoinToken(server.generateJoinToken(null, NODE));
    }

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
        if (admin != null) {
            admin.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private List<String> authorisedSpiffeIds() throws Exception {
        return agent.stub().getAuthorizedEntries(GetAuthorizedEntriesRequest.getDefaultInstance()).getEntriesList().stream()
                .map(Entry::getSpiffeId).toList();
    }

    private static Entry entry(SpiffeId id, SpiffeId parent, String selector) {
        return ProtoConverters.toProto(RegistrationEntry.of(id, parent, List.of(Selector.parse(selector))));
    }

    @Test
    void adminApiCreateUpdateAndDeleteShowOnTheAgentsNextCall() throws Exception {
        assertThat(authorisedSpiffeIds()).containsExactly(NODE.toString());
        Entry created = admin.admin().batchCreateEntry(BatchCreateEntryRequest.newBuilder()
                .addEntries(entry(WORKLOAD, NODE, "unix:uid:1000")).build()).getResults(0).getEntry();
        assertThat(authorisedSpiffeIds()).containsExactly(NODE.toString(), WORKLOAD.toString());

        SpiffeId elsewhere = SpiffeId.parse("spiffe://example.org/node/elsewhere");
        admin.admin().batchUpdateEntry(BatchUpdateEntryRequest.newBuilder()
                .addEntries(created.toBuilder().setParentId(elsewhere.toString())).build());
        assertThat(authorisedSpiffeIds()).containsExactly(NODE.toString());

        admin.admin().batchUpdateEntry(BatchUpdateEntryRequest.newBuilder()
                .addEntries(created.toBuilder().setParentId(NODE.toString()).setRevisionNumber(1)).build());
        assertThat(authorisedSpiffeIds()).containsExactly(NODE.toString(), WORKLOAD.toString());

        admin.admin().batchDeleteEntry(BatchDeleteEntryRequest.newBuilder().addIds(created.getId()).build());
        assertThat(authorisedSpiffeIds()).containsExactly(NODE.toString());
    }

    @Test
    void entryWrittenByAnotherProcessOnTheSameSqliteFileShowsWithinTheRefreshInterval() throws Exception {
        assertThat(authorisedSpiffeIds()).containsExactly(NODE.toString());
        try (SqlDataStore other = SqlDataStore.openSqlite(dir.resolve("datastore.sqlite3"), Clock.systemUTC())) {
            other.createEntry(RegistrationEntry.of(WORKLOAD, NODE, List.of(Selector.parse("unix:uid:1000"))));
        }
        // The bound is the refresh interval (1 s); poll for 20 s so that a loaded machine cannot fail the test.
        long deadline = System.nanoTime() + 20_000_000_000L;
        List<String> seen = authorisedSpiffeIds();
        while (!seen.contains(WORKLOAD.toString()) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            seen = authorisedSpiffeIds();
        }
        assertThat(seen).containsExactly(NODE.toString(), WORKLOAD.toString());
    }

    @Test
    void restartedServerAnswersFromTheDatastore() throws Exception {
        server.createEntry(RegistrationEntry.of(WORKLOAD, NODE, List.of(Selector.parse("unix:uid:1000"))));
        List<String> before = authorisedSpiffeIds();
        java.security.KeyPair agentKey = agent.agentKey();
        List<java.security.cert.X509Certificate> agentSvid = agent.agentSvid();
        agent.close();
        admin.close();
        server.close();
        server = IdentityServer.start(ServerFixture.config(dir, clock).build());
        admin = AdminClient.connect(server.adminSocketPath());
        agent = ServerFixture.agent(server, clock);
        assertThat(agent.stubWith(agentKey, agentSvid).getAuthorizedEntries(GetAuthorizedEntriesRequest.getDefaultInstance())
                .getEntriesList()).extracting(Entry::getSpiffeId).isEqualTo(before).hasSize(2);
    }
}
