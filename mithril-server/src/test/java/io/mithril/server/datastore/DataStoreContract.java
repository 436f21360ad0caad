package io.mithril.server.datastore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.mithril.api.selector.Selector;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.FederationRelationship;
import io.mithril.api.types.JwtKey;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.spiffe.id.SpiffeId;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Behaviour every {@link DataStore} must have; run against SQLite and PostgreSQL. */
abstract class DataStoreContract {

    abstract DataStore store();

    static final SpiffeId AGENT = SpiffeId.parse("spiffe://example.org/spire/agent/join_token/abc");

    static RegistrationEntry entry(String path, String... selectors) {
        List<Selector> sels = new ArrayList<>();
        for (String s : selectors) {
            sels.add(Selector.parse(s));
        }
        return RegistrationEntry.of(SpiffeId.parse("spiffe://example.org" + path), AGENT, sels);
    }

    @Test
    void createdEntryGetsIdRevisionZeroAndCanBeFetched() {
        RegistrationEntry e =
                store().createEntry(
                                entry("/ns/default/sa/sleep", "unix:uid:1000", "unix:gid:1000")
                                        .withX509SvidTtl(300)
                                        .withDnsNames(List.of("sleep.local")));
        assertThat(e.id()).isNotEmpty();
        assertThat(e.revisionNumber()).isZero();
        RegistrationEntry back = store().fetchEntry(e.id()).orElseThrow();
        assertThat(back).isEqualTo(e);
        assertThat(back.selectorStrings()).containsExactly("unix:gid:1000", "unix:uid:1000");
    }

    @Test
    void duplicateEntryIsRejectedAndNothingIsStored() {
        store().createEntry(entry("/a", "unix:uid:1"));
        assertThatThrownBy(() -> store().createEntry(entry("/a", "unix:uid:1")))
                .isInstanceOf(DuplicateEntryException.class)
                .hasMessageContaining("spiffe://example.org/a");
        assertThat(store().countEntries()).isEqualTo(1);
    }

    @Test
    void batchCreateStoresNewEntriesAndRefusesDuplicatesInOneGo() {
        RegistrationEntry existing = store().createEntry(entry("/a", "unix:uid:1"));
        List<EntryCreateResult> results =
                store().createEntries(
                                List.of(
                                        entry("/a", "unix:uid:1"),
                                        entry("/b", "unix:uid:2"),
                                        entry("/b", "unix:uid:2"),
                                        entry("/c", "unix:uid:3")));
        assertThat(results.get(0))
                .isInstanceOfSatisfying(
                        EntryCreateResult.AlreadyExists.class,
                        d -> {
                            assertThat(d.existingId()).isEqualTo(existing.id());
                            assertThat(d.reason())
                                    .contains(
                                            "spiffe://example.org/a",
                                            "already exists",
                                            existing.id());
                        });
        RegistrationEntry b = results.get(1).created().orElseThrow();
        assertThat(b.id()).isNotEmpty();
        assertThat(b.spiffeId()).hasToString("spiffe://example.org/b");
        // the second /b collides with the first, stored earlier in the same batch
        assertThat(results.get(2))
                .isInstanceOfSatisfying(
                        EntryCreateResult.AlreadyExists.class,
                        d -> assertThat(d.existingId()).isEqualTo(b.id()));
        assertThat(results.get(2).created()).isEmpty();
        assertThat(results.get(3)).isInstanceOf(EntryCreateResult.Created.class);
        assertThat(store().fetchEntry(b.id())).contains(b);
        assertThat(store().countEntries()).isEqualTo(3);
        assertThat(store().listEntriesBySpiffeId(SpiffeId.parse("spiffe://example.org/c")))
                .hasSize(1)
                .allSatisfy(e -> assertThat(e.selectorStrings()).containsExactly("unix:uid:3"));
    }

    /**
     * Concurrent writes (some refused, so rolled back after bumping the revision) are told to the
     * listeners once each, in revision order, with no Java lock held across the transactions.
     */
    @Test
    void concurrentWritesAreToldInRevisionOrder() throws Exception {
        List<Long> told = java.util.Collections.synchronizedList(new ArrayList<>());
        store().addChangeListener((revision, changes) -> told.add(revision));
        long before = store().changeRevision();
        List<RegistrationEntry> writes = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            writes.add(entry("/w" + (i % 30), "unix:uid:" + (i % 30)));
        }
        assertThat(createConcurrently(writes)).isEqualTo(30);
        assertThat(told).hasSize(30).isSorted().doesNotHaveDuplicates();
        assertThat(told.get(0)).isGreaterThan(before);
        assertThat(told.get(29)).isEqualTo(store().changeRevision());
    }

    @Test
    void concurrentDuplicateCreatesStoreExactlyOne() throws Exception {
        assertThat(
                        createConcurrently(
                                java.util.Collections.nCopies(8, entry("/race", "unix:uid:7"))))
                .isEqualTo(1);
        assertThat(store().countEntries()).isEqualTo(1);
    }

    /**
     * Creates the entries from four threads; how many were created (the others were duplicates).
     */
    private int createConcurrently(List<RegistrationEntry> entries) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (RegistrationEntry e : entries) {
                results.add(
                        pool.submit(
                                () -> {
                                    try {
                                        store().createEntry(e);
                                        return true;
                                    } catch (DuplicateEntryException duplicate) {
                                        return false;
                                    }
                                }));
            }
            int ok = 0;
            for (Future<Boolean> f : results) {
                ok += f.get() ? 1 : 0;
            }
            return ok;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void listFiltersBySpiffeIdParentAndSelectors() {
        store().createEntry(entry("/a", "unix:uid:1", "unix:gid:1"));
        store().createEntry(entry("/b", "unix:uid:2"));
        assertThat(
                        store().listEntries(
                                        new EntryFilter(
                                                SpiffeId.parse("spiffe://example.org/b"),
                                                null,
                                                null,
                                                null)))
                .extracting(e -> e.spiffeId().toString())
                .containsExactly("spiffe://example.org/b");
        assertThat(store().listEntries(new EntryFilter(null, AGENT, null, null))).hasSize(2);
        assertThat(
                        store().listEntries(
                                        new EntryFilter(
                                                null,
                                                null,
                                                List.of(Selector.parse("unix:uid:1")),
                                                EntryFilter.Match.SUPERSET)))
                .extracting(e -> e.spiffeId().toString())
                .containsExactly("spiffe://example.org/a");
        assertThat(
                        store().listEntries(
                                        new EntryFilter(
                                                null,
                                                null,
                                                List.of(Selector.parse("unix:uid:1")),
                                                EntryFilter.Match.EXACT)))
                .isEmpty();
    }

    @Test
    void updateIncrementsRevisionAndReplacesSelectors() {
        RegistrationEntry e = store().createEntry(entry("/a", "unix:uid:1"));
        RegistrationEntry changed =
                new RegistrationEntry(
                        e.id(),
                        e.spiffeId(),
                        e.parentId(),
                        List.of(Selector.parse("unix:uid:2")),
                        60,
                        0,
                        List.of(),
                        List.of(),
                        false,
                        false,
                        "",
                        0,
                        0,
                        0);
        RegistrationEntry updated = store().updateEntry(changed).orElseThrow();
        assertThat(updated.revisionNumber()).isEqualTo(1);
        assertThat(updated.createdAt()).isEqualTo(e.createdAt());
        assertThat(store().fetchEntry(e.id()).orElseThrow().selectorStrings())
                .containsExactly("unix:uid:2");
        assertThat(store().updateEntry(changed.withId("nope"))).isEmpty();
    }

    @Test
    void deleteRemovesEntryAndItsSelectors() {
        RegistrationEntry e = store().createEntry(entry("/a", "unix:uid:1"));
        assertThat(store().deleteEntry(e.id())).isPresent();
        assertThat(store().fetchEntry(e.id())).isEmpty();
        assertThat(store().deleteEntry(e.id())).isEmpty();
        // the same entry can be created again: nothing of the old one is left behind
        assertThat(store().createEntry(entry("/a", "unix:uid:1")).id()).isNotEqualTo(e.id());
    }

    @Test
    void listEntriesByParentReturnsOnlyChildrenOfTheGivenParents() {
        RegistrationEntry alias = store().createEntry(entry("/node-alias", "spiffe_id:" + AGENT));
        RegistrationEntry child =
                store().createEntry(
                                RegistrationEntry.of(
                                        SpiffeId.parse("spiffe://example.org/w"),
                                        alias.spiffeId(),
                                        List.of(Selector.parse("unix:uid:5"))));
        assertThat(store().listEntriesByParent(List.of(AGENT))).containsExactly(alias);
        assertThat(store().listEntriesByParent(List.of(alias.spiffeId()))).containsExactly(child);
    }

    @Test
    void joinTokenIsConsumedExactlyOnce() {
        store().createJoinToken(new JoinToken("tok-1", 1000));
        assertThat(store().consumeJoinToken("tok-1")).contains(new JoinToken("tok-1", 1000));
        assertThat(store().consumeJoinToken("tok-1")).isEmpty();
    }

    @Test
    void pruneJoinTokensDeletesOnlyExpired() {
        store().createJoinToken(new JoinToken("old", 10));
        store().createJoinToken(new JoinToken("new", 1000));
        assertThat(store().pruneJoinTokens(500)).isEqualTo(1);
        assertThat(store().consumeJoinToken("new")).isPresent();
    }

    @Test
    void attestedNodeRoundTripsWithSelectorsAndCanBeEvicted() {
        AttestedNode n =
                new AttestedNode(
                        AGENT,
                        "join_token",
                        "123",
                        999,
                        false,
                        List.of(Selector.parse("x509pop:subject:cn:n1")),
                        5);
        store().upsertAttestedNode(n);
        assertThat(store().fetchAttestedNode(AGENT)).contains(n);
        assertThat(store().updateAttestedNodeSvid(AGENT, "456", 2000)).isTrue();
        assertThat(store().fetchAttestedNode(AGENT).orElseThrow().serialNumber()).isEqualTo("456");
        assertThat(store().listAttestedNodes()).hasSize(1);
        assertThat(store().deleteAttestedNode(AGENT)).isTrue();
        assertThat(store().fetchAttestedNode(AGENT)).isEmpty();
        assertThat(store().nodeSelectors(AGENT)).isEmpty();
    }

    @Test
    void appendBundleMergesAuthoritiesAndBumpsSequenceOnlyOnChange() {
        Bundle a =
                Bundle.newBuilder()
                        .setTrustDomain("example.org")
                        .addX509Authorities(ByteString.copyFromUtf8("root-1"))
                        .addJwtAuthorities(JwtKey.newBuilder().setKeyId("k1"))
                        .build();
        Bundle first = store().appendBundle(a);
        assertThat(first.getSequenceNumber()).isEqualTo(1);
        assertThat(store().appendBundle(a).getSequenceNumber()).isEqualTo(1);
        Bundle b =
                Bundle.newBuilder()
                        .setTrustDomain("example.org")
                        .addX509Authorities(ByteString.copyFromUtf8("root-2"))
                        .addJwtAuthorities(JwtKey.newBuilder().setKeyId("k2"))
                        .build();
        Bundle merged = store().appendBundle(b);
        assertThat(merged.getSequenceNumber()).isEqualTo(2);
        assertThat(merged.getX509AuthoritiesList()).hasSize(2);
        assertThat(merged.getJwtAuthoritiesList())
                .extracting(JwtKey::getKeyId)
                .containsExactly("k1", "k2");
    }

    @Test
    void federatedBundlesCanBeSetListedAndDeleted() {
        store().setBundle(
                        Bundle.newBuilder()
                                .setTrustDomain("domain.test")
                                .setSequenceNumber(4)
                                .build());
        assertThat(store().listBundles())
                .extracting(Bundle::getTrustDomain)
                .containsExactly("domain.test");
        assertThat(store().fetchBundle("domain.test").orElseThrow().getSequenceNumber())
                .isEqualTo(4);
        assertThat(store().deleteBundle("domain.test")).isTrue();
        assertThat(store().fetchBundle("domain.test")).isEmpty();
    }

    @Test
    void federationRelationshipsAreCreatedOnceUpdatedListedAndDeleted() {
        FederationRelationship web =
                FederationRelationship.newBuilder()
                        .setTrustDomain("domain.test")
                        .setBundleEndpointUrl("https://domain.test:8443")
                        .setBundleEndpointProfile("https_web")
                        .build();
        assertThat(store().createFederationRelationship(web)).isTrue();
        assertThat(
                        store().createFederationRelationship(
                                        web.toBuilder()
                                                .setBundleEndpointUrl("https://evil")
                                                .build()))
                .isFalse();
        assertThat(store().fetchFederationRelationship("domain.test")).contains(web);

        FederationRelationship spiffe =
                web.toBuilder()
                        .setBundleEndpointProfile("https_spiffe")
                        .setEndpointSpiffeId("spiffe://domain.test/spire/server")
                        .build();
        assertThat(store().updateFederationRelationship(spiffe)).isTrue();
        assertThat(
                        store().updateFederationRelationship(
                                        spiffe.toBuilder().setTrustDomain("other.test").build()))
                .isFalse();
        FederationRelationship other = spiffe.toBuilder().setTrustDomain("a.test").build();
        assertThat(store().createFederationRelationship(other)).isTrue();
        assertThat(store().listFederationRelationships()).containsExactly(other, spiffe);

        assertThat(store().deleteFederationRelationship("domain.test")).isTrue();
        assertThat(store().deleteFederationRelationship("domain.test")).isFalse();
        assertThat(store().fetchFederationRelationship("domain.test")).isEmpty();
        assertThat(store().listFederationRelationships()).containsExactly(other);
    }

    @Test
    void caJournalIsSavedAndReplaced() {
        assertThat(store().fetchCaJournal("j")).isEmpty();
        store().saveCaJournal("j", new byte[] {1, 2});
        store().saveCaJournal("j", new byte[] {3});
        assertThat(store().fetchCaJournal("j"))
                .hasValueSatisfying(d -> assertThat(d).containsExactly(3));
        assertThat(Optional.of(1)).isPresent();
    }

    @Test
    void everyEntryAndAgentWriteBumpsTheChangeRevisionAndTellsListenersAfterCommit() {
        List<Long> heard = new ArrayList<>();
        List<DataStoreChange> changes = new ArrayList<>();
        store().addChangeListener(
                        (rev, ch) -> {
                            heard.add(rev);
                            changes.addAll(ch);
                        });
        long r0 = store().changeRevision();
        RegistrationEntry e = store().createEntry(entry("/a", "unix:uid:1"));
        store().createEntries(List.of(entry("/b", "unix:uid:2"), entry("/c", "unix:uid:3")));
        store().updateEntry(e.withDnsNames(List.of("a.local")));
        store().deleteEntry(e.id());
        AttestedNode node =
                new AttestedNode(
                        AGENT,
                        "join_token",
                        "1",
                        100,
                        false,
                        List.of(Selector.parse("spiffe_id:x")),
                        1);
        store().upsertAttestedNode(node);
        store().deleteAttestedNode(AGENT);
        assertThat(heard).containsExactly(r0 + 1, r0 + 2, r0 + 3, r0 + 4, r0 + 5, r0 + 6);
        assertThat(store().changeRevision()).isEqualTo(r0 + 6);
        assertThat(changes).hasSize(7);
        assertThat(changes.get(0)).isEqualTo(new DataStoreChange.EntryStored(e));
        assertThat(changes.get(4)).isEqualTo(new DataStoreChange.EntryDeleted(e.id()));
        assertThat(changes.get(5)).isEqualTo(new DataStoreChange.AgentStored(node));
        assertThat(changes.get(6)).isEqualTo(new DataStoreChange.AgentDeleted(AGENT));
    }

    @Test
    void refusedWriteAndSvidRenewalLeaveTheChangeRevisionAlone() {
        store().createEntry(entry("/a", "unix:uid:1"));
        store().upsertAttestedNode(
                        new AttestedNode(AGENT, "join_token", "1", 100, false, List.of(), 1));
        List<Long> heard = new ArrayList<>();
        store().addChangeListener((rev, ch) -> heard.add(rev));
        long before = store().changeRevision();
        assertThatThrownBy(() -> store().createEntry(entry("/a", "unix:uid:1")))
                .isInstanceOf(DuplicateEntryException.class);
        assertThat(store().updateAttestedNodeSvid(AGENT, "2", 200)).isTrue();
        assertThat(store().changeRevision()).isEqualTo(before);
        assertThat(heard).isEmpty();
    }

    @Test
    void snapshotHoldsEveryEntryAndAgentAtItsRevision() {
        RegistrationEntry e = store().createEntry(entry("/a", "unix:uid:1"));
        store().upsertAttestedNode(
                        new AttestedNode(
                                AGENT,
                                "join_token",
                                "1",
                                100,
                                false,
                                List.of(Selector.parse("spiffe_id:x")),
                                1));
        DataStoreChange.Snapshot snap = store().snapshot();
        assertThat(snap.revision()).isEqualTo(store().changeRevision());
        assertThat(snap.entries()).containsExactly(e);
        assertThat(snap.agents()).extracting(AttestedNode::spiffeId).containsExactly(AGENT);
        assertThat(snap.agents().get(0).selectors()).containsExactly(Selector.parse("spiffe_id:x"));
    }
}
