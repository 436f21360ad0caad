package io.mithril.agent.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.mithril.agent.AgentStartException;
import io.mithril.agent.attestor.node.NodeAttestationException;
import io.mithril.api.agent.PermissionDeniedDetails;
import io.mithril.api.agent.PermissionDeniedDetails.Reason;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The agent decides by the typed reason in the status details; the description's wording plays no
 * part.
 */
class ServerRefusalTest {

    private static StatusRuntimeException denied(Reason reason, String description) {
        return StatusProto.toStatusRuntimeException(
                com.google.rpc.Status.newBuilder()
                        .setCode(Status.Code.PERMISSION_DENIED.value())
                        .setMessage(description)
                        .addDetails(
                                Any.pack(
                                        PermissionDeniedDetails.newBuilder()
                                                .setReason(reason)
                                                .build()))
                        .build());
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "agent spiffe://example.org/spire/agent/x is not attested (evicted or unknown)",
                "Agent ist nicht bekannt",
                "agent is banned",
                ""
            })
    void evictedIsReadFromTheDetailWhateverTheDescriptionSays(String description) {
        Optional<Reason> r = ServerRefusal.reason(denied(Reason.AGENT_NOT_ATTESTED, description));
        assertThat(r).contains(Reason.AGENT_NOT_ATTESTED);
        assertThat(ServerRefusal.shouldReattest(r)).isTrue();
        assertThat(ServerRefusal.banned(r)).isFalse();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {"agent spiffe://example.org/spire/agent/x is banned", "is not attested", ""})
    void bannedIsReadFromTheDetailWhateverTheDescriptionSays(String description) {
        Optional<Reason> r = ServerRefusal.reason(denied(Reason.AGENT_BANNED, description));
        assertThat(ServerRefusal.banned(r)).isTrue();
        assertThat(ServerRefusal.shouldReattest(r)).isFalse();
    }

    @Test
    void aRefusalWithoutDetailsIsGenericEvenWhenItsTextSaysEvicted() {
        // what an older server sends: the text used to be matched; now it means nothing to the
        // agent
        Optional<Reason> r =
                ServerRefusal.reason(
                        Status.PERMISSION_DENIED
                                .withDescription(
                                        "agent spiffe://example.org/spire/agent/x is not attested (evicted or unknown)")
                                .asRuntimeException());
        assertThat(r).isEmpty();
        assertThat(ServerRefusal.shouldReattest(r)).isFalse();
        assertThat(ServerRefusal.banned(r)).isFalse();
        assertThat(
                        ServerRefusal.reason(
                                Status.PERMISSION_DENIED
                                        .withDescription("agent x is banned")
                                        .asException()))
                .isEmpty();
    }

    @Test
    void otherCodesAndUnknownReasonsAreGeneric() {
        assertThat(
                        ServerRefusal.reason(
                                Status.UNAVAILABLE
                                        .withDescription("is not attested")
                                        .asRuntimeException()))
                .isEmpty();
        assertThat(ServerRefusal.shouldReattest(ServerRefusal.reason(denied(Reason.UNKNOWN, "x"))))
                .isFalse();
        // a reason number newer than this agent knows
        StatusRuntimeException future =
                StatusProto.toStatusRuntimeException(
                        com.google.rpc.Status.newBuilder()
                                .setCode(Status.Code.PERMISSION_DENIED.value())
                                .addDetails(
                                        Any.pack(
                                                PermissionDeniedDetails.newBuilder()
                                                        .setReasonValue(99)
                                                        .build()))
                                .build());
        assertThat(ServerRefusal.reason(future)).isEmpty();
    }

    @Test
    void theReasonSurvivesTheCheckedStatusExceptionAndWrappingCauses() {
        StatusRuntimeException e = denied(Reason.AGENT_BANNED, "refused");
        StatusException checked = new StatusException(e.getStatus(), e.getTrailers());
        assertThat(ServerRefusal.reason(checked)).contains(Reason.AGENT_BANNED);
        // AgentApiClient.attest wraps the gRPC error; AgentIdentity wraps that again
        AgentStartException wrapped =
                new AgentStartException(
                        "attestation refused",
                        new NodeAttestationException("node attestation (x509pop) failed", e));
        assertThat(ServerRefusal.reason(wrapped)).contains(Reason.AGENT_BANNED);
        // without trailers (what asException() used to give) the reason is lost: generic
        assertThat(ServerRefusal.reason(e.getStatus().asException())).isEmpty();
    }
}
