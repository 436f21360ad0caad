package io.mithril.server.api.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mithril.api.selector.Selector;
import io.mithril.server.api.ProtoConverters;
import io.mithril.server.datastore.AttestedNode;
import io.mithril.server.datastore.DataStore;
import io.mithril.server.datastore.DuplicateEntryException;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.testing.MutableClock;
import io.mithril.spiffe.id.SpiffeId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The authorised-entries cache gives the same answers as the datastore: after writes by its own
 * datastore instance (applied after commit) and by a second instance on the same database (another
 * server, noticed through the change revision). Run on SQLite and PostgreSQL.
 *
 * <p>{@link #LOCAL_ONLY} caches check the change revision only once an hour: whatever they see
 * right after a write came through the post-commit path. {@link #EVERY_CALL} caches check it on
 * every call (the staleness bound is zero), so a second writer's change must show on the next call.
 */
abstract class AuthorizedEntriesCacheContract {

    static final SpiffeId SERVER = SpiffeId.parse("spiffe://example.org/spire/server");
    static final SpiffeId AGENT = SpiffeId.parse("spiffe://example.org/spire/agent/x509pop/n1");
    static final SpiffeId OTHER_AGENT =
            SpiffeId.parse("spiffe://example.org/spire/agent/x509pop/n2");
    static final SpiffeId NODE = SpiffeId.parse("spiffe://example.org/node/n1");
    static final Duration LOCAL_ONLY = Duration.ofHours(1);
    static final Duration EVERY_CALL = Duration.ZERO;

    final MutableClock clock = MutableClock.startingNow();

    /**
     * The server's own datastore instance ({@code a}) and a second writer on the same database
     * ({@code b}).
     */
    DataStore a;

    DataStore b;

    /** Opens a new datastore instance on the test's database. */
    abstract DataStore open();

    /** Caches this test started; their refreshers are stopped before the stores close. */
    final List<AuthorizedEntries> caches = new ArrayList<>();

    @AfterEach
    void closeStores() {
        caches.forEach(AuthorizedEntries::close);
        for (DataStore s : new DataStore[] {a, b}) {
            if (s != null) {
                s.close();
            }
        }
    }

    void openBoth() {
        a = open();
        b = open();
    }

    AuthorizedEntries cache(Duration refresh) {
        return cache(a, refresh);
    }

    AuthorizedEntries cache(DataStore store, Duration refresh) {
        AuthorizedEntries cache = AuthorizedEntries.start(store, SERVER, clock, refresh, null);
        caches.add(cache);
        return cache;
    }

    static SpiffeId id(String path) {
        return SpiffeId.parse("spiffe://example.org" + path);
    }

    static RegistrationEntry entry(SpiffeId spiffeId, SpiffeId parent, String... selectors) {
        List<Selector> sels = new ArrayList<>();
        for (String s : selectors) {
            sels.add(Selector.parse(s));
        }
        return RegistrationEntry.of(spiffeId, parent, sels);
    }

    static RegistrationEntry expiring(RegistrationEntry e, long expiresAt) {
        return new RegistrationEntry(
                e.id(),
                e.spiffeId(),
                e.parentId(),
                e.selectors(),
                0,
                0,
                List.of(),
                List.of(),
                false,
                false,
                "",
                0,
                expiresAt,
                0);
    }

    void attest(DataStore store, SpiffeId agent, String... selectors) {
        List<Selector> sels = new ArrayList<>();
        for (String s : selectors) {
            sels.add(Selector.parse(s));
        }
        store.upsertAttestedNode(
                new AttestedNode(
                        agent,
                        "x509pop",
                        "1",
                        clock.instant().getEpochSecond() + 3600,
                        false,
                        sels,
                        clock.instant().getEpochSecond()));
    }

    static List<String> ids(AuthorizedEntries cache, SpiffeId agent) {
        return List.copyOf(cache.forAgent(agent).keySet());
    }

    @Test
    void entryCreatedThroughThisStoreIsVisibleOnTheNextCall() {
        openBoth();
        AuthorizedEntries cache = cache(LOCAL_ONLY);
        assertThat(cache.forAgent(AGENT)).isEmpty();
        RegistrationEntry w = a.createEntry(entry(id("/w"), AGENT, "unix:uid:1"));
        List<RegistrationEntry> batch =
                a
                        .createEntries(
                                List.of(
                                        entry(id("/x"), id("/w"), "unix:uid:2"),
                                        entry(id("/y"), AGENT, "unix:uid:3")))
                        .stream()
                        .map(r -> r.created().orElseThrow())
                        .toList();
        assertThat(ids(cache, AGENT))
                .containsExactlyInAnyOrder(w.id(), batch.get(0).id(), batch.get(1).id());
        assertThat(cache.authorizedEntry(AGENT, batch.get(0).id())).isPresent();
        assertThat(cache.rebuilds()).isEqualTo(1);
    }

    /**
     * Create, move to another parent, delete through {@code writer}: each shows on the cache's next
     * call.
     */
    static void createUpdateAndDeleteShow(AuthorizedEntries cache, DataStore writer) {
        RegistrationEntry w = writer.createEntry(entry(id("/w"), AGENT, "unix:uid:1"));
        assertThat(ids(cache, AGENT)).containsExactly(w.id());
        writer.updateEntry(entry(id("/w"), OTHER_AGENT, "unix:uid:1").withId(w.id()));
        assertThat(cache.forAgent(AGENT)).isEmpty();
        assertThat(cache.authorizedEntry(AGENT, w.id())).isEmpty();
        assertThat(ids(cache, OTHER_AGENT)).containsExactly(w.id());
        assertThat(cache.forAgent(OTHER_AGENT).get(w.id()).revisionNumber()).isEqualTo(1);
        writer.deleteEntry(w.id());
        assertThat(cache.forAgent(OTHER_AGENT)).isEmpty();
        assertThat(cache.authorizedEntry(OTHER_AGENT, w.id())).isEmpty();
    }

    @Test
    void updateAndDeletionThroughThisStoreShowOnTheNextCall() {
        openBoth();
        createUpdateAndDeleteShow(cache(LOCAL_ONLY), a);
    }

    @Test
    void writesByAnotherServerShowOnTheNextRevisionCheck() {
        openBoth();
        createUpdateAndDeleteShow(cache(EVERY_CALL), b);
    }

    @Test
    void deletionThroughThisStoreRemovesTheEntryAndWhatOnlyItAuthorised() {
        openBoth();
        AuthorizedEntries cache = cache(LOCAL_ONLY);
        RegistrationEntry node = a.createEntry(entry(NODE, AGENT, "unix:uid:1"));
        RegistrationEntry child = a.createEntry(entry(id("/child"), NODE, "unix:uid:2"));
        assertThat(ids(cache, AGENT)).containsExactly(node.id(), child.id());
        a.deleteEntry(node.id());
        assertThat(cache.forAgent(AGENT)).isEmpty();
        assertThat(cache.authorizedEntry(AGENT, child.id())).isEmpty();
    }

    @Test
    void expiredEntryAndItsChildrenAreLeftOutWithoutAnyWrite() {
        openBoth();
        AuthorizedEntries cache = cache(LOCAL_ONLY);
        long now = clock.instant().getEpochSecond();
        RegistrationEntry node =
                a.createEntry(expiring(entry(NODE, AGENT, "unix:uid:1"), now + 60));
        RegistrationEntry child = a.createEntry(entry(id("/child"), NODE, "unix:uid:2"));
        RegistrationEntry lasting = a.createEntry(entry(id("/lasting"), AGENT, "unix:uid:3"));
        assertThat(ids(cache, AGENT)).containsExactly(node.id(), lasting.id(), child.id());
        clock.advance(Duration.ofSeconds(61));
        assertThat(ids(cache, AGENT)).containsExactly(lasting.id());
        assertThat(cache.authorizedEntry(AGENT, child.id())).isEmpty();
        assertThat(cache.authorizedEntry(AGENT, node.id())).isEmpty();
    }

    @Test
    void nodeAliasMatchesOnlyAgentsHoldingAllItsSelectors() {
        openBoth();
        AuthorizedEntries cache = cache(LOCAL_ONLY);
        a.createEntry(entry(NODE, SERVER, "x509pop:subject:cn:n1", "x509pop:ca:fingerprint:abc"));
        RegistrationEntry w = a.createEntry(entry(id("/w"), NODE, "unix:uid:1"));
        attest(a, AGENT, "x509pop:subject:cn:n1");
        assertThat(cache.forAgent(AGENT)).isEmpty();
        attest(
                a,
                AGENT,
                "x509pop:subject:cn:n1",
                "x509pop:ca:fingerprint:abc",
                "x509pop:serialnumber:7");
        assertThat(ids(cache, AGENT)).containsExactly(w.id());
        assertThat(cache.authorizedEntry(AGENT, w.id())).isPresent();
        assertThat(cache.forAgent(OTHER_AGENT)).isEmpty();
        a.deleteAttestedNode(AGENT);
        assertThat(cache.forAgent(AGENT)).isEmpty();
    }

    @Test
    void joinTokenAliasIsFollowedTransitively() {
        openBoth();
        AuthorizedEntries cache = cache(LOCAL_ONLY);
        SpiffeId tokenAgent = id("/spire/agent/join_token/t1");
        // what the admin API writes for "token generate -spiffeID": the alias is parented by the
        // agent
        RegistrationEntry alias = a.createEntry(entry(NODE, tokenAgent, "spiffe_id:" + tokenAgent));
        RegistrationEntry w = a.createEntry(entry(id("/w"), NODE, "unix:uid:1"));
        RegistrationEntry nested = a.createEntry(entry(id("/nested"), id("/w"), "unix:uid:2"));
        attest(a, tokenAgent);
        assertThat(ids(cache, tokenAgent)).containsExactly(alias.id(), w.id(), nested.id());
        assertThat(cache.authorizedEntry(tokenAgent, nested.id())).isPresent();
    }

    @Test
    void agentAttestedByAnotherServerMatchesItsNodeAlias() {
        openBoth();
        AuthorizedEntries cache = cache(EVERY_CALL);
        a.createEntry(entry(NODE, SERVER, "x509pop:subject:cn:n1"));
        RegistrationEntry w = a.createEntry(entry(id("/w"), NODE, "unix:uid:1"));
        assertThat(cache.forAgent(AGENT)).isEmpty();
        attest(b, AGENT, "x509pop:subject:cn:n1");
        assertThat(ids(cache, AGENT)).containsExactly(w.id());
        b.deleteAttestedNode(AGENT);
        assertThat(cache.forAgent(AGENT)).isEmpty();
    }

    @Test
    void ownWriteAfterAnotherServersWriteShowsBoth() {
        openBoth();
        AuthorizedEntries cache = cache(LOCAL_ONLY);
        assertThat(cache.forAgent(AGENT)).isEmpty();
        RegistrationEntry theirs = b.createEntry(entry(id("/theirs"), AGENT, "unix:uid:1"));
        RegistrationEntry ours = a.createEntry(entry(id("/ours"), AGENT, "unix:uid:2"));
        // ours is visible to the next call; the missing revision before it makes the background
        // refresher rebuild at once (not an hour later), which brings theirs
        assertThat(cache.forAgent(AGENT)).containsKey(ours.id());
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(
                        () ->
                                assertThat(ids(cache, AGENT))
                                        .containsExactlyInAnyOrder(theirs.id(), ours.id()));
        assertThat(cache.rebuilds()).isEqualTo(2);
    }

    @Test
    void writesByAnotherServerStayUnseenUntilTheRevisionIsChecked() {
        openBoth();
        AuthorizedEntries cache = cache(LOCAL_ONLY);
        assertThat(cache.forAgent(AGENT)).isEmpty();
        b.createEntry(entry(id("/theirs"), AGENT, "unix:uid:1"));
        // within the refresh interval the cache answers from memory: this is the staleness bound at
        // work
        assertThat(cache.forAgent(AGENT)).isEmpty();
        assertThat(cache.rebuilds()).isEqualTo(1);
    }

    @Test
    void restartedServerRebuildsTheSameAnswerFromTheDatastore() {
        openBoth();
        AuthorizedEntries cache = cache(LOCAL_ONLY);
        a.createEntry(entry(NODE, SERVER, "x509pop:subject:cn:n1"));
        a.createEntry(entry(id("/w"), NODE, "unix:uid:1"));
        a.createEntry(entry(id("/v"), AGENT, "unix:uid:2"));
        attest(a, AGENT, "x509pop:subject:cn:n1");
        List<String> before = ids(cache, AGENT);
        a.close();
        a = open();
        assertThat(ids(cache(LOCAL_ONLY), AGENT))
                .containsExactlyInAnyOrderElementsOf(before)
                .hasSize(2);
    }

    /**
     * A refresh stuck in the datastore (another server's write moved the revision; the read of it
     * hangs, as on an overloaded PostgreSQL) holds up no call: calls are answered from the index,
     * this server's own writes still show on the next call, and the other server's write shows once
     * the read returns.
     */
    @Test
    void callsAreNotHeldUpByARefreshStuckInTheDatastore() throws Exception {
        openBoth();
        java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean armed =
                new java.util.concurrent.atomic.AtomicBoolean();
        DataStore stuck =
                (DataStore)
                        java.lang.reflect.Proxy.newProxyInstance(
                                DataStore.class.getClassLoader(),
                                new Class<?>[] {DataStore.class},
                                (proxy, method, args) -> {
                                    String name = method.getName();
                                    if ((name.equals("changeRevision") || name.equals("snapshot"))
                                            && armed.get()) {
                                        entered.countDown();
                                        release.await();
                                    }
                                    try {
                                        return method.invoke(a, args);
                                    } catch (java.lang.reflect.InvocationTargetException e) {
                                        throw e.getCause();
                                    }
                                });
        AuthorizedEntries cache = cache(stuck, Duration.ofMillis(20));
        RegistrationEntry before = a.createEntry(entry(id("/before"), AGENT, "unix:uid:1"));
        attest(a, AGENT, "x509pop:subject:cn:n1");
        armed.set(true);
        RegistrationEntry theirs = b.createEntry(entry(id("/theirs"), AGENT, "unix:uid:2"));
        assertThat(entered.await(10, java.util.concurrent.TimeUnit.SECONDS))
                .as("the refresher reads the datastore")
                .isTrue();
        try {
            java.util.concurrent.ExecutorService caller =
                    java.util.concurrent.Executors.newSingleThreadExecutor();
            try {
                assertThat(
                                caller.submit(() -> ids(cache, AGENT))
                                        .get(5, java.util.concurrent.TimeUnit.SECONDS))
                        .containsExactly(before.id());
                assertThat(
                                caller.submit(() -> cache.attestedNode(AGENT))
                                        .get(5, java.util.concurrent.TimeUnit.SECONDS))
                        .isPresent();
                RegistrationEntry ours = a.createEntry(entry(id("/ours"), AGENT, "unix:uid:3"));
                assertThat(
                                caller.submit(() -> cache.authorizedEntry(AGENT, ours.id()))
                                        .get(5, java.util.concurrent.TimeUnit.SECONDS))
                        .isPresent();
            } finally {
                caller.shutdownNow();
            }
        } finally {
            armed.set(false);
            release.countDown();
        }
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(cache.forAgent(AGENT)).containsKey(theirs.id()));
        assertThat(cache.forAgent(AGENT)).hasSize(3);
    }

    /**
     * Random writes through both instances, random parents (chains, aliases, cycles), expiry: the
     * cache kept up to date incrementally answers as one freshly built from the datastore.
     */
    @Test
    void incrementallyMaintainedCacheAnswersAsAFreshlyBuiltOne() {
        openBoth();
        AuthorizedEntries own = cache(LOCAL_ONLY);
        AuthorizedEntries checking = cache(EVERY_CALL);
        Random rnd = new Random(42);
        List<SpiffeId> agents = List.of(AGENT, OTHER_AGENT, id("/spire/agent/x509pop/n3"));
        List<SpiffeId> ids = new ArrayList<>(agents);
        List<String> entryIds = new ArrayList<>();
        long now = clock.instant().getEpochSecond();
        int othersWrites = 0;
        for (int i = 0; i < 300; i++) {
            DataStore writer = rnd.nextInt(10) == 0 ? b : a;
            if (writer == b) {
                othersWrites++;
            }
            int op = rnd.nextInt(10);
            if (op < 5 || entryIds.isEmpty()) {
                SpiffeId spiffeId = id("/e" + rnd.nextInt(60));
                SpiffeId parent = rnd.nextInt(8) == 0 ? SERVER : ids.get(rnd.nextInt(ids.size()));
                RegistrationEntry e =
                        entry(
                                spiffeId,
                                parent,
                                parent.equals(SERVER)
                                        ? "node:k" + rnd.nextInt(4)
                                        : "unix:uid:" + i);
                if (rnd.nextInt(6) == 0) {
                    e = expiring(e, now + rnd.nextInt(120));
                }
                try {
                    entryIds.add(writer.createEntry(e).id());
                    ids.add(spiffeId);
                } catch (DuplicateEntryException duplicate) {
                    // the same alias drawn twice: refused by the datastore, nothing to check
                }
            } else if (op < 7) {
                String victim = entryIds.remove(rnd.nextInt(entryIds.size()));
                writer.deleteEntry(victim);
            } else if (op < 9) {
                String target = entryIds.get(rnd.nextInt(entryIds.size()));
                writer.updateEntry(
                        entry(
                                        id("/e" + rnd.nextInt(60)),
                                        ids.get(rnd.nextInt(ids.size())),
                                        "unix:uid:u" + i)
                                .withId(target));
            } else {
                int k = rnd.nextInt(4);
                attest(
                        writer,
                        agents.get(rnd.nextInt(agents.size())),
                        "node:k" + k,
                        "node:k" + (k + 1 + rnd.nextInt(3)) % 4);
            }
            if (i % 25 == 24) {
                clock.advance(Duration.ofSeconds(15));
                // a write of our own: the own-writes cache learns of b's writes only through the
                // revision gap they leave before it (and then rebuilds)
                entryIds.add(a.createEntry(entry(id("/marker" + i), AGENT, "unix:uid:m" + i)).id());
                AuthorizedEntries fresh = cache(LOCAL_ONLY);
                // the gap makes the own-writes cache's refresher rebuild in the background: wait
                // for it
                await().atMost(Duration.ofSeconds(10))
                        .until(
                                () ->
                                        agents.stream()
                                                .allMatch(
                                                        agent ->
                                                                own.forAgent(agent)
                                                                        .equals(
                                                                                fresh.forAgent(
                                                                                        agent))));
                for (SpiffeId agent : agents) {
                    Map<String, RegistrationEntry> want = fresh.forAgent(agent);
                    assertThat(checking.forAgent(agent))
                            .as("checking cache, agent %s after %d writes", agent, i + 1)
                            .isEqualTo(want);
                    assertThat(own.forAgent(agent))
                            .as("own-writes cache, agent %s after %d writes", agent, i + 1)
                            .isEqualTo(want);
                    // the same messages; their order follows the index's history (a rebuild lists
                    // by creation)
                    assertThat(own.forAgentAsProto(agent))
                            .as("messages sent to agent %s", agent)
                            .containsExactlyInAnyOrderElementsOf(
                                    want.values().stream().map(ProtoConverters::toProto).toList());
                    for (String e : entryIds) {
                        assertThat(checking.authorizedEntry(agent, e))
                                .isEqualTo(fresh.authorizedEntry(agent, e));
                        assertThat(own.authorizedEntry(agent, e))
                                .isEqualTo(fresh.authorizedEntry(agent, e));
                    }
                }
            }
        }
        // at most one rebuild per write of the other instance (the gap it leaves) plus startup: the
        // own writes were applied in place
        assertThat(own.rebuilds())
                .as("rebuilds of the own-writes cache")
                .isBetween(2L, 1L + othersWrites);
    }
}
