package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.api.admin.GetAgentRequest;
import io.mithril.api.admin.GetBundleRequest;
import io.mithril.api.admin.JwtAuthority;
import io.mithril.api.admin.ListAgentsRequest;
import io.mithril.api.admin.ListJwtAuthoritiesRequest;
import io.mithril.api.admin.ListX509AuthoritiesRequest;
import io.mithril.api.admin.ListX509AuthoritiesResponse;
import io.mithril.api.admin.X509Authority;
import io.mithril.api.agent.GetAuthorizedEntriesRequest;
import io.mithril.api.types.Agent;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.ca.TrustBundle;
import io.mithril.server.testing.MutableClock;
import io.mithril.server.testing.ServerFixture;
import io.mithril.server.testing.TestAgent;
import io.mithril.spiffe.id.SpiffeId;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The read-only admin RPCs the dashboard reads the CA slots and the agents' last syncs from. */
class ListX509AuthoritiesTest {

    @TempDir Path dir;

    @Test
    void theActiveCaThenThePreparedOneWithChainsUpToABundleRoot() throws Exception {
        MutableClock clock = MutableClock.startingNow();
        try (IdentityServer server =
                        IdentityServer.start(
                                ServerFixture.config(dir, clock)
                                        .caTtl(Duration.ofHours(6))
                                        .build());
                AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
            ListX509AuthoritiesResponse r =
                    admin.admin()
                            .listX509Authorities(ListX509AuthoritiesRequest.getDefaultInstance());
            assertThat(r.getAuthoritiesList())
                    .extracting(X509Authority::getSlot)
                    .containsExactly("active");
            X509Authority active = r.getAuthorities(0);
            assertThat(active.getKeyId()).isNotEmpty();
            var roots =
                    admin.admin()
                            .getBundle(GetBundleRequest.getDefaultInstance())
                            .getX509AuthoritiesList();
            assertThat(roots).contains(active.getCertChain(active.getCertChainCount() - 1));

            // Past half its life the next CA is prepared: both slots are listed.
            clock.advance(Duration.ofHours(3).plusMinutes(1));
            server.caManager().rotate();
            r = admin.admin().listX509Authorities(ListX509AuthoritiesRequest.getDefaultInstance());
            assertThat(r.getAuthoritiesList())
                    .extracting(X509Authority::getSlot)
                    .containsExactly("active", "prepared");
            assertThat(r.getAuthorities(1).getCertChain(0)).isNotEqualTo(active.getCertChain(0));
        }
    }

    /**
     * SPIRE's old slot: after an activation the replaced CA and JWT key are listed as "old" (across
     * a restart too), their root and JWT key stay in the bundle, and both go when they expire.
     */
    @Test
    void afterARotationTheReplacedCaIsOldAndStaysInTheBundleUntilItExpires() throws Exception {
        MutableClock clock = MutableClock.startingNow();
        IdentityServer server =
                IdentityServer.start(
                        ServerFixture.config(dir, clock).caTtl(Duration.ofHours(6)).build());
        try {
            X509Certificate first = server.caManager().currentX509Ca().certificate();
            String firstKid = server.caManager().currentJwtKey().kid();
            clock.advance(Duration.ofHours(3).plusMinutes(1)); // remaining < life/2: prepare
            server.caManager().rotate();
            X509Certificate second = server.caManager().nextX509Ca().orElseThrow().certificate();
            assertThat(server.caManager().oldX509Ca()).isEmpty();

            clock.advance(Duration.ofHours(2)); // remaining 59m < life/6: activate
            server.caManager().rotate();
            assertThat(server.caManager().currentX509Ca().certificate()).isEqualTo(second);
            try (AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
                assertSlots(admin, first, second);
                List<JwtAuthority> jwt =
                        admin.admin()
                                .listJwtAuthorities(ListJwtAuthoritiesRequest.getDefaultInstance())
                                .getAuthoritiesList();
                assertThat(jwt).extracting(JwtAuthority::getSlot).containsExactly("active", "old");
                assertThat(jwt.get(1).getKid()).isEqualTo(firstKid);
            }
            // the old one signs nothing more: no private key is kept with it
            assertThat(server.caManager().oldX509Ca().orElseThrow().keyPair().getPrivate())
                    .isNull();
            assertThat(server.bundle().x509Authorities()).contains(first, second);
            assertThat(server.bundle().jwtAuthorities())
                    .extracting(TrustBundle.JwtAuthority::keyId)
                    .contains(firstKid);

            // The journal keeps the old slot across a restart.
            server.close();
            server =
                    IdentityServer.start(
                            ServerFixture.config(dir, clock).caTtl(Duration.ofHours(6)).build());
            try (AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
                assertSlots(admin, first, second);
            }

            // Once the old CA has expired it is neither listed nor in the bundle.
            clock.advance(
                    Duration.ofMinutes(59)
                            .plusSeconds(30)); // past its notAfter, before the next prepare
            server.caManager().rotate();
            assertThat(server.caManager().oldX509Ca()).isEmpty();
            assertThat(server.caManager().oldJwtKey()).isEmpty();
            assertThat(server.bundle().x509Authorities()).containsExactly(second);
            assertThat(server.bundle().jwtAuthorities())
                    .extracting(TrustBundle.JwtAuthority::keyId)
                    .doesNotContain(firstKid);
            try (AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
                assertThat(
                                admin.admin()
                                        .listX509Authorities(
                                                ListX509AuthoritiesRequest.getDefaultInstance())
                                        .getAuthoritiesList())
                        .extracting(X509Authority::getSlot)
                        .containsExactly("active");
            }
        } finally {
            server.close();
        }
    }

    private static void assertSlots(AdminClient admin, X509Certificate old, X509Certificate active)
            throws Exception {
        ListX509AuthoritiesResponse r =
                admin.admin().listX509Authorities(ListX509AuthoritiesRequest.getDefaultInstance());
        assertThat(r.getAuthoritiesList())
                .extracting(X509Authority::getSlot)
                .containsExactly("active", "old");
        assertThat(r.getAuthorities(0).getCertChain(0).toByteArray())
                .isEqualTo(active.getEncoded());
        assertThat(r.getAuthorities(1).getCertChain(0).toByteArray()).isEqualTo(old.getEncoded());
        assertThat(
                        admin.admin()
                                .getBundle(GetBundleRequest.getDefaultInstance())
                                .getX509AuthoritiesList())
                .extracting(b -> b.toByteArray().length)
                .hasSize(2);
    }

    @Test
    void listAgentsAndGetAgentReportEachAgentsLastSyncWithThisServer() throws Exception {
        MutableClock clock = MutableClock.startingNow();
        try (IdentityServer server =
                        IdentityServer.start(ServerFixture.config(dir, clock).build());
                TestAgent agent = ServerFixture.agent(server, clock);
                AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
            agent.attestJoinToken(
                    server.generateJoinToken(
                            Duration.ofMinutes(10),
                            SpiffeId.parse("spiffe://example.org/node/n1")));
            Agent before =
                    admin.admin().listAgents(ListAgentsRequest.getDefaultInstance()).getAgents(0);
            assertThat(before.getLastSync()).isZero(); // attested, not yet synced
            assertThat(before.getCanReattest()).isFalse(); // join_token: the token is spent

            clock.advance(Duration.ofSeconds(42));
            Instant syncedAt = clock.instant();
            agent.stub().getAuthorizedEntries(GetAuthorizedEntriesRequest.getDefaultInstance());
            clock.advance(Duration.ofSeconds(5));
            Agent listed =
                    admin.admin().listAgents(ListAgentsRequest.getDefaultInstance()).getAgents(0);
            assertThat(listed.getLastSync()).isEqualTo(syncedAt.getEpochSecond());
            assertThat(
                            admin.admin()
                                    .getAgent(
                                            GetAgentRequest.newBuilder()
                                                    .setId(listed.getSpiffeId())
                                                    .build())
                                    .getLastSync())
                    .isEqualTo(syncedAt.getEpochSecond());
        }
    }
}
