package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mithril.api.agent.AttestAgentResponse;
import io.mithril.k8s.psat.PsatAttestationData;
import io.mithril.k8s.psat.PsatClusterConfig;
import io.mithril.k8s.testing.MockKubernetes;
import io.mithril.server.config.K8sPlugins;
import io.mithril.server.testing.ServerFixture;
import io.mithril.server.testing.TestAgent;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * {@code NodeAttestor "k8s_psat"} against fabric8's mock API server in CRUD mode, whose TokenReview
 * API this test answers as a real API server does. Each refused attack leaves a log line naming the
 * reason and no attested node.
 */
class K8sPsatAttestationTest {

    String nodeUid;
    String podUid;

    @TempDir Path dir;
    MockKubernetes k8s;
    IdentityServer server;
    TestAgent agent;
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    Logger apiLog = (Logger) LoggerFactory.getLogger("io.mithril.server.api");

    @BeforeEach
    void start() throws Exception {
        k8s = new MockKubernetes();
        nodeUid =
                k8s.addNode(
                        "node-1", Map.of("topology.kubernetes.io/zone", "z1", "secret-label", "x"));
        podUid =
                k8s.addPod(
                        "spire",
                        "spire-agent-v5wgr",
                        "spire-agent",
                        "node-1",
                        "172.16.10.1",
                        Map.of("app", "spire-agent", "other", "y"));
        k8s.addToken(
                "good-token",
                new MockKubernetes.Token(
                        "spire",
                        "spire-agent",
                        "spire-agent-v5wgr",
                        podUid,
                        List.of("spire-server")));
        Path kubeconfig = k8s.kubeconfig(dir.resolve("kubeconfig"));
        PsatClusterConfig cluster =
                new PsatClusterConfig(
                        "demo-cluster",
                        List.of("spire:spire-agent"),
                        null,
                        kubeconfig,
                        List.of("topology.kubernetes.io/zone"),
                        List.of("app"),
                        false);
        server =
                IdentityServer.start(
                        ServerFixture.config(dir.resolve("server"), Clock.systemUTC())
                                .joinToken(false)
                                .kubernetes(K8sPlugins.NONE.withPsatClusters(List.of(cluster)))
                                .build());
        agent = ServerFixture.agent(server, Clock.systemUTC());
        logs.start();
        apiLog.addAppender(logs);
    }

    @AfterEach
    void stop() {
        apiLog.detachAppender(logs);
        agent.close();
        server.close();
        k8s.close();
    }

    private AttestAgentResponse.Result attest(String cluster, String token) throws Exception {
        return agent.attest("k8s_psat", new PsatAttestationData(cluster, token).toJson(), null);
    }

    @Test
    void anAgentWithAnAuthenticatedTokenGetsItsNodeUidIdAndSpiresSelectors() throws Exception {
        AttestAgentResponse.Result r = attest("demo-cluster", "good-token");
        assertThat(r.getSvid().getSpiffeId())
                .isEqualTo("spiffe://example.org/spire/agent/k8s_psat/demo-cluster/" + nodeUid);
        assertThat(r.getReattestable()).isTrue();
        assertThat(server.dataStore().fetchAttestedNode(agent.agentId()).orElseThrow().selectors())
                .extracting(Object::toString)
                .containsExactlyInAnyOrder(
                        "k8s_psat:cluster:demo-cluster",
                        "k8s_psat:agent_ns:spire",
                        "k8s_psat:agent_sa:spire-agent",
                        "k8s_psat:agent_pod_name:spire-agent-v5wgr",
                        "k8s_psat:agent_pod_uid:" + podUid,
                        "k8s_psat:agent_node_ip:172.16.10.1",
                        "k8s_psat:agent_node_name:node-1",
                        "k8s_psat:agent_node_uid:" + nodeUid,
                        "k8s_psat:agent_node_label:topology.kubernetes.io/zone:z1",
                        "k8s_psat:agent_pod_label:app:spire-agent");
        // The review asked the API server for SPIRE's default audience, with the agent's token.
        assertThat(k8s.reviews())
                .singleElement()
                .satisfies(
                        tr -> {
                            assertThat(tr.getSpec().getToken()).isEqualTo("good-token");
                            assertThat(tr.getSpec().getAudiences()).containsExactly("spire-server");
                        });
        // A fresh token attests again to the same ID (SPIRE's k8s_psat is reattestable).
        assertThat(attest("demo-cluster", "good-token").getSvid().getSpiffeId())
                .isEqualTo(r.getSvid().getSpiffeId());
        // The token never reaches the log.
        assertThat(logs.list).noneMatch(e -> e.getFormattedMessage().contains("good-token"));
    }

    @Test
    void aTokenTheApiServerDoesNotAuthenticateIsRefusedAndNothingIsStored() {
        assertRefused(
                "demo-cluster",
                "forged-token",
                "token not authenticated according to TokenReview API for cluster \"demo-cluster\"");
    }

    @Test
    void aServiceAccountNotOnTheAllowListIsRefusedAndNothingIsStored() {
        String uid =
                k8s.addPod("default", "intruder", "default", "node-1", "172.16.10.1", Map.of());
        k8s.addToken(
                "default-sa-token",
                new MockKubernetes.Token(
                        "default", "default", "intruder", uid, List.of("spire-server")));
        assertRefused(
                "demo-cluster",
                "default-sa-token",
                "\"default:default\" is not an allowed service account for cluster \"demo-cluster\"");
    }

    @Test
    void aTokenForAnotherAudienceIsRefusedAndNothingIsStored() {
        // A token the API server issued for itself (a pod's ordinary service account token) is not
        // one for SPIRE.
        k8s.addToken(
                "api-audience-token",
                new MockKubernetes.Token(
                        "spire",
                        "spire-agent",
                        "spire-agent-v5wgr",
                        podUid,
                        List.of("https://kubernetes.default.svc")));
        assertRefused(
                "demo-cluster",
                "api-audience-token",
                "token audiences [https://kubernetes.default.svc] is invalid for the target audiences [spire-server]");
    }

    @Test
    void anApiServerThatIgnoresTheAudienceStillCannotPassAWrongAudienceToken() {
        k8s.ignoreRequestedAudiences();
        k8s.addToken(
                "api-audience-token",
                new MockKubernetes.Token(
                        "spire",
                        "spire-agent",
                        "spire-agent-v5wgr",
                        podUid,
                        List.of("https://kubernetes.default.svc")));
        assertRefused(
                "demo-cluster",
                "api-audience-token",
                "token review API did not validate audience: wanted one of [spire-server] but got [https://kubernetes.default.svc]");
    }

    @Test
    void aTokenBoundToAPodThatWasReplacedIsRefused() {
        // The token names a pod UID; a new pod of the same name (another UID) does not make it
        // valid.
        k8s.addToken(
                "stale-token",
                new MockKubernetes.Token(
                        "spire",
                        "spire-agent",
                        "spire-agent-v5wgr",
                        "11111111-2222-3333-4444-555555555555",
                        List.of("spire-server")));
        assertRefused(
                "demo-cluster", "stale-token", "pod UID mismatch for pod \"spire-agent-v5wgr\"");
    }

    @Test
    void anUnknownClusterAndAMalformedPayloadAreRefused() throws Exception {
        assertRefused(
                "other-cluster", "good-token", "not configured for cluster \"other-cluster\"");
        assertThatThrownBy(
                        () ->
                                agent.attest(
                                        "k8s_psat",
                                        "{\"cluster\":\"demo-cluster\"}".getBytes(),
                                        null))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e ->
                                assertThat(e.getStatus().getDescription())
                                        .contains("missing token in attestation data"));
        assertThat(server.dataStore().listAttestedNodes()).isEmpty();
    }

    private void assertRefused(String cluster, String token, String reason) {
        assertThatThrownBy(() -> attest(cluster, token))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> {
                            assertThat(e.getStatus().getCode())
                                    .isEqualTo(Status.Code.PERMISSION_DENIED);
                            assertThat(e.getStatus().getDescription()).contains(reason);
                        });
        assertThat(server.dataStore().listAttestedNodes()).isEmpty();
        assertThat(logs.list)
                .anySatisfy(
                        ev ->
                                assertThat(ev.getFormattedMessage())
                                        .contains("Node attestation refused: type=k8s_psat")
                                        .contains(reason));
        assertThat(logs.list).noneMatch(ev -> ev.getFormattedMessage().contains(token));
    }
}
