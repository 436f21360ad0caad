package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jose.JWSObject;
import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.api.admin.ListAgentsRequest;
import io.mithril.api.localauthority.ActivateJWTAuthorityRequest;
import io.mithril.api.localauthority.ActivateX509AuthorityRequest;
import io.mithril.api.localauthority.LocalAuthorityServiceGrpc.LocalAuthorityServiceBlockingStub;
import io.mithril.api.localauthority.PrepareJWTAuthorityRequest;
import io.mithril.api.localauthority.PrepareX509AuthorityRequest;
import io.mithril.api.localauthority.RevokeJWTAuthorityRequest;
import io.mithril.api.localauthority.RevokeX509AuthorityRequest;
import io.mithril.api.localauthority.TaintJWTAuthorityRequest;
import io.mithril.api.localauthority.TaintX509AuthorityRequest;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.api.workload.client.WorkloadApiException;
import io.mithril.api.workload.client.X509Context;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.ca.BundleTaints;
import io.mithril.server.ca.CaManager;
import io.mithril.server.testing.ServerFixture;
import io.mithril.spiffe.id.TrustDomain;
import java.io.Closeable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SPIRE's forced rotation end to end, with a real server, a real agent and the Workload API over
 * its socket: activating a new CA alone leaves the SVIDs workloads hold as they are; tainting the
 * old CA makes the agent replace them (and its own SVID) at its next sync, long before they expire,
 * and the open {@code FetchX509SVID} stream delivers the new ones; revoking removes the old root
 * from the bundle the stream serves. The same for a JWT key: a tainted key's JWT-SVIDs leave the
 * agent's cache and its revocation removes it from the JWT bundle.
 */
class AuthorityTaintTest {

    private ServerFixture server;
    private Agent agent;

    @AfterEach
    void tearDown() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private static boolean signedBy(X509Certificate c, X509Certificate ca) {
        try {
            c.verify(ca.getPublicKey());
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private static String kid(String token) throws Exception {
        return JWSObject.parse(token).getHeader().getKeyID();
    }

    @Test
    void taintForcesNewSvidsUnderTheNewAuthorityAndRevokeRemovesTheOldKey() throws Exception {
        server = new ServerFixture();
        server.register("spiffe://example.org/workload", 0, "unix:uid:0");
        Path socket = Files.createDirectories(server.dir.resolve("sock")).resolve("api.sock");
        agent =
                Agent.start(
                        AgentConfig.of(
                                        ServerFixture.TD,
                                        server.dir.resolve("agent"),
                                        "127.0.0.1",
                                        server.port(),
                                        socket,
                                        server.bundlePem(),
                                        server.joinToken())
                                .withSyncInterval(Duration.ofMillis(200)));
        CaManager ca = server.server().caManager();
        X509Certificate firstCa = ca.currentX509Ca().certificate();
        String firstId = BundleTaints.subjectKeyId(firstCa);
        String firstKid = ca.currentJwtKey().kid();

        List<X509Context> updates = new CopyOnWriteArrayList<>();
        try (WorkloadApiClient workload = WorkloadApiClient.connect("unix://" + socket);
                AdminClient admin = AdminClient.connect(server.server().adminSocketPath());
                Closeable watch =
                        workload.watchX509Context(
                                new WorkloadApiClient.Watcher<>() {
                                    @Override
                                    public void onUpdate(X509Context u) {
                                        updates.add(u);
                                    }

                                    @Override
                                    public void onError(WorkloadApiException e) {}
                                })) {
            await().atMost(Duration.ofSeconds(15)).until(() -> !updates.isEmpty());
            X509Context.Svid before = updates.get(updates.size() - 1).defaultSvid();
            assertThat(signedBy(before.leaf(), firstCa)).isTrue();
            String jwtBefore =
                    workload.fetchJwtSvids(Duration.ofSeconds(10), null, "aud").get(0).token();
            assertThat(kid(jwtBefore)).isEqualTo(firstKid);
            String agentSerialBefore = agentSerial(admin);

            LocalAuthorityServiceBlockingStub api = admin.localAuthority();
            String secondId =
                    api.prepareX509Authority(PrepareX509AuthorityRequest.getDefaultInstance())
                            .getPreparedAuthority()
                            .getAuthorityId();
            api.activateX509Authority(
                    ActivateX509AuthorityRequest.newBuilder().setAuthorityId(secondId).build());
            String secondKid =
                    api.prepareJWTAuthority(PrepareJWTAuthorityRequest.getDefaultInstance())
                            .getPreparedAuthority()
                            .getAuthorityId();
            api.activateJWTAuthority(
                    ActivateJWTAuthorityRequest.newBuilder().setAuthorityId(secondKid).build());
            X509Certificate secondCa = ca.currentX509Ca().certificate();

            // The stream gets the bundle with both roots; the SVID stays the one the first CA
            // signed (activation alone forces nothing), over many syncs.
            await().atMost(Duration.ofSeconds(15))
                    .until(() -> last(updates).defaultSvid().bundle().contains(secondCa));
            Thread.sleep(2000);
            assertThat(last(updates).defaultSvid().leaf()).isEqualTo(before.leaf());
            assertThat(agentSerial(admin)).isEqualTo(agentSerialBefore);
            assertThat(
                            kid(
                                    workload.fetchJwtSvids(Duration.ofSeconds(10), null, "aud")
                                            .get(0)
                                            .token()))
                    .isEqualTo(firstKid);

            // Taint: new SVIDs under the second CA, streamed; the agent's own SVID renewed.
            api.taintX509Authority(
                    TaintX509AuthorityRequest.newBuilder().setAuthorityId(firstId).build());
            api.taintJWTAuthority(
                    TaintJWTAuthorityRequest.newBuilder().setAuthorityId(firstKid).build());
            await().atMost(Duration.ofSeconds(15))
                    .until(() -> signedBy(last(updates).defaultSvid().leaf(), secondCa));
            X509Context.Svid after = last(updates).defaultSvid();
            assertThat(after.leaf().getSerialNumber())
                    .isNotEqualTo(before.leaf().getSerialNumber());
            // Still trusted until revoked: both roots in the bundle.
            assertThat(after.bundle()).contains(firstCa, secondCa);
            await().atMost(Duration.ofSeconds(15))
                    .until(() -> !agentSerial(admin).equals(agentSerialBefore));
            assertThat(
                            kid(
                                    workload.fetchJwtSvids(Duration.ofSeconds(10), null, "aud")
                                            .get(0)
                                            .token()))
                    .isEqualTo(secondKid);

            // Revoke: the first root leaves the bundle the stream serves, the first key the JWT
            // bundle.
            api.revokeX509Authority(
                    RevokeX509AuthorityRequest.newBuilder().setAuthorityId(firstId).build());
            api.revokeJWTAuthority(
                    RevokeJWTAuthorityRequest.newBuilder().setAuthorityId(firstKid).build());
            await().atMost(Duration.ofSeconds(15))
                    .until(() -> !last(updates).defaultSvid().bundle().contains(firstCa));
            assertThat(last(updates).defaultSvid().bundle()).containsExactly(secondCa);
            assertThat(signedBy(last(updates).defaultSvid().leaf(), secondCa)).isTrue();
            await().atMost(Duration.ofSeconds(15))
                    .until(
                            () ->
                                    !jwks(workload).contains(firstKid)
                                            && jwks(workload).contains(secondKid));
        }
    }

    private static X509Context last(List<X509Context> updates) {
        return updates.get(updates.size() - 1);
    }

    private static String jwks(WorkloadApiClient workload) {
        return new String(
                workload.fetchJwtBundles(Duration.ofSeconds(10))
                        .get(TrustDomain.parse("example.org")),
                StandardCharsets.UTF_8);
    }

    private static String agentSerial(AdminClient admin) {
        return admin.admin()
                .listAgents(ListAgentsRequest.getDefaultInstance())
                .getAgents(0)
                .getX509SvidSerial();
    }
}
