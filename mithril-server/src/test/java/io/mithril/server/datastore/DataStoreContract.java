package io.mithril.server.datastore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.JwtKey;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.entry.Selector;
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
        RegistrationEntry e = store().createEntry(entry("/ns/default/sa/sleep", "unix:uid:1000", "unix:gid:1000")
                .withX509SvidTtl(300).withDnsNames(List.of("sleep.local")));
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
                .isInstanceOf(DuplicateEntryException.class).hasMessageContaining("spiffe://example.org/a");
        assertThat(store().countEntries()).isEqualTo(1);
    }

    @Test
    void concurrentDuplicateCreatesStoreExactlyOne() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                results.add(pool.submit(() -> {
                    try {
                        store().createEntry(entry("/race", "unix:uid:7"));
                        return true;
                    } catch (DuplicateEntryException e) {
                        return false;
                    }
                }));
            }
            int ok = 0;
            for (Future<Boolean> f : results) {
                ok += f.get() ? 1 : 0;
            }
            assertThat(ok).isEqualTo(1);
            assertThat(store().countEntries()).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void listFiltersBySpiffeIdParentAndSelectors() {
        store().createEntry(entry("/a", "unix:uid:1", "unix:gid:1"));
        store().createEntry(entry("/b", "unix:uid:2"));
        assertThat(store().listEntries(new EntryFilter(SpiffeId.parse("spiffe://example.org/b"), null, null, null)))
                .extracting(e -> e.spiffeId().toString()).containsExactly("spiffe://example.org/b");
        assertThat(store().listEntries(new EntryFilter(null, AGENT, null, null))).hasSize(2);
        assertThat(store().listEntries(new EntryFilter(null, null, List.of(Selector.parse("unix:uid:1")), EntryFilter.Match.SUPERSET)))
                .extracting(e -> e.spiffeId().toString()).containsExactly("spiffe://example.org/a");
        assertThat(store().listEntries(new EntryFilter(null, null, List.of(Selector.parse("unix:uid:1")), EntryFilter.Match.EXACT))).isEmpty();
    }

    @Test
    void updateIncrementsRevisionAndReplacesSelectors() {
        RegistrationEntry e = store().createEntry(entry("/a", "unix:uid:1"));
        RegistrationEntry changed = new RegistrationEntry(e.id(), e.spiffeId(), e.parentId(), List.of(Selector.parse("unix:uid:2")),
                60, 0, List.of(), List.of(), false, false, "", 0, 0, 0);
        RegistrationEntry updated = store().updateEntry(changed).orElseThrow();
        assertThat(updated.revisionNumber()).isEqualTo(1);
        assertThat(updated.createdAt()).isEqualTo(e.createdAt());
        assertThat(store().fetchEntry(e.id()).orElseThrow().selectorStrings()).containsExactly("unix:uid:2");
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
        RegistrationEntry child = store().createEntry(RegistrationEntry.of(SpiffeId.parse("spiffe://example.org/w"), alias.spiffeId(),
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
        AttestedNode n = new AttestedNode(AGENT, "join_token", "123", 999, false, List.of(Selector.parse("x509pop:subject:cn:n1")), 5);
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
        Bundle a = Bundle.newBuilder().setTrustDomain("example.org").addX509Authorities(ByteString.copyFromUtf8("root-1"))
                .addJwtAuthorities(JwtKey.newBuilder().setKeyId("k1")).build();
        Bundle first = store().appendBundle(a);
        assertThat(first.getSequenceNumber()).isEqualTo(1);
        assertThat(store().appendBundle(a).getSequenceNumber()).isEqualTo(1);
        Bundle b = Bundle.newBuilder().setTrustDomain("example.org").addX509Authorities(ByteString.copyFromUtf8("root-2"))
                .addJwtAuthorities(JwtKey.newBuilder().setKeyId("k2")).build();
        Bundle merged = store().appendBundle(b);
        assertThat(merged.getSequenceNumber()).isEqualTo(2);
        assertThat(merged.getX509AuthoritiesList()).hasSize(2);
        assertThat(merged.getJwtAuthoritiesList()).extracting(JwtKey::getKeyId).containsExactly("k1", "k2");
    }

    @Test
    void federatedBundlesCanBeSetListedAndDeleted() {
        store().setBundle(Bundle.newBuilder().setTrustDomain("domain.test").setSequenceNumber(4).build());
        assertThat(store().listBundles()).extracting(Bundle::getTrustDomain).containsExactly("domain.test");
        assertThat(store().fetchBundle("domain.test").orElseThrow().getSequenceNumber()).isEqualTo(4);
        assertThat(store().deleteBundle("domain.test")).isTrue();
        assertThat(store().fetchBundle("domain.test")).isEmpty();
    }

    @Test
    void caJournalIsSavedAndReplaced() {
        assertThat(store().fetchCaJournal("j")).isEmpty();
        store().saveCaJournal("j", new byte[] {1, 2});
        store().saveCaJournal("j", new byte[] {3});
        assertThat(store().fetchCaJournal("j")).hasValueSatisfying(d -> assertThat(d).containsExactly(3));
        assertThat(Optional.of(1)).isPresent();
    }
}
