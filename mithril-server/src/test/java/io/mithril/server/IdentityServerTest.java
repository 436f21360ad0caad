package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mithril.api.admin.BatchCreateEntryRequest;
import io.mithril.api.admin.BatchDeleteEntryRequest;
import io.mithril.api.admin.BatchUpdateEntryRequest;
import io.mithril.api.agent.AttestAgentResponse;
import io.mithril.api.agent.BatchNewX509SVIDResponse;
import io.mithril.api.agent.FetchBundlesRequest;
import io.mithril.api.agent.GetAuthorizedEntriesRequest;
import io.mithril.api.agent.NewJWTSVIDRequest;
import io.mithril.api.agent.NewJWTSVIDResponse;
import io.mithril.api.agent.RenewAgentRequest;
import io.mithril.api.selector.Selector;
import io.mithril.api.types.Entry;
import io.mithril.pki.Certificates;
import io.mithril.pki.Csr;
import io.mithril.pki.KeyType;
import io.mithril.server.api.ProtoConverters;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.ca.TrustBundle;
import io.mithril.server.datastore.SqlDataStore;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.testing.MutableClock;
import io.mithril.server.testing.ServerFixture;
import io.mithril.server.testing.TestAgent;
import io.mithril.spiffe.bundle.JwtBundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.svid.JwtSvid;
import io.mithril.spiffe.svid.X509SvidValidator;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server end to end over its real agent API (mTLS on TCP), on SQLite in a temp dir. */
class IdentityServerTest {

    @TempDir Path dir;
    MutableClock clock = MutableClock.startingNow();
    IdentityServer server;
    TestAgent agent;

    static final SpiffeId NODE = SpiffeId.parse("spiffe://example.org/node/n1");
    static final SpiffeId WORKLOAD = SpiffeId.parse("spiffe://example.org/ns/default/sa/sleep");

    @BeforeEach
    void start() throws Exception {
        server = IdentityServer.start(ServerFixture.config(dir, clock).build());
        agent = ServerFixture.agent(server, clock);
    }

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private void verify(List<X509Certificate> chain) throws Exception {
        X509SvidValidator.verify(chain, server.bundle().x509Bundle(), clock);
    }

    @Test
    void joinTokenAttestationIssuesAgentSvidThatValidatesAgainstTheBundle() throws Exception {
        String token = server.generateJoinToken(null, null);
        AttestAgentResponse.Result r = agent.attestJoinToken(token);
        assertThat(r.getSvid().getSpiffeId())
                .isEqualTo("spiffe://example.org/spire/agent/join_token/" + token);
        assertThat(r.getReattestable()).isFalse();
        assertThat(r.getBundle().getX509AuthoritiesCount()).isEqualTo(1);
        verify(TestAgent.chain(r.getSvid()));
        assertThat(server.dataStore().fetchAttestedNode(agent.agentId())).isPresent();
    }

    @Test
    void joinTokenReplayIsRefused() throws Exception {
        String token = server.generateJoinToken(null, null);
        agent.attestJoinToken(token);
        assertThatThrownBy(() -> agent.attestJoinToken(token))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> {
                            assertThat(e.getStatus().getCode())
                                    .isEqualTo(Status.Code.PERMISSION_DENIED);
                            assertThat(e.getStatus().getDescription())
                                    .contains("already been used");
                        });
    }

    @Test
    void expiredJoinTokenIsRefused() throws Exception {
        String token = server.generateJoinToken(Duration.ofSeconds(60), null);
        clock.advance(Duration.ofSeconds(61));
        assertThatThrownBy(() -> agent.attestJoinToken(token))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getDescription()).contains("expired"));
    }

    @Test
    void unknownAttestorTypeIsRefused() {
        assertThatThrownBy(() -> agent.attest("aws_iid", new byte[] {1}, null))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e ->
                                assertThat(e.getStatus().getCode())
                                        .isEqualTo(Status.Code.INVALID_ARGUMENT));
    }

    @Test
    void callsWithoutAnAgentSvidAreDenied() throws Exception {
        assertThatThrownBy(
                        () ->
                                agent.anonymous()
                                        .getAuthorizedEntries(
                                                GetAuthorizedEntriesRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e ->
                                assertThat(e.getStatus().getCode())
                                        .isEqualTo(Status.Code.PERMISSION_DENIED));
    }

    @Test
    void workloadSvidIsNotAcceptedAsAgentIdentity() throws Exception {
        agent.attestJoinToken(server.generateJoinToken(null, null));
        KeyPair kp = KeyType.EC_P256.generate();
        List<X509Certificate> workload =
                server.caManager()
                        .signX509Svid(kp.getPublic(), WORKLOAD, List.of(), Duration.ofMinutes(5));
        assertThatThrownBy(
                        () ->
                                agent.stubWith(kp, workload)
                                        .fetchBundles(FetchBundlesRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getDescription()).contains("not an agent"));
    }

    @Test
    void authorizedEntriesFollowTheJoinTokenAliasTransitively() throws Exception {
        String token = server.generateJoinToken(null, NODE);
        RegistrationEntry w =
                server.createEntry(
                        RegistrationEntry.of(
                                WORKLOAD, NODE, List.of(Selector.parse("unix:uid:1000"))));
        RegistrationEntry nested =
                server.createEntry(
                        RegistrationEntry.of(
                                SpiffeId.parse("spiffe://example.org/nested"),
                                WORKLOAD,
                                List.of(Selector.parse("unix:uid:1001"))));
        server.createEntry(
                RegistrationEntry.of(
                        SpiffeId.parse("spiffe://example.org/other"),
                        SpiffeId.parse("spiffe://example.org/node/other"),
                        List.of(Selector.parse("unix:uid:1"))));
        agent.attestJoinToken(token);
        List<Entry> entries =
                agent.stub()
                        .getAuthorizedEntries(GetAuthorizedEntriesRequest.getDefaultInstance())
                        .getEntriesList();
        assertThat(entries)
                .extracting(Entry::getSpiffeId)
                .containsExactlyInAnyOrder(
                        NODE.toString(), WORKLOAD.toString(), "spiffe://example.org/nested");
        assertThat(entries).extracting(Entry::getId).contains(w.id(), nested.id());
        // and signing follows the same chain: nested <- workload <- alias <- agent
        assertThat(
                        agent.sign(nested.id(), nested.spiffeId(), KeyType.EC_P256.generate())
                                .getStatus()
                                .getCode())
                .isZero();
    }

    @Test
    void nodeAliasParentedByServerMatchesAgentSelectors() throws Exception {
        // a node alias as SPIRE writes it: parent = the server ID, selectors = node selectors
        Path ca = dir.resolve("pop");
        var pop = X509PopFixture.create(ca, clock);
        server.close();
        server =
                IdentityServer.start(
                        ServerFixture.config(dir, clock)
                                .x509pop(
                                        new io.mithril.server.config.ServerConfig.X509PopConfig(
                                                List.of(pop.caFile())))
                                .build());
        agent.close();
        agent = ServerFixture.agent(server, clock);
        server.createEntry(
                RegistrationEntry.of(
                        NODE,
                        server.serverId(),
                        List.of(Selector.parse("x509pop:subject:cn:node-1"))));
        server.createEntry(
                RegistrationEntry.of(WORKLOAD, NODE, List.of(Selector.parse("unix:uid:1000"))));
        agent.attestX509Pop(pop.chain(), pop.key().getPrivate());
        assertThat(
                        agent.stub()
                                .getAuthorizedEntries(
                                        GetAuthorizedEntriesRequest.getDefaultInstance())
                                .getEntriesList())
                .extracting(Entry::getSpiffeId)
                .containsExactly(WORKLOAD.toString());
    }

    @Test
    void csrForAnAuthorisedEntryIsSignedWithTheEntrysIdAndTtl() throws Exception {
        String token = server.generateJoinToken(null, NODE);
        RegistrationEntry w =
                server.createEntry(
                        RegistrationEntry.of(
                                        WORKLOAD, NODE, List.of(Selector.parse("unix:uid:1000")))
                                .withX509SvidTtl(600)
                                .withDnsNames(List.of("sleep.default.svc")));
        agent.attestJoinToken(token);
        BatchNewX509SVIDResponse.Result r =
                agent.sign(w.id(), WORKLOAD, KeyType.EC_P256.generate());
        assertThat(r.getStatus().getCode()).isZero();
        List<X509Certificate> chain = TestAgent.chain(r.getSvid());
        verify(chain);
        X509Certificate leaf = chain.get(0);
        assertThat(Certificates.spiffeId(leaf)).contains(WORKLOAD);
        assertThat(Certificates.dnsSans(leaf)).containsExactly("sleep.default.svc");
        assertThat(
                        Duration.between(
                                leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant()))
                .isBetween(Duration.ofSeconds(600), Duration.ofSeconds(611));
    }

    @Test
    void expiredEntryIsNotAuthorised() throws Exception {
        String token = server.generateJoinToken(null, NODE);
        RegistrationEntry e =
                RegistrationEntry.of(WORKLOAD, NODE, List.of(Selector.parse("unix:uid:1000")));
        RegistrationEntry expiring =
                server.createEntry(
                        new RegistrationEntry(
                                "",
                                e.spiffeId(),
                                e.parentId(),
                                e.selectors(),
                                0,
                                0,
                                List.of(),
                                List.of(),
                                false,
                                false,
                                "",
                                0,
                                clock.instant().getEpochSecond() + 60,
                                0));
        agent.attestJoinToken(token);
        assertThat(
                        agent.stub()
                                .getAuthorizedEntries(
                                        GetAuthorizedEntriesRequest.getDefaultInstance())
                                .getEntriesList())
                .extracting(Entry::getId)
                .contains(expiring.id());
        clock.advance(Duration.ofSeconds(61));
        assertThat(
                        agent.stub()
                                .getAuthorizedEntries(
                                        GetAuthorizedEntriesRequest.getDefaultInstance())
                                .getEntriesList())
                .extracting(Entry::getId)
                .doesNotContain(expiring.id());
        assertThat(
                        agent.sign(expiring.id(), WORKLOAD, KeyType.EC_P256.generate())
                                .getStatus()
                                .getCode())
                .isEqualTo(Status.Code.PERMISSION_DENIED.value());
    }

    @Test
    void csrForAnEntryOfAnotherAgentIsRefused() throws Exception {
        RegistrationEntry foreign =
                server.createEntry(
                        RegistrationEntry.of(
                                WORKLOAD,
                                SpiffeId.parse(
                                        "spiffe://example.org/spire/agent/join_token/someone-else"),
                                List.of(Selector.parse("unix:uid:1000"))));
        agent.attestJoinToken(server.generateJoinToken(null, null));
        BatchNewX509SVIDResponse.Result r =
                agent.sign(foreign.id(), WORKLOAD, KeyType.EC_P256.generate());
        assertThat(r.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED.value());
        assertThat(r.getStatus().getMessage()).contains("not authorised");
        assertThat(r.hasSvid()).isFalse();
    }

    @Test
    void csrForAnotherSpiffeIdThanTheEntrysIsRefused() throws Exception {
        String token = server.generateJoinToken(null, NODE);
        RegistrationEntry w =
                server.createEntry(
                        RegistrationEntry.of(
                                WORKLOAD, NODE, List.of(Selector.parse("unix:uid:1000"))));
        agent.attestJoinToken(token);
        BatchNewX509SVIDResponse.Result r =
                agent.sign(
                        w.id(),
                        SpiffeId.parse("spiffe://example.org/admin"),
                        KeyType.EC_P256.generate());
        assertThat(r.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT.value());
        assertThat(r.getStatus().getMessage()).contains("does not match");
        assertThat(r.hasSvid()).isFalse();
    }

    @Test
    void evictedAgentIsDenied() throws Exception {
        agent.attestJoinToken(server.generateJoinToken(null, null));
        agent.stub().fetchBundles(FetchBundlesRequest.getDefaultInstance());
        server.dataStore().deleteAttestedNode(agent.agentId());
        assertThatThrownBy(
                        () -> agent.stub().fetchBundles(FetchBundlesRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getDescription()).contains("not attested"));
    }

    @Test
    void agentRenewsItsSvid() throws Exception {
        agent.attestJoinToken(server.generateJoinToken(null, null));
        KeyPair next = KeyType.EC_P256.generate();
        var r =
                agent.stub()
                        .renewAgent(
                                RenewAgentRequest.newBuilder()
                                        .setCsr(
                                                com.google.protobuf.ByteString.copyFrom(
                                                        Csr.create(next, null, List.of())))
                                        .build());
        List<X509Certificate> chain = TestAgent.chain(r.getSvid());
        assertThat(Certificates.spiffeId(chain.get(0))).contains(agent.agentId());
        assertThat(chain.get(0).getPublicKey()).isEqualTo(next.getPublic());
        assertThat(
                        server.dataStore()
                                .fetchAttestedNode(agent.agentId())
                                .orElseThrow()
                                .serialNumber())
                .isEqualTo(chain.get(0).getSerialNumber().toString());
    }

    @Test
    void jwtSvidIsSignedForAnAuthorisedEntryWithAKidInTheBundle() throws Exception {
        String token = server.generateJoinToken(null, NODE);
        RegistrationEntry w =
                server.createEntry(
                        RegistrationEntry.of(
                                WORKLOAD, NODE, List.of(Selector.parse("unix:uid:1000"))));
        agent.attestJoinToken(token);
        NewJWTSVIDResponse r =
                agent.stub()
                        .newJWTSVID(
                                NewJWTSVIDRequest.newBuilder()
                                        .setEntryId(w.id())
                                        .addAudience("bookinfo")
                                        .build());
        String[] parts = r.getToken().split("\\.");
        String header = new String(java.util.Base64.getUrlDecoder().decode(parts[0]));
        String claims = new String(java.util.Base64.getUrlDecoder().decode(parts[1]));
        assertThat(claims)
                .contains("\"sub\":\"" + WORKLOAD + "\"")
                .contains("\"aud\":\"bookinfo\"");
        String kid = header.replaceAll(".*\"kid\":\"([^\"]+)\".*", "$1");
        var key =
                server.bundle().jwtAuthorities().stream()
                        .filter(a -> a.keyId().equals(kid))
                        .findFirst()
                        .orElseThrow()
                        .publicKey();
        java.security.Signature s =
                java.security.Signature.getInstance("SHA256withECDSAinP1363Format");
        s.initVerify(key);
        s.update((parts[0] + "." + parts[1]).getBytes());
        assertThat(s.verify(java.util.Base64.getUrlDecoder().decode(parts[2]))).isTrue();
        assertThat(r.getExpiresAt() - r.getIssuedAt()).isEqualTo(300);
    }

    @Test
    void jwtSvidCarriesTheConfiguredIssuerAndTheServersClockAndValidatesWithTheBundle()
            throws Exception {
        server.close();
        server =
                IdentityServer.start(
                        ServerFixture.config(dir, clock)
                                .jwtIssuer("https://oidc.example.org")
                                .build());
        agent.close();
        agent = ServerFixture.agent(server, clock);
        String token = server.generateJoinToken(null, NODE);
        RegistrationEntry w =
                server.createEntry(
                        RegistrationEntry.of(
                                WORKLOAD, NODE, List.of(Selector.parse("unix:uid:1000"))));
        agent.attestJoinToken(token);
        NewJWTSVIDResponse r =
                agent.stub()
                        .newJWTSVID(
                                NewJWTSVIDRequest.newBuilder()
                                        .setEntryId(w.id())
                                        .addAudience("bookinfo")
                                        .addAudience("reviews")
                                        .build());
        JwtBundle bundle =
                JwtBundle.of(
                        server.bundle().trustDomain(),
                        server.bundle().jwtAuthorities().stream()
                                .collect(
                                        java.util.stream.Collectors.toMap(
                                                TrustBundle.JwtAuthority::keyId,
                                                TrustBundle.JwtAuthority::publicKey)));
        JwtSvid svid = JwtSvid.parseAndValidate(r.getToken(), bundle, "reviews", clock);
        assertThat(svid.spiffeId()).isEqualTo(WORKLOAD);
        assertThat(svid.audience()).containsExactly("bookinfo", "reviews");
        assertThat(svid.claims()).containsEntry("iss", "https://oidc.example.org");
        assertThat(svid.issuedAt())
                .contains(clock.instant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
        assertThat(svid.keyId()).isEqualTo(server.caManager().currentJwtKey().kid());
    }

    @Test
    void restartKeepsEntriesAgentsTokensAndTheCa() throws Exception {
        String token = server.generateJoinToken(null, NODE);
        String unused = server.generateJoinToken(null, null);
        RegistrationEntry w =
                server.createEntry(
                        RegistrationEntry.of(
                                WORKLOAD, NODE, List.of(Selector.parse("unix:uid:1000"))));
        agent.attestJoinToken(token);
        List<X509Certificate> before =
                TestAgent.chain(agent.sign(w.id(), WORKLOAD, KeyType.EC_P256.generate()).getSvid());
        X509Certificate caBefore = server.caManager().currentX509Ca().certificate();
        KeyPair agentKey = agent.agentKey();
        List<X509Certificate> agentSvid = agent.agentSvid();
        agent.close();
        server.close();

        server = IdentityServer.start(ServerFixture.config(dir, clock).build());
        agent = ServerFixture.agent(server, clock);
        assertThat(server.caManager().currentX509Ca().certificate()).isEqualTo(caBefore);
        verify(before); // an SVID issued before the restart validates against the bundle served
        // after it
        assertThat(server.dataStore().fetchEntry(w.id())).isPresent();
        // the agent keeps its identity across the restart
        assertThat(
                        agent.stubWith(agentKey, agentSvid)
                                .getAuthorizedEntries(
                                        GetAuthorizedEntriesRequest.getDefaultInstance())
                                .getEntriesList())
                .extracting(Entry::getId)
                .contains(w.id());
        assertThat(server.dataStore().consumeJoinToken(unused)).isPresent();
    }

    @Test
    void caRotationPreparesPublishesThenActivatesAndEverySvidStaysValid() throws Exception {
        server.close();
        server =
                IdentityServer.start(
                        ServerFixture.config(dir.resolve("rot"), clock)
                                .caTtl(Duration.ofHours(1))
                                .defaultX509SvidTtl(Duration.ofMinutes(30))
                                .build());
        agent.close();
        agent = ServerFixture.agent(server, clock);
        String token = server.generateJoinToken(Duration.ofHours(10), NODE);
        RegistrationEntry w =
                server.createEntry(
                        RegistrationEntry.of(
                                WORKLOAD, NODE, List.of(Selector.parse("unix:uid:1000"))));
        agent.attestJoinToken(token);
        X509Certificate first = server.caManager().currentX509Ca().certificate();
        List<X509Certificate> svid1 =
                TestAgent.chain(agent.sign(w.id(), WORKLOAD, KeyType.EC_P256.generate()).getSvid());
        assertThat(server.bundle().x509Authorities()).hasSize(1);

        clock.advance(Duration.ofMinutes(25)); // remaining ~35m > 30m: nothing yet
        server.caManager().rotate();
        assertThat(server.caManager().nextX509Ca()).isEmpty();
        verify(svid1);

        clock.advance(Duration.ofMinutes(6)); // remaining ~29m <= life/2: prepare
        server.caManager().rotate();
        X509Certificate prepared = server.caManager().nextX509Ca().orElseThrow().certificate();
        assertThat(server.caManager().currentX509Ca().certificate()).isEqualTo(first);
        assertThat(server.bundle().x509Authorities())
                .hasSize(2)
                .contains(prepared); // in the bundle before it signs anything
        List<X509Certificate> svid2 =
                TestAgent.chain(agent.sign(w.id(), WORKLOAD, KeyType.EC_P256.generate()).getSvid());
        assertThat(svid2.get(0).getIssuerX500Principal())
                .isEqualTo(first.getSubjectX500Principal());
        verify(svid2);

        clock.advance(Duration.ofMinutes(20)); // remaining ~9m <= life/6: activate
        server.caManager().rotate();
        assertThat(server.caManager().currentX509Ca().certificate()).isEqualTo(prepared);
        List<X509Certificate> svid3 =
                TestAgent.chain(agent.sign(w.id(), WORKLOAD, KeyType.EC_P256.generate()).getSvid());
        assertThat(Certificates.isSignedBy(svid3.get(0), prepared.getPublicKey())).isTrue();
        verify(svid2); // signed by the old CA, still valid: its root stays in the bundle
        verify(svid3);
        // the agent API keeps serving (server SVID re-minted from the new CA)
        assertThat(agent.anonymous().getClass()).isNotNull();
        assertThat(
                        agent.stub()
                                .fetchBundles(FetchBundlesRequest.getDefaultInstance())
                                .getBundle()
                                .getX509AuthoritiesCount())
                .isEqualTo(2);
        // the JWT key rotated too and both kids are published
        assertThat(server.bundle().jwtAuthorities()).hasSize(2);
    }

    @Test
    void agentApiAndAdminSocketServeHealth() throws Exception {
        try (var admin =
                io.mithril.server.api.admin.AdminClient.connect(server.adminSocketPath())) {
            assertThat(admin.health())
                    .isEqualTo(io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
        }
        assertThat(
                        java.nio.file.Files.getPosixFilePermissions(
                                server.adminSocketPath().getParent()))
                .containsExactlyInAnyOrder(
                        java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                        java.nio.file.attribute.PosixFilePermission.OWNER_WRITE,
                        java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE);
    }

    private List<String> authorisedSpiffeIds() throws Exception {
        return agent
                .stub()
                .getAuthorizedEntries(GetAuthorizedEntriesRequest.getDefaultInstance())
                .getEntriesList()
                .stream()
                .map(Entry::getSpiffeId)
                .toList();
    }

    @Test
    void adminApiCreateUpdateAndDeleteShowOnTheAgentsNextCall() throws Exception {
        agent.attestJoinToken(server.generateJoinToken(null, NODE));
        assertThat(authorisedSpiffeIds()).containsExactly(NODE.toString());
        try (AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
            Entry created =
                    admin.admin()
                            .batchCreateEntry(
                                    BatchCreateEntryRequest.newBuilder()
                                            .addEntries(
                                                    ProtoConverters.toProto(
                                                            RegistrationEntry.of(
                                                                    WORKLOAD,
                                                                    NODE,
                                                                    List.of(
                                                                            Selector.parse(
                                                                                    "unix:uid:1000")))))
                                            .build())
                            .getResults(0)
                            .getEntry();
            assertThat(authorisedSpiffeIds()).containsExactly(NODE.toString(), WORKLOAD.toString());
            admin.admin()
                    .batchUpdateEntry(
                            BatchUpdateEntryRequest.newBuilder()
                                    .addEntries(
                                            created.toBuilder()
                                                    .setParentId(
                                                            "spiffe://example.org/node/elsewhere"))
                                    .build());
            assertThat(authorisedSpiffeIds()).containsExactly(NODE.toString());
            admin.admin()
                    .batchUpdateEntry(
                            BatchUpdateEntryRequest.newBuilder()
                                    .addEntries(
                                            created.toBuilder()
                                                    .setParentId(NODE.toString())
                                                    .setRevisionNumber(1))
                                    .build());
            assertThat(authorisedSpiffeIds()).containsExactly(NODE.toString(), WORKLOAD.toString());
            admin.admin()
                    .batchDeleteEntry(
                            BatchDeleteEntryRequest.newBuilder().addIds(created.getId()).build());
            assertThat(authorisedSpiffeIds()).containsExactly(NODE.toString());
        }
    }

    @Test
    void entryWrittenByAnotherProcessOnTheSameSqliteFileShowsWithinTheRefreshInterval()
            throws Exception {
        agent.attestJoinToken(server.generateJoinToken(null, NODE));
        assertThat(authorisedSpiffeIds()).containsExactly(NODE.toString());
        try (SqlDataStore other =
                SqlDataStore.openSqlite(
                        dir.resolve("datastore.sqlite3"), java.time.Clock.systemUTC())) {
            other.createEntry(
                    RegistrationEntry.of(WORKLOAD, NODE, List.of(Selector.parse("unix:uid:1000"))));
        }
        // The bound is the cache's refresh interval (1 s); poll for 20 s so that a loaded machine
        // cannot fail the test.
        long deadline = System.nanoTime() + 20_000_000_000L;
        List<String> seen = authorisedSpiffeIds();
        while (!seen.contains(WORKLOAD.toString()) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            seen = authorisedSpiffeIds();
        }
        assertThat(seen).containsExactly(NODE.toString(), WORKLOAD.toString());
    }
}
