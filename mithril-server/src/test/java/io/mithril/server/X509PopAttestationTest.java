package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mithril.api.agent.AttestAgentResponse;
import io.mithril.pki.KeyType;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.testing.ServerFixture;
import io.mithril.server.testing.TestAgent;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code x509pop}: chain to the configured CA, then prove possession by signing the server's nonce.
 */
class X509PopAttestationTest {

    @TempDir Path dir;
    IdentityServer server;
    TestAgent agent;
    X509PopFixture pop;

    @BeforeEach
    void start() throws Exception {
        pop = X509PopFixture.create(dir.resolve("ca"), Clock.systemUTC());
        server =
                IdentityServer.start(
                        ServerFixture.config(dir, Clock.systemUTC())
                                .joinToken(false)
                                .x509pop(new ServerConfig.X509PopConfig(List.of(pop.caFile())))
                                .build());
        agent = ServerFixture.agent(server, Clock.systemUTC());
    }

    @AfterEach
    void stop() {
        agent.close();
        server.close();
    }

    @Test
    void agentIdIsTheSha1OfTheLeafAndSelectorsComeFromTheCertificate() throws Exception {
        AttestAgentResponse.Result r = agent.attestX509Pop(pop.chain(), pop.key().getPrivate());
        String sha1 =
                HexFormat.of()
                        .formatHex(
                                MessageDigest.getInstance("SHA-1")
                                        .digest(pop.chain().get(0).getEncoded()));
        assertThat(r.getSvid().getSpiffeId())
                .isEqualTo("spiffe://example.org/spire/agent/x509pop/" + sha1);
        assertThat(r.getReattestable()).isTrue();
        assertThat(server.dataStore().fetchAttestedNode(agent.agentId()).orElseThrow().selectors())
                .extracting(Object::toString)
                .contains("x509pop:subject:cn:node-1");
        // re-attestation with the same certificate is allowed
        assertThat(agent.attestX509Pop(pop.chain(), pop.key().getPrivate()).getSvid().getSpiffeId())
                .isEqualTo(r.getSvid().getSpiffeId());
    }

    @Test
    void bannedAgentCannotAttestAgain() throws Exception {
        agent.attestX509Pop(pop.chain(), pop.key().getPrivate());
        var node = server.dataStore().fetchAttestedNode(agent.agentId()).orElseThrow();
        server.dataStore()
                .upsertAttestedNode(
                        new io.mithril.server.datastore.AttestedNode(
                                node.spiffeId(),
                                node.attestationType(),
                                node.serialNumber(),
                                node.expiresAt(),
                                true,
                                node.selectors(),
                                node.createdAt()));
        assertThatThrownBy(() -> agent.attestX509Pop(pop.chain(), pop.key().getPrivate()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> {
                            assertThat(e.getStatus().getDescription()).contains("banned");
                            com.google.rpc.Status details =
                                    io.grpc.protobuf.StatusProto.fromThrowable(e);
                            assertThat(details).isNotNull();
                            assertThat(details.getDetailsList())
                                    .singleElement()
                                    .satisfies(
                                            a ->
                                                    assertThat(
                                                                    a.unpack(
                                                                                    io.mithril.api
                                                                                            .agent
                                                                                            .PermissionDeniedDetails
                                                                                            .class)
                                                                            .getReason())
                                                            .isEqualTo(
                                                                    io.mithril.api.agent
                                                                            .PermissionDeniedDetails
                                                                            .Reason.AGENT_BANNED));
                        });
    }

    @Test
    void signatureByAnotherKeyIsRefused() {
        assertThatThrownBy(
                        () ->
                                agent.attestX509Pop(
                                        pop.chain(), KeyType.EC_P256.generate().getPrivate()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> {
                            assertThat(e.getStatus().getCode())
                                    .isEqualTo(Status.Code.PERMISSION_DENIED);
                            assertThat(e.getStatus().getDescription()).contains("does not verify");
                        });
    }

    @Test
    void certificateFromAnotherCaIsRefused() throws Exception {
        X509PopFixture stranger = X509PopFixture.create(dir.resolve("other"), Clock.systemUTC());
        assertThatThrownBy(() -> agent.attestX509Pop(stranger.chain(), stranger.key().getPrivate()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e ->
                                assertThat(e.getStatus().getDescription())
                                        .contains("does not chain to the configured CA bundle"));
    }

    @Test
    void aSha1SignedOrRsa1024NodeCertificateFromTheConfiguredCaIsRefused() throws Exception {
        KeyPair nodeKey = KeyType.EC_P256.generate();
        X509Certificate sha1 = pop.issue(nodeKey.getPublic(), "SHA1withECDSA");
        assertThatThrownBy(() -> agent.attestX509Pop(List.of(sha1), nodeKey.getPrivate()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getDescription()).contains("SHA-1"));
        java.security.KeyPairGenerator rsa = java.security.KeyPairGenerator.getInstance("RSA");
        rsa.initialize(1024);
        KeyPair weak = rsa.generateKeyPair();
        X509Certificate rsa1024 = pop.issue(weak.getPublic(), "SHA256withECDSA");
        assertThatThrownBy(() -> agent.attestX509Pop(List.of(rsa1024), weak.getPrivate()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getDescription()).contains("1024"));
    }

    @Test
    void joinTokenIsRefusedWhenNotConfigured() {
        assertThatThrownBy(() -> agent.attestJoinToken("whatever"))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getDescription()).contains("not configured"));
    }
}
