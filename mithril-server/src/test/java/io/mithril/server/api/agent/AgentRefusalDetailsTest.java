package io.mithril.server.api.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.google.protobuf.Any;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import io.mithril.api.agent.FetchBundlesRequest;
import io.mithril.api.agent.GetAuthorizedEntriesRequest;
import io.mithril.api.agent.PermissionDeniedDetails;
import io.mithril.api.agent.RenewAgentRequest;
import io.mithril.pki.Csr;
import io.mithril.pki.KeyType;
import io.mithril.server.IdentityServer;
import io.mithril.server.datastore.AttestedNode;
import io.mithril.server.testing.MutableClock;
import io.mithril.server.testing.ServerFixture;
import io.mithril.server.testing.TestAgent;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Refusals of the agent itself carry a typed {@link PermissionDeniedDetails} reason, as SPIRE's do.
 */
class AgentRefusalDetailsTest {

    @TempDir Path dir;
    MutableClock clock = MutableClock.startingNow();
    IdentityServer server;
    TestAgent agent;

    @BeforeEach
    void start() throws Exception {
        server = IdentityServer.start(ServerFixture.config(dir, clock).build());
        agent = ServerFixture.agent(server, clock);
        agent.attestJoinToken(server.generateJoinToken(null, null));
    }

    @AfterEach
    void stop() {
        agent.close();
        server.close();
    }

    /**
     * The one PermissionDeniedDetails in the refusal's status details, or null when there is none.
     */
    static PermissionDeniedDetails.Reason reason(Throwable t) throws Exception {
        assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        com.google.rpc.Status s = StatusProto.fromThrowable(t);
        if (s == null) {
            return null;
        }
        assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED.value());
        for (Any a : s.getDetailsList()) {
            if (a.is(PermissionDeniedDetails.class)) {
                return a.unpack(PermissionDeniedDetails.class).getReason();
            }
        }
        return null;
    }

    private void ban() {
        AttestedNode n = server.dataStore().fetchAttestedNode(agent.agentId()).orElseThrow();
        server.dataStore()
                .upsertAttestedNode(
                        new AttestedNode(
                                n.spiffeId(),
                                n.attestationType(),
                                n.serialNumber(),
                                n.expiresAt(),
                                true,
                                n.selectors(),
                                n.createdAt()));
    }

    @Test
    void evictedAgentIsRefusedAsNotAttested() throws Exception {
        server.dataStore().deleteAttestedNode(agent.agentId());
        Throwable t =
                catchThrowable(
                        () -> agent.stub().fetchBundles(FetchBundlesRequest.getDefaultInstance()));
        assertThat(reason(t)).isEqualTo(PermissionDeniedDetails.Reason.AGENT_NOT_ATTESTED);
        assertThat(Status.fromThrowable(t).getDescription())
                .contains("is not attested"); // still readable by people
    }

    @Test
    void unknownAgentIsRefusedAsNotAttested() throws Exception {
        // an agent ID this server never attested, signed by its CA (e.g. a data directory restored
        // on a rebuilt server)
        var kp = KeyType.EC_P256.generate();
        var chain =
                server.caManager()
                        .signX509Svid(
                                kp.getPublic(),
                                io.mithril.spiffe.id.SpiffeId.parse(
                                        "spiffe://example.org/spire/agent/join_token/never-seen"),
                                List.of(),
                                java.time.Duration.ofMinutes(5));
        Throwable t =
                catchThrowable(
                        () ->
                                agent.stubWith(kp, chain)
                                        .getAuthorizedEntries(
                                                GetAuthorizedEntriesRequest.getDefaultInstance()));
        assertThat(reason(t)).isEqualTo(PermissionDeniedDetails.Reason.AGENT_NOT_ATTESTED);
    }

    @Test
    void bannedAgentIsRefusedAsBanned() throws Exception {
        ban();
        Throwable t =
                catchThrowable(
                        () ->
                                agent.stub()
                                        .getAuthorizedEntries(
                                                GetAuthorizedEntriesRequest.getDefaultInstance()));
        assertThat(reason(t)).isEqualTo(PermissionDeniedDetails.Reason.AGENT_BANNED);
        assertThat(Status.fromThrowable(t).getDescription()).contains("is banned");
    }

    @Test
    void renewalOfAnAgentEvictedAfterTheCallWasAuthenticatedIsRefusedAsNotAttested()
            throws Exception {
        // The interceptor admits the call; the node is gone by the time the renewed serial is
        // stored.
        var kp = KeyType.EC_P256.generate();
        var stub = agent.stub();
        stub.fetchBundles(FetchBundlesRequest.getDefaultInstance());
        server.dataStore().deleteAttestedNode(agent.agentId());
        Throwable t =
                catchThrowable(
                        () ->
                                stub.renewAgent(
                                        RenewAgentRequest.newBuilder()
                                                .setCsr(
                                                        com.google.protobuf.ByteString.copyFrom(
                                                                Csr.create(
                                                                        kp,
                                                                        agent.agentId(),
                                                                        List.of())))
                                                .build()));
        assertThat(reason(t)).isEqualTo(PermissionDeniedDetails.Reason.AGENT_NOT_ATTESTED);
    }

    @Test
    void callerThatIsNotAnAgentGetsAGenericRefusalWithoutDetails() throws Exception {
        Throwable t =
                catchThrowable(
                        () ->
                                agent.anonymous()
                                        .fetchBundles(FetchBundlesRequest.getDefaultInstance()));
        assertThat(reason(t)).isNull();
    }
}
