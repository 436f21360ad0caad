package io.mithril.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.mithril.api.selector.Selector;
import io.mithril.api.spire.bundle.BundleGrpc;
import io.mithril.api.spire.bundle.GetBundleRequest;
import io.mithril.api.spire.bundle.PublishJWTAuthorityRequest;
import io.mithril.api.spire.svid.NewDownstreamX509CARequest;
import io.mithril.api.spire.svid.NewDownstreamX509CAResponse;
import io.mithril.api.spire.svid.SVIDGrpc;
import io.mithril.api.spire.types.JWTKey;
import io.mithril.pki.Certificates;
import io.mithril.pki.Csr;
import io.mithril.pki.KeyType;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.server.IdentityServer;
import io.mithril.server.ServerStartException;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.datastore.SqlDataStore;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.testing.ServerFixture;
import io.mithril.spiffe.id.SpiffeId;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nested identity servers over real gRPC and TLS: a root server, and downstream servers whose
 * UpstreamAuthority "spire" takes an SVID from a Workload API (standing in for the root's agent,
 * with an SVID signed by the root's real CA) and calls the root.
 */
class NestedServersTest {

    static final SpiffeId ROOT_NODE = SpiffeId.parse("spiffe://example.org/root/node");
    static final SpiffeId DOWNSTREAM_A = SpiffeId.parse("spiffe://example.org/cluster1/server");
    static final SpiffeId DOWNSTREAM_B = SpiffeId.parse("spiffe://example.org/cluster2/server");
    static final SpiffeId NOT_DOWNSTREAM = SpiffeId.parse("spiffe://example.org/ns/default/sa/web");

    @TempDir Path dir;
    private final Clock clock = Clock.systemUTC();
    private IdentityServer root;
    private final List<AutoCloseable> closing = new ArrayList<>();

    @BeforeEach
    void startRoot() throws Exception {
        root = IdentityServer.start(ServerFixture.config(dir.resolve("root"), clock).build());
        root.createEntry(entry(DOWNSTREAM_A, true));
        root.createEntry(entry(DOWNSTREAM_B, true));
        root.createEntry(entry(NOT_DOWNSTREAM, false));
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
        root.close();
    }

    static RegistrationEntry entry(SpiffeId id, boolean downstream) {
        return new RegistrationEntry(
                "",
                id,
                ROOT_NODE,
                List.of(Selector.parse("unix:uid:1000")),
                0,
                0,
                List.of(),
                List.of(),
                false,
                downstream,
                "",
                0,
                0,
                0);
    }

    /** A Workload API giving {@code id}'s SVID, signed by the root. */
    Path workloadApi(String name, SpiffeId id) throws Exception {
        Path socket = dir.resolve(name + ".sock");
        closing.add(new FakeWorkloadApi(socket, root, id));
        return socket;
    }

    ServerConfig.Builder downstreamConfig(String name, int port, Path socket) {
        return ServerFixture.config(dir.resolve(name), clock)
                .spireUpstream(new ServerConfig.SpireUpstreamConfig("127.0.0.1", port, socket));
    }

    IdentityServer downstream(String name, SpiffeId id) throws Exception {
        IdentityServer s =
                IdentityServer.start(
                        downstreamConfig(
                                        name,
                                        root.agentApiAddress().getPort(),
                                        workloadApi(name, id))
                                .build());
        closing.add(s::close);
        return s;
    }

    @Test
    void theRootSignsEachDownstreamIntermediateAndTheBundlesHoldTheRootsCa() throws Exception {
        IdentityServer a = downstream("a", DOWNSTREAM_A);
        IdentityServer b = downstream("b", DOWNSTREAM_B);
        X509Certificate rootCa = root.bundle().x509Authorities().get(0);

        for (IdentityServer s : List.of(a, b)) {
            List<X509Certificate> chain = s.caManager().currentX509Ca().chain();
            X509Certificate ca = chain.get(0);
            ca.verify(rootCa.getPublicKey());
            assertThat(Certificates.isCa(ca)).isTrue();
            assertThat(Certificates.uriSans(ca)).containsExactly("spiffe://example.org");
            // SPIRE's downstream subject: the parent's, with OU=DOWNSTREAM-<parent chain length>.
            assertThat(ca.getSubjectX500Principal().getName()).contains("OU=DOWNSTREAM-1");
            assertThat(ca.getNotAfter()).isBeforeOrEqualTo(rootCa.getNotAfter());
            assertThat(s.bundle().x509Authorities()).containsExactly(rootCa);
            // An SVID of the downstream server validates under the root alone.
            KeyPair k = KeyType.EC_P256.generate();
            List<X509Certificate> svid =
                    s.caManager()
                            .signX509Svid(
                                    k.getPublic(),
                                    SpiffeId.parse("spiffe://example.org/w"),
                                    List.of(),
                                    Duration.ofMinutes(5));
            assertThat(svid).hasSize(2);
            svid.get(0).verify(ca.getPublicKey());
        }
        assertThat(a.caManager().currentX509Ca().certificate())
                .isNotEqualTo(b.caManager().currentX509Ca().certificate());
    }

    @Test
    void jwtKeysOfEveryDownstreamReachTheRootAndEveryOtherDownstream() throws Exception {
        IdentityServer a = downstream("a", DOWNSTREAM_A);
        IdentityServer b = downstream("b", DOWNSTREAM_B);
        String kidA = a.caManager().currentJwtKey().kid();
        String kidB = b.caManager().currentJwtKey().kid();
        assertThat(kids(root)).contains(kidA, kidB);
        // b published after a: the root's answer gave b a's key at once.
        assertThat(kids(b)).contains(kidA, kidB);
        // a learns b's key from the root's bundle (polled every 5 s, as SPIRE does).
        await().atMost(Duration.ofSeconds(20))
                .untilAsserted(() -> assertThat(kids(a)).contains(kidB));
    }

    @Test
    void upstreamBundleChangesReachTheDownstreamBundle() throws Exception {
        IdentityServer a = downstream("a", DOWNSTREAM_A);
        // A new key published at the root by another downstream (here: directly) shows up in a.
        var extra =
                new io.mithril.pki.upstream.UpstreamAuthority.JwtKey(
                        "extra-kid",
                        KeyType.EC_P256.generate().getPublic().getEncoded(),
                        clock.instant().plusSeconds(3600).getEpochSecond());
        root.caManager().publishDownstreamJwtKey(extra);
        await().atMost(Duration.ofSeconds(20))
                .untilAsserted(() -> assertThat(kids(a)).contains("extra-kid"));
    }

    @Test
    void aRestartedDownstreamKeepsItsCaAndStillFollowsTheRoot() throws Exception {
        Path socket = workloadApi("a", DOWNSTREAM_A);
        ServerConfig config =
                downstreamConfig("a", root.agentApiAddress().getPort(), socket)
                        .keyManager(ServerConfig.KeyManagerConfig.diskUnder(dir.resolve("a")))
                        .build();
        X509Certificate first;
        try (IdentityServer a = IdentityServer.start(config)) {
            first = a.caManager().currentX509Ca().certificate();
        }
        try (IdentityServer a = IdentityServer.start(config)) {
            assertThat(a.caManager().currentX509Ca().certificate()).isEqualTo(first);
            var extra =
                    new io.mithril.pki.upstream.UpstreamAuthority.JwtKey(
                            "after-restart",
                            KeyType.EC_P256.generate().getPublic().getEncoded(),
                            clock.instant().plusSeconds(3600).getEpochSecond());
            root.caManager().publishDownstreamJwtKey(extra);
            await().atMost(Duration.ofSeconds(20))
                    .untilAsserted(() -> assertThat(kids(a)).contains("after-restart"));
        }
    }

    static List<String> kids(IdentityServer s) {
        s.caManager().refreshBundle();
        return s.bundle().jwtAuthorities().stream().map(j -> j.keyId()).toList();
    }

    // ---- bad input ----

    @Test
    void aServerWhoseEntryIsNotDownstreamIsRefusedAndDoesNotStart() throws Exception {
        Path socket = workloadApi("evil", NOT_DOWNSTREAM);
        ServerConfig config =
                downstreamConfig("evil", root.agentApiAddress().getPort(), socket).build();
        assertThatThrownBy(() -> IdentityServer.start(config))
                .isInstanceOf(ServerStartException.class)
                .hasMessageContaining("UpstreamAuthority \"spire\"")
                .hasMessageContaining("refused NewDownstreamX509CA")
                .hasMessageContaining("PERMISSION_DENIED")
                .hasMessageContaining("is not a downstream workload");
        assertNoCa(config);
        // The root signed nothing and holds no key of it.
        assertThat(root.bundle().jwtAuthorities()).hasSize(1);
    }

    @Test
    void theRootsDownstreamRpcsRefuseCallersWithoutADownstreamEntry() throws Exception {
        // The attack, spoken directly: a workload SVID (no -downstream) asks for a CA.
        KeyPair k = KeyType.EC_P256.generate();
        List<X509Certificate> svid =
                root.caManager()
                        .signX509Svid(
                                k.getPublic(), NOT_DOWNSTREAM, List.of(), Duration.ofMinutes(5));
        KeyPair caKey = KeyType.EC_P256.generate();
        try (Closer c = new Closer(channel(k, svid))) {
            StatusRuntimeException e = askForCa(c.channel, Csr.create(caKey, null, List.of()));
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            StatusRuntimeException p =
                    org.junit.jupiter.api.Assertions.assertThrows(
                            StatusRuntimeException.class,
                            () ->
                                    BundleGrpc.newBlockingStub(c.channel)
                                            .publishJWTAuthority(
                                                    PublishJWTAuthorityRequest.newBuilder()
                                                            .setJwtAuthority(
                                                                    JWTKey.newBuilder()
                                                                            .setKeyId("evil")
                                                                            .setPublicKey(
                                                                                    ByteString
                                                                                            .copyFrom(
                                                                                                    caKey.getPublic()
                                                                                                            .getEncoded()))
                                                                            .setExpiresAt(
                                                                                    clock.instant()
                                                                                                    .getEpochSecond()
                                                                                            + 3600))
                                                            .build()));
            assertThat(p.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(kids(root)).doesNotContain("evil");
            // GetBundle is open to any caller, as SPIRE's.
            assertThat(
                            BundleGrpc.newBlockingStub(c.channel)
                                    .getBundle(GetBundleRequest.getDefaultInstance())
                                    .getX509AuthoritiesCount())
                    .isEqualTo(1);
        }
        // Without any client certificate.
        try (Closer c = new Closer(channel(null, null))) {
            StatusRuntimeException e = askForCa(c.channel, Csr.create(caKey, null, List.of()));
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        }
    }

    @Test
    void aDownstreamCallerWithAGarbageCsrGetsInvalidArgument() throws Exception {
        KeyPair k = KeyType.EC_P256.generate();
        List<X509Certificate> svid =
                root.caManager()
                        .signX509Svid(
                                k.getPublic(), DOWNSTREAM_A, List.of(), Duration.ofMinutes(5));
        try (Closer c = new Closer(channel(k, svid))) {
            StatusRuntimeException e =
                    askForCa(
                            c.channel,
                            "not a csr".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains("malformed CSR");
        }
    }

    @Test
    void anUnreachableRootStopsTheStartWithItsAddress() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        ServerConfig config =
                downstreamConfig("lonely", closedPort, workloadApi("lonely", DOWNSTREAM_A)).build();
        assertThatThrownBy(() -> IdentityServer.start(config))
                .isInstanceOf(ServerStartException.class)
                .hasMessageContaining("upstream server 127.0.0.1:" + closedPort + " unreachable");
        assertNoCa(config);
    }

    @Test
    void noSvidOnTheWorkloadApiStopsTheStartNamingTheSocket() throws Exception {
        Path missing = dir.resolve("no-agent.sock");
        ServerConfig config =
                downstreamConfig("nosvid", root.agentApiAddress().getPort(), missing).build();
        // A short wait: the default is 30 s.
        SpireUpstreamAuthority ua =
                new SpireUpstreamAuthority(
                        config.spireUpstream(),
                        config.trustDomain(),
                        clock,
                        Duration.ofSeconds(1),
                        Duration.ofSeconds(5));
        assertThatThrownBy(
                        () ->
                                ua.mintX509Ca(
                                        KeyType.EC_P256.generate(),
                                        config.trustDomain(),
                                        Duration.ofHours(1),
                                        null))
                .hasMessageContaining("no X509-SVID from the Workload API at " + missing)
                .hasMessageContaining("-downstream");
        ua.close();
    }

    /** What the misbehaving root of {@link #fakeRoot} answers. */
    enum Misbehaviour {
        CA_FOR_ANOTHER_KEY,
        CHAIN_NOT_TO_THE_ROOTS,
        REFUSES
    }

    /**
     * A root that presents a genuine {@code spiffe://example.org/spire/server} SVID (signed by the
     * real root's CA, so TLS succeeds) but answers NewDownstreamX509CA wrongly.
     */
    private int fakeRoot(Misbehaviour how) throws Exception {
        KeyPair serverKey = KeyType.EC_P256.generate();
        List<X509Certificate> serverSvid =
                root.caManager()
                        .signX509Svid(
                                serverKey.getPublic(),
                                SpiffeId.parse("spiffe://example.org/spire/server"),
                                List.of(),
                                Duration.ofHours(1));
        io.grpc.Server fake =
                NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                        .sslContext(
                                GrpcSslContexts.configure(
                                                SslContextBuilder.forServer(
                                                        serverKey.getPrivate(), serverSvid),
                                                SslProvider.JDK)
                                        .clientAuth(ClientAuth.OPTIONAL)
                                        .trustManager(InsecureTrustManagerFactory.INSTANCE)
                                        .build())
                        .addService(
                                new SVIDGrpc.SVIDImplBase() {
                                    @Override
                                    public void newDownstreamX509CA(
                                            NewDownstreamX509CARequest req,
                                            StreamObserver<NewDownstreamX509CAResponse> out) {
                                        if (how == Misbehaviour.REFUSES) {
                                            out.onError(
                                                    Status.INTERNAL
                                                            .withDescription("no CA for you")
                                                            .asRuntimeException());
                                            return;
                                        }
                                        List<X509Certificate> chain;
                                        if (how == Misbehaviour.CA_FOR_ANOTHER_KEY) {
                                            chain =
                                                    root.caManager()
                                                            .signDownstreamX509Ca(
                                                                    KeyType.EC_P256
                                                                            .generate()
                                                                            .getPublic(),
                                                                    Duration.ofHours(1));
                                        } else {
                                            // Our key, but signed by a CA outside the bundle.
                                            KeyPair other = KeyType.EC_P256.generate();
                                            X509Minter minter = new X509Minter(clock);
                                            X509Certificate otherRoot =
                                                    minter.selfSignedCa(
                                                            other,
                                                            ServerFixture.TD,
                                                            Duration.ofHours(2),
                                                            null);
                                            chain =
                                                    List.of(
                                                            minter.signCa(
                                                                    SigningAuthority.of(
                                                                            otherRoot,
                                                                            other.getPrivate()),
                                                                    Csr.parse(
                                                                                    req.getCsr()
                                                                                            .toByteArray())
                                                                            .publicKey(),
                                                                    ServerFixture.TD,
                                                                    Duration.ofHours(1),
                                                                    null));
                                        }
                                        NewDownstreamX509CAResponse.Builder b =
                                                NewDownstreamX509CAResponse.newBuilder();
                                        try {
                                            for (X509Certificate c : chain) {
                                                b.addCaCertChain(
                                                        ByteString.copyFrom(c.getEncoded()));
                                            }
                                            for (X509Certificate r :
                                                    root.bundle().x509Authorities()) {
                                                b.addX509Authorities(
                                                        ByteString.copyFrom(r.getEncoded()));
                                            }
                                        } catch (Exception e) {
                                            throw new IllegalStateException(e);
                                        }
                                        out.onNext(b.build());
                                        out.onCompleted();
                                    }
                                })
                        .build()
                        .start();
        closing.add(fake::shutdownNow);
        return fake.getPort();
    }

    @Test
    void aRootAnsweringWithACaForAnotherKeyIsNotUsed() throws Exception {
        assertMisbehaviourStopsTheStart(
                Misbehaviour.CA_FOR_ANOTHER_KEY,
                "a CA certificate for another key than this server's");
    }

    @Test
    void aRootAnsweringWithAChainOutsideItsRootsIsNotUsed() throws Exception {
        assertMisbehaviourStopsTheStart(
                Misbehaviour.CHAIN_NOT_TO_THE_ROOTS,
                "a CA chain that does not validate to its roots");
    }

    @Test
    void aRootThatFailsTheCallStopsTheStartWithItsStatus() throws Exception {
        assertMisbehaviourStopsTheStart(
                Misbehaviour.REFUSES, "failed NewDownstreamX509CA: INTERNAL: no CA for you");
    }

    private void assertMisbehaviourStopsTheStart(Misbehaviour how, String message)
            throws Exception {
        int port = fakeRoot(how);
        ServerConfig config = downstreamConfig("m", port, workloadApi("m", DOWNSTREAM_A)).build();
        assertThatThrownBy(() -> IdentityServer.start(config))
                .isInstanceOf(ServerStartException.class)
                .hasMessageContaining("upstream server 127.0.0.1:" + port)
                .hasMessageContaining(message);
        assertNoCa(config);
    }

    /**
     * Nothing was minted: no CA in the journal (the CA key generated before the upstream call is
     * unused; the next start replaces it), no admin socket.
     */
    private void assertNoCa(ServerConfig config) throws Exception {
        assertThat(Files.exists(config.socketPath())).isFalse();
        String instance = Files.readString(config.dataDir().resolve("instance_id")).trim();
        try (SqlDataStore ds =
                SqlDataStore.openSqlite(config.dataDir().resolve("datastore.sqlite3"), clock)) {
            assertThat(ds.fetchCaJournal(instance)).isEmpty();
        }
    }

    /** NewDownstreamX509CA with this CSR, expected to be refused. */
    private static StatusRuntimeException askForCa(ManagedChannel channel, byte[] csr) {
        return org.junit.jupiter.api.Assertions.assertThrows(
                StatusRuntimeException.class,
                () ->
                        SVIDGrpc.newBlockingStub(channel)
                                .newDownstreamX509CA(
                                        NewDownstreamX509CARequest.newBuilder()
                                                .setCsr(ByteString.copyFrom(csr))
                                                .build()));
    }

    private ManagedChannel channel(KeyPair key, List<X509Certificate> chain) throws Exception {
        SslContextBuilder b =
                GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                        .trustManager(InsecureTrustManagerFactory.INSTANCE);
        if (key != null) {
            b.keyManager(key.getPrivate(), chain.toArray(new X509Certificate[0]));
        }
        return NettyChannelBuilder.forAddress(root.agentApiAddress())
                .sslContext(b.build())
                .overrideAuthority("example.org")
                .build();
    }

    private record Closer(ManagedChannel channel) implements AutoCloseable {
        @Override
        public void close() {
            channel.shutdownNow();
        }
    }
}
