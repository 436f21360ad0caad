package io.mithril.server.api.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.mithril.api.agent.FetchBundlesRequest;
import io.mithril.api.agent.GetAuthorizedEntriesRequest;
import io.mithril.api.agent.PermissionDeniedDetails;
import io.mithril.pki.KeyType;
import io.mithril.pki.Pem;
import io.mithril.pki.X509Minter;
import io.mithril.server.IdentityServer;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.datastore.AttestedNode;
import io.mithril.server.testing.PostgresDatabases;
import io.mithril.server.testing.ServerFixture;
import io.mithril.server.testing.TestAgent;
import io.mithril.spiffe.id.SpiffeId;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Agent API calls are authenticated from the authorised-entries index, not a datastore read per
 * call: two servers sharing one PostgreSQL database, an agent attested on one and calling the
 * other, and what the other does when the agent is evicted or banned there.
 */
class AgentAuthAcrossServersTest {

    @RegisterExtension static final PostgresDatabases PG = new PostgresDatabases("authx");

    @TempDir Path dir;

    /**
     * Two servers on database {@code db}, both minting under one upstream CA (as operators run
     * replicas).
     */
    IdentityServer[] servers(String db) throws Exception {
        ServerConfig.DataStoreConfig ds = new ServerConfig.DataStoreConfig("postgres", db);
        KeyPair key = KeyType.EC_P256.generate();
        Path cert = dir.resolve("upstream-ca.pem");
        Path keyFile = dir.resolve("upstream-ca.key.pem");
        Pem.writeCertificates(
                cert,
                List.of(
                        new X509Minter(Clock.systemUTC())
                                .selfSignedCa(key, ServerFixture.TD, Duration.ofDays(1), null)));
        Pem.writePrivateKey(keyFile, key.getPrivate());
        ServerConfig.DiskUpstreamConfig upstream =
                new ServerConfig.DiskUpstreamConfig(cert, keyFile, null);
        IdentityServer s1 =
                IdentityServer.start(
                        ServerFixture.config(dir.resolve("s1"), Clock.systemUTC())
                                .dataStore(ds)
                                .upstream(upstream)
                                .build());
        IdentityServer s2 =
                IdentityServer.start(
                        ServerFixture.config(dir.resolve("s2"), Clock.systemUTC())
                                .dataStore(ds)
                                .upstream(upstream)
                                .build());
        return new IdentityServer[] {s1, s2};
    }

    /** Something done through server 1 to the agent it attested. */
    interface Change {
        void apply(IdentityServer s1, SpiffeId agent);
    }

    /**
     * Attests an agent on server 1; its first call, on server 2, right away, is served; after
     * {@code change} on server 1, server 2 refuses the agent with {@code reason} within its refresh
     * interval (1 s; given 10 s here).
     */
    void servedByTheOtherServerThenRefusedAfter(
            Change change, PermissionDeniedDetails.Reason reason) throws Exception {
        IdentityServer[] s = servers(PG.create());
        try (IdentityServer s1 = s[0];
                IdentityServer s2 = s[1];
                TestAgent onS1 = ServerFixture.agent(s1, Clock.systemUTC());
                TestAgent onS2 = ServerFixture.agent(s2, Clock.systemUTC())) {
            onS1.attestJoinToken(s1.generateJoinToken(null, null));
            // s2's index does not know the agent yet; the datastore does
            assertThat(
                            onS2.stubWith(onS1.agentKey(), onS1.agentSvid())
                                    .getAuthorizedEntries(
                                            GetAuthorizedEntriesRequest.getDefaultInstance()))
                    .isNotNull();
            change.apply(s1, onS1.agentId());
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .untilAsserted(
                            () -> {
                                Throwable t =
                                        catchThrowable(
                                                () ->
                                                        onS2.stubWith(
                                                                        onS1.agentKey(),
                                                                        onS1.agentSvid())
                                                                .fetchBundles(
                                                                        FetchBundlesRequest
                                                                                .getDefaultInstance()));
                                assertThat(AgentRefusalDetailsTest.reason(t)).isEqualTo(reason);
                            });
        }
    }

    @Test
    void anEvictionOnOneServerReachesTheOther() throws Exception {
        servedByTheOtherServerThenRefusedAfter(
                (s1, agent) -> s1.dataStore().deleteAttestedNode(agent),
                PermissionDeniedDetails.Reason.AGENT_NOT_ATTESTED);
    }

    @Test
    void aBanOnOneServerReachesTheOther() throws Exception {
        servedByTheOtherServerThenRefusedAfter(
                (s1, agent) -> {
                    AttestedNode n = s1.dataStore().fetchAttestedNode(agent).orElseThrow();
                    s1.dataStore()
                            .upsertAttestedNode(
                                    new AttestedNode(
                                            n.spiffeId(),
                                            n.attestationType(),
                                            n.serialNumber(),
                                            n.expiresAt(),
                                            true,
                                            n.selectors(),
                                            n.createdAt()));
                },
                PermissionDeniedDetails.Reason.AGENT_BANNED);
    }
}
