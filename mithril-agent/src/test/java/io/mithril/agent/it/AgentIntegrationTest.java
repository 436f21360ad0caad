package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.mithril.agent.Agent;
import io.mithril.agent.AgentStartException;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.sync.AgentIdentity;
import io.mithril.agent.testing.FetchIdentityMain;
import io.mithril.agent.testing.ForeignUid;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.api.workload.client.WorkloadApiException;
import io.mithril.api.workload.client.X509Context;
import io.mithril.api.workload.client.X509ContextFiles;
import io.mithril.server.ca.CaManager;
import io.mithril.server.testing.ServerFixture;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.testing.HeldCertificate;
import io.mithril.spiffe.testing.HostileJwtSvids;
import java.io.Closeable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The agent against a real identity server: attestation, sync, rotation, outage, restart. */
class AgentIntegrationTest {

    private ServerFixture server;
    private Path agentDir;
    private Path socket;
    private Agent agent;

    @BeforeEach
    void setUp() throws Exception {
        server = new ServerFixture();
        agentDir = server.dir.resolve("agent");
        Path sockDir = Files.createDirectories(server.dir.resolve("sock"));
        Files.setPosixFilePermissions(server.dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(sockDir, PosixFilePermissions.fromString("rwxr-xr-x"));
        socket = sockDir.resolve("api.sock");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (agent != null) {
            agent.close();
        }
        server.close();
    }

    private AgentConfig config(String token) throws Exception {
        return AgentConfig.of(
                        ServerFixture.TD,
                        agentDir,
                        "127.0.0.1",
                        server.port(),
                        socket,
                        server.bundlePem(),
                        token)
                .withSyncInterval(Duration.ofMillis(200));
    }

    private X509Context fetch() {
        try (WorkloadApiClient c = WorkloadApiClient.connect("unix://" + socket)) {
            return c.fetchX509Context(Duration.ofSeconds(10));
        }
    }

    @Test
    void agentAttestsWithJoinTokenAndServesEachUidOnlyItsOwnIdentity() throws Exception {
        server.register("spiffe://example.org/root-workload", 0, "unix:uid:0");
        server.register("spiffe://example.org/app-1234", 0, "unix:uid:1234");
        agent = Agent.start(config(server.joinToken()));
        assertThat(agent.agentId().toString())
                .startsWith("spiffe://example.org/spire/agent/join_token/");

        X509Context ctx = fetch();
        assertThat(ctx.svids())
                .extracting(s -> s.spiffeId().toString())
                .containsExactly("spiffe://example.org/root-workload");
        assertThat(ctx.defaultSvid().bundle())
                .isEqualTo(server.server().bundle().x509Authorities());

        assertThat(
                        ForeignUid.answers(
                                ForeignUid.runJava(
                                        1234,
                                        1234,
                                        FetchIdentityMain.class.getName(),
                                        "unix://" + socket)))
                .containsExactly("ID spiffe://example.org/app-1234");
        assertThat(
                        ForeignUid.answers(
                                ForeignUid.runJava(
                                        4321,
                                        4321,
                                        FetchIdentityMain.class.getName(),
                                        "unix://" + socket)))
                .containsExactly("STATUS PERMISSION_DENIED");
    }

    @Test
    void evictedJoinTokenAgentCannotAttestAgainAndKeepsServingItsCachedSvids() throws Exception {
        server.register("spiffe://example.org/root-workload", 0, "unix:uid:0");
        agent = Agent.start(config(server.joinToken()));
        assertThat(fetch().defaultSvid().spiffeId().toString())
                .isEqualTo("spiffe://example.org/root-workload");
        assertThat(server.server().dataStore().deleteAttestedNode(agent.agentId())).isTrue();
        // ten sync intervals: each is refused
        await("a spent join token cannot attest again")
                .during(Duration.ofSeconds(2))
                .atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(200))
                .until(
                        () ->
                                server.server()
                                        .dataStore()
                                        .fetchAttestedNode(agent.agentId())
                                        .isEmpty());
        assertThat(fetch().defaultSvid().spiffeId().toString())
                .as("cached SVID still served")
                .isEqualTo("spiffe://example.org/root-workload");
    }

    @Test
    void restartedAgentReusesItsSvidFromDataDirWithoutJoinToken() throws Exception {
        server.register("spiffe://example.org/root-workload", 0, "unix:uid:0");
        agent = Agent.start(config(server.joinToken()));
        String firstId = agent.agentId().toString();
        agent.close();
        agent = null;
        assertThat(
                        PosixFilePermissions.toString(
                                Files.getPosixFilePermissions(
                                        agentDir.resolve(AgentIdentity.SVID_FILE))))
                .isEqualTo("rw-------");
        assertThat(
                        PosixFilePermissions.toString(
                                Files.getPosixFilePermissions(agentDir.resolve("agent_svid.key"))))
                .isEqualTo("rw-------");

        agent = Agent.start(config(null));
        assertThat(agent.agentId().toString()).isEqualTo(firstId);
        assertThat(fetch().defaultSvid().spiffeId().toString())
                .isEqualTo("spiffe://example.org/root-workload");
    }

    @Test
    void agentWithoutSvidOrJoinTokenRefusesToStartSayingWhatToPass() {
        assertThatThrownBy(() -> Agent.start(config(null)))
                .isInstanceOf(AgentStartException.class)
                .hasMessageContaining("-joinToken");
    }

    @Test
    void reusedJoinTokenIsRefusedByTheServer() throws Exception {
        String token = server.joinToken();
        agent = Agent.start(config(token));
        agent.close();
        agent = null;
        Files.delete(agentDir.resolve(AgentIdentity.SVID_FILE));
        assertThatThrownBy(() -> Agent.start(config(token)))
                .isInstanceOf(AgentStartException.class)
                .hasMessageContaining("join_token");
    }

    @Test
    void rotatedSvidReachesAnOpenStreamBeforeTheOldOneExpires() throws Exception {
        server.register("spiffe://example.org/short-lived", 6, "unix:uid:0");
        agent = Agent.start(config(server.joinToken()));
        BlockingQueue<X509Context> updates = new LinkedBlockingQueue<>();
        try (WorkloadApiClient c = WorkloadApiClient.connect("unix://" + socket);
                Closeable watch =
                        c.watchX509Context(
                                new WorkloadApiClient.Watcher<>() {
                                    @Override
                                    public void onUpdate(X509Context u) {
                                        updates.add(u);
                                    }

                                    @Override
                                    public void onError(WorkloadApiException e) {}
                                })) {
            X509Context first = updates.poll(10, TimeUnit.SECONDS);
            assertThat(first).isNotNull();
            X509Context second = updates.poll(10, TimeUnit.SECONDS);
            Instant receivedAt = Instant.now();
            assertThat(second).as("a rotated SVID on the open stream").isNotNull();
            assertThat(second.defaultSvid().leaf().getSerialNumber())
                    .isNotEqualTo(first.defaultSvid().leaf().getSerialNumber());
            assertThat(receivedAt).isBefore(first.defaultSvid().leaf().getNotAfter().toInstant());
        }
    }

    @Test
    void cachedSvidsAreServedWhileTheServerIsDownAndSyncRecoversAfterRestart() throws Exception {
        server.register("spiffe://example.org/root-workload", 0, "unix:uid:0");
        agent = Agent.start(config(server.joinToken()));
        X509Context before = fetch();

        server.stop();
        // several failed syncs, the cached SVID served throughout
        await().during(Duration.ofSeconds(1))
                .atMost(Duration.ofSeconds(5))
                .until(
                        () ->
                                fetch().defaultSvid()
                                        .leaf()
                                        .getSerialNumber()
                                        .equals(before.defaultSvid().leaf().getSerialNumber()));

        server.restart();
        server.register("spiffe://example.org/after-restart", 0, "unix:uid:0");
        await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(100))
                .untilAsserted(
                        () ->
                                assertThat(
                                                fetch().svids().stream()
                                                        .map(s -> s.spiffeId().toString())
                                                        .toList())
                                        .containsExactlyInAnyOrder(
                                                "spiffe://example.org/root-workload",
                                                "spiffe://example.org/after-restart"));
    }

    @Test
    void writtenFilesVerifyWithOpensslAndKeyIsPrivate() throws Exception {
        server.register("spiffe://example.org/root-workload", 0, "unix:uid:0");
        agent = Agent.start(config(server.joinToken()));
        Path out = server.dir.resolve("out");
        X509Context ctx = fetch();
        X509ContextFiles.write(ctx, out);

        assertThat(Files.readString(out.resolve("svid.0.key")))
                .startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(
                        PosixFilePermissions.toString(
                                Files.getPosixFilePermissions(out.resolve("svid.0.key"))))
                .isEqualTo("rw-------");
        List<String> cmd =
                new java.util.ArrayList<>(
                        List.of(
                                "openssl",
                                "verify",
                                "-CAfile",
                                out.resolve("bundle.0.pem").toString()));
        if (ctx.defaultSvid().intermediates().size() > 0) {
            Path inter = out.resolve("intermediates.pem");
            Files.writeString(
                    inter, X509ContextFiles.certificatesPem(ctx.defaultSvid().intermediates()));
            cmd.addAll(List.of("-untrusted", inter.toString()));
        }
        // svid.0.pem holds the leaf first; openssl verifies the first certificate of the file.
        cmd.add(out.resolve("svid.0.pem").toString());
        ForeignUid.Result r = ForeignUid.run(cmd);
        assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
        assertThat(r.stdout()).contains(": OK");

        ForeignUid.Result keyPub =
                ForeignUid.run(
                        List.of(
                                "openssl",
                                "pkey",
                                "-in",
                                out.resolve("svid.0.key").toString(),
                                "-pubout"));
        ForeignUid.Result certPub =
                ForeignUid.run(
                        List.of(
                                "openssl",
                                "x509",
                                "-in",
                                out.resolve("svid.0.pem").toString(),
                                "-noout",
                                "-pubkey"));
        assertThat(keyPub.stdout()).isNotEmpty().isEqualTo(certPub.stdout());
    }

    @Test
    void jwtSvidIsIssuedAndValidatedByTheAgent() throws Exception {
        server.register("spiffe://example.org/root-workload", 0, "unix:uid:0");
        agent = Agent.start(config(server.joinToken()));
        try (WorkloadApiClient c = WorkloadApiClient.connect("unix://" + socket)) {
            List<WorkloadApiClient.JwtSvidToken> tokens =
                    c.fetchJwtSvids(Duration.ofSeconds(10), null, "my-audience");
            assertThat(tokens).hasSize(1);
            WorkloadApiClient.ValidatedJwtSvid v =
                    c.validateJwtSvid(tokens.get(0).token(), "my-audience", Duration.ofSeconds(10));
            assertThat(v.spiffeId().toString()).isEqualTo("spiffe://example.org/root-workload");
            assertThat(v.claims()).containsKey("exp");
            assertThatThrownBy(
                            () ->
                                    c.validateJwtSvid(
                                            tokens.get(0).token(),
                                            "other-audience",
                                            Duration.ofSeconds(10)))
                    .isInstanceOfSatisfying(
                            WorkloadApiException.class,
                            e -> {
                                assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                                assertThat(e.getMessage()).contains("audience");
                            });
            assertThatThrownBy(
                            () ->
                                    c.validateJwtSvid(
                                            "not.a.jwt", "my-audience", Duration.ofSeconds(10)))
                    .isInstanceOfSatisfying(
                            WorkloadApiException.class,
                            e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT));
        }
    }

    @Test
    void hostileJwtSvidsSignedByTheServersRealKeyAreRefusedByValidateJwtSvid() throws Exception {
        server.register("spiffe://example.org/root-workload", 0, "unix:uid:0");
        agent = Agent.start(config(server.joinToken()));
        CaManager.JwtSigningKey key = server.server().caManager().currentJwtKey();
        HostileJwtSvids table =
                new HostileJwtSvids(
                        SpiffeId.parse("spiffe://example.org/root-workload"),
                        "my-audience",
                        key.kid(),
                        key.keyPair(),
                        "foreign-kid",
                        HeldCertificate.ecKeyPair("secp256r1").getPrivate(),
                        Instant.now());
        try (WorkloadApiClient c = WorkloadApiClient.connect("unix://" + socket)) {
            assertThat(
                            c.validateJwtSvid(table.valid(), "my-audience", Duration.ofSeconds(10))
                                    .spiffeId()
                                    .toString())
                    .as("the control token, crafted the same way")
                    .isEqualTo("spiffe://example.org/root-workload");
            SoftAssertions soft = new SoftAssertions();
            for (HostileJwtSvids.Hostile h : table.all()) {
                soft.assertThatThrownBy(
                                () ->
                                        c.validateJwtSvid(
                                                h.token(), "my-audience", Duration.ofSeconds(10)))
                        .as(h.name())
                        .isInstanceOfSatisfying(
                                WorkloadApiException.class,
                                e -> {
                                    assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                                    assertThat(e.getMessage()).contains(h.refusal());
                                });
            }
            soft.assertAll();
        }
    }

    @Test
    void insecureBootstrapAttestsWithoutTrustBundleThenKeepsTheServersBundle() throws Exception {
        server.register("spiffe://example.org/root-workload", 0, "unix:uid:0");
        AgentConfig insecure =
                AgentConfig.of(
                                ServerFixture.TD,
                                agentDir,
                                "127.0.0.1",
                                server.port(),
                                socket,
                                null,
                                server.joinToken())
                        .withSyncInterval(Duration.ofMillis(200));
        assertThat(insecure.insecureBootstrap()).isTrue();
        agent = Agent.start(insecure);
        assertThat(fetch().defaultSvid().spiffeId().toString())
                .isEqualTo("spiffe://example.org/root-workload");
        assertThat(
                        io.mithril.pki.Certificates.parseDer(
                                Files.readAllBytes(agentDir.resolve(AgentIdentity.BUNDLE_FILE))))
                .isEqualTo(server.server().bundle().x509Authorities());
    }

    @Test
    void secondAgentOnALiveSocketRefusesBeforeSpendingItsJoinToken() throws Exception {
        server.register("spiffe://example.org/root-workload", 0, "unix:uid:0");
        agent = Agent.start(config(server.joinToken()));
        String token = server.joinToken();
        Path otherData = server.dir.resolve("agent2");
        AgentConfig second =
                AgentConfig.of(
                        ServerFixture.TD,
                        otherData,
                        "127.0.0.1",
                        server.port(),
                        socket,
                        server.bundlePem(),
                        token);
        assertThatThrownBy(() -> Agent.start(second))
                .isInstanceOf(AgentStartException.class)
                .hasMessageContaining("another process is already serving on " + socket);
        // The token was not used: the same agent starts fine on another socket.
        try (Agent other =
                Agent.start(second.withSocketPath(server.dir.resolve("sock/other.sock")))) {
            assertThat(other.agentId().toString()).endsWith(token);
        }
    }

    @Test
    void serverNotChainingToTheTrustBundleIsRefusedAtAttestation() throws Exception {
        io.mithril.agent.testing.TestCa stranger =
                new io.mithril.agent.testing.TestCa("example.org");
        Path wrongBundle = server.dir.resolve("wrong-bundle.pem");
        Files.writeString(wrongBundle, X509ContextFiles.certificatesPem(List.of(stranger.root)));
        String token = server.joinToken();
        AgentConfig cfg =
                AgentConfig.of(
                        ServerFixture.TD,
                        agentDir,
                        "127.0.0.1",
                        server.port(),
                        socket,
                        wrongBundle,
                        token);
        assertThatThrownBy(() -> Agent.start(cfg))
                .isInstanceOf(AgentStartException.class)
                .hasMessageContaining("node attestation (join_token)")
                .hasMessageContaining("does not chain to the trust bundle");
        assertThat(agentDir.resolve(AgentIdentity.SVID_FILE)).doesNotExist();
        // The token was not presented to an unverified server, so it still works with the right
        // bundle.
        agent = Agent.start(config(token));
        assertThat(agent.agentId().toString()).endsWith(token);
    }
}
