package io.mithril.agent.endpoints.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.mithril.agent.attestor.workload.unix.UnixWorkloadAttestor;
import io.mithril.agent.cache.CachedSvid;
import io.mithril.agent.cache.RegistrationEntry;
import io.mithril.agent.cache.SvidCache;
import io.mithril.agent.testing.FetchIdentityMain;
import io.mithril.agent.testing.ForeignUid;
import io.mithril.agent.testing.TestCa;
import io.mithril.api.workload.SpiffeWorkloadAPIGrpc;
import io.mithril.api.workload.X509SVIDRequest;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.api.workload.client.WorkloadApiException;
import io.mithril.api.workload.client.X509Context;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import io.spiffe.workloadapi.DefaultX509Source;
import java.io.Closeable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class WorkloadApiServerTest {

    private final TestCa ca = new TestCa("example.org");
    private Path dir;
    private Path socket;
    private SvidCache cache;
    private WorkloadApiServer server;

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("mithril-wl-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        socket = dir.resolve("public/api.sock");
        cache = new SvidCache(ca.trustDomain, Clock.systemUTC());
        server =
                WorkloadApiServer.start(
                        socket,
                        cache,
                        List.of(new UnixWorkloadAttestor(false, 0)),
                        (entry, audience) -> {
                            throw Status.UNAVAILABLE.asException();
                        },
                        Clock.systemUTC());
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
        cache.close();
        Files.deleteIfExists(dir.resolve("public"));
        Files.deleteIfExists(dir);
    }

    private RegistrationEntry register(String id, String... selectors) {
        RegistrationEntry e = TestCa.entry(id, selectors);
        List<RegistrationEntry> all = new java.util.ArrayList<>(cache.entries().values());
        all.add(e);
        cache.update(ca.bundle(), Map.of(), all);
        cache.putSvids(List.of(ca.svid(e, Duration.ofMinutes(10))));
        return e;
    }

    private String address() {
        return "unix://" + socket;
    }

    @Test
    void callerMatchingAnEntryByUidGetsItsSvidKeyAndBundle() {
        register("spiffe://example.org/root-workload", "unix:uid:0");
        try (WorkloadApiClient client = WorkloadApiClient.connect(address())) {
            X509Context ctx = client.fetchX509Context(Duration.ofSeconds(10));
            assertThat(ctx.svids()).hasSize(1);
            assertThat(ctx.defaultSvid().spiffeId().toString())
                    .isEqualTo("spiffe://example.org/root-workload");
            assertThat(ctx.defaultSvid().chain()).hasSize(2);
            assertThat(ctx.defaultSvid().bundle()).containsExactly(ca.root);
            assertThat(ctx.defaultSvid().leaf().getPublicKey().getAlgorithm())
                    .isEqualTo(ctx.defaultSvid().privateKey().getAlgorithm());
        }
    }

    @Test
    void callerWithoutMatchingEntryIsPermissionDenied() {
        register("spiffe://example.org/someone-else", "unix:uid:4321");
        try (WorkloadApiClient client = WorkloadApiClient.connect(address())) {
            assertThatThrownBy(() -> client.fetchX509Context(Duration.ofSeconds(10)))
                    .isInstanceOfSatisfying(
                            WorkloadApiException.class,
                            e -> assertThat(e.code()).isEqualTo(Status.Code.PERMISSION_DENIED));
        }
    }

    @Test
    void agentThatHasNotSyncedAnswersUnavailable() {
        try (WorkloadApiClient client = WorkloadApiClient.connect(address())) {
            assertThatThrownBy(() -> client.fetchX509Context(Duration.ofSeconds(10)))
                    .isInstanceOfSatisfying(
                            WorkloadApiException.class,
                            e -> assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE));
        }
    }

    @Test
    void requestWithoutSecurityHeaderIsInvalidArgument() throws Exception {
        register("spiffe://example.org/root-workload", "unix:uid:0");
        MultiThreadIoEventLoopGroup group =
                new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        ManagedChannel ch =
                NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                        .eventLoopGroup(group)
                        .channelType(EpollDomainSocketChannel.class)
                        .usePlaintext()
                        .build();
        try {
            var it =
                    SpiffeWorkloadAPIGrpc.newBlockingStub(ch)
                            .withDeadlineAfter(10, TimeUnit.SECONDS)
                            .fetchX509SVID(X509SVIDRequest.getDefaultInstance());
            assertThatThrownBy(it::hasNext)
                    .isInstanceOfSatisfying(
                            StatusRuntimeException.class,
                            e -> {
                                assertThat(e.getStatus().getCode())
                                        .isEqualTo(Status.Code.INVALID_ARGUMENT);
                                assertThat(e.getStatus().getDescription())
                                        .contains("security header");
                            });
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    @Test
    void openStreamReceivesRotatedSvid() throws Exception {
        RegistrationEntry e = register("spiffe://example.org/root-workload", "unix:uid:0");
        BlockingQueue<X509Context> updates = new LinkedBlockingQueue<>();
        try (WorkloadApiClient client = WorkloadApiClient.connect(address());
                Closeable watch =
                        client.watchX509Context(
                                new WorkloadApiClient.Watcher<>() {
                                    @Override
                                    public void onUpdate(X509Context update) {
                                        updates.add(update);
                                    }

                                    @Override
                                    public void onError(WorkloadApiException error) {}
                                })) {
            X509Context first = updates.poll(10, TimeUnit.SECONDS);
            assertThat(first).isNotNull();
            CachedSvid rotated = ca.svid(e, Duration.ofMinutes(10));
            cache.putSvids(List.of(rotated));
            X509Context second = updates.poll(10, TimeUnit.SECONDS);
            assertThat(second).isNotNull();
            assertThat(second.defaultSvid().leaf().getSerialNumber())
                    .isEqualTo(rotated.leaf().getSerialNumber())
                    .isNotEqualTo(first.defaultSvid().leaf().getSerialNumber());
        }
    }

    @Test
    void javaSpiffeX509SourceGetsTheSvid() throws Exception {
        register("spiffe://example.org/root-workload", "unix:uid:0");
        try (DefaultX509Source source =
                DefaultX509Source.newSource(
                        DefaultX509Source.X509SourceOptions.builder()
                                .spiffeSocketPath("unix:" + socket)
                                .initTimeout(Duration.ofSeconds(10))
                                .build())) {
            assertThat(source.getX509Svid().getSpiffeId().toString())
                    .isEqualTo("spiffe://example.org/root-workload");
            assertThat(
                            source.getBundleForTrustDomain(
                                            io.spiffe.spiffeid.TrustDomain.parse("example.org"))
                                    .getX509Authorities())
                    .containsExactly(ca.root);
        }
    }

    @Test
    void workloadUnderAnotherUidGetsOnlyItsOwnIdentity() throws Exception {
        register("spiffe://example.org/root-workload", "unix:uid:0");
        register("spiffe://example.org/app-1234", "unix:uid:1234");
        ForeignUid.Result r =
                ForeignUid.runJava(1234, 1234, FetchIdentityMain.class.getName(), address());
        assertThat(ForeignUid.answers(r))
                .as(r.stderr())
                .containsExactly("ID spiffe://example.org/app-1234");
    }

    @Test
    void unregisteredUidIsPermissionDenied() throws Exception {
        register("spiffe://example.org/root-workload", "unix:uid:0");
        ForeignUid.Result r =
                ForeignUid.runJava(4321, 4321, FetchIdentityMain.class.getName(), address());
        assertThat(ForeignUid.answers(r))
                .as(r.stderr())
                .containsExactly("STATUS PERMISSION_DENIED");
    }

    @Test
    void secondAgentOnALiveSocketIsRefused() {
        assertThatThrownBy(() -> WorkloadApiServer.prepareSocketPath(socket))
                .hasMessageContaining("another process is already serving on " + socket);
    }

    @Test
    void staleSocketFileIsReplaced() throws Exception {
        server.close();
        // A socket file nobody listens on, as a crashed agent leaves behind.
        try (var ch =
                java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.bind(java.net.UnixDomainSocketAddress.of(socket));
        }
        assertThat(socket).exists();
        server =
                WorkloadApiServer.start(
                        socket,
                        cache,
                        List.of(new UnixWorkloadAttestor(false, 0)),
                        (entry, audience) -> {
                            throw Status.UNAVAILABLE.asException();
                        },
                        Clock.systemUTC());
        register("spiffe://example.org/root-workload", "unix:uid:0");
        try (WorkloadApiClient client = WorkloadApiClient.connect(address())) {
            assertThat(
                            client.fetchX509Context(Duration.ofSeconds(10))
                                    .defaultSvid()
                                    .spiffeId()
                                    .toString())
                    .isEqualTo("spiffe://example.org/root-workload");
        }
    }

    @Test
    void rotationReachesEveryOpenStreamEvenAfterOneClientLeftMidStream() throws Exception {
        RegistrationEntry e = register("spiffe://example.org/root-workload", "unix:uid:0");
        int n = 20;
        List<BlockingQueue<X509Context>> queues = new java.util.ArrayList<>();
        List<Closeable> watches = new java.util.ArrayList<>();
        try (WorkloadApiClient client = WorkloadApiClient.connect(address());
                WorkloadApiClient leaving = WorkloadApiClient.connect(address())) {
            Closeable gone =
                    leaving.watchX509Context(
                            new WorkloadApiClient.Watcher<>() {
                                @Override
                                public void onUpdate(X509Context update) {}

                                @Override
                                public void onError(WorkloadApiException error) {}
                            });
            for (int i = 0; i < n; i++) {
                BlockingQueue<X509Context> q = new LinkedBlockingQueue<>();
                queues.add(q);
                watches.add(
                        client.watchX509Context(
                                new WorkloadApiClient.Watcher<>() {
                                    @Override
                                    public void onUpdate(X509Context update) {
                                        q.add(update);
                                    }

                                    @Override
                                    public void onError(WorkloadApiException error) {}
                                }));
            }
            for (BlockingQueue<X509Context> q : queues) {
                assertThat(q.poll(10, TimeUnit.SECONDS)).isNotNull();
            }
            gone.close();
            leaving.close();
            CachedSvid rotated = ca.svid(e, Duration.ofMinutes(10));
            cache.putSvids(List.of(rotated));
            for (BlockingQueue<X509Context> q : queues) {
                X509Context u = q.poll(10, TimeUnit.SECONDS);
                assertThat(u).isNotNull();
                assertThat(u.defaultSvid().leaf().getSerialNumber())
                        .isEqualTo(rotated.leaf().getSerialNumber());
            }
            for (Closeable w : watches) {
                w.close();
            }
        }
    }

    @Test
    void x509BundlesStreamCarriesTheTrustDomainRoots() {
        register("spiffe://example.org/root-workload", "unix:uid:0");
        try (WorkloadApiClient client = WorkloadApiClient.connect(address())) {
            assertThat(client.fetchX509Bundles(Duration.ofSeconds(10)))
                    .containsExactly(Map.entry(ca.trustDomain, List.of(ca.root)));
        }
    }

    @Test
    void federatedBundlesGoOnlyToEntriesThatFederate() {
        TestCa other = new TestCa("domain.test");
        RegistrationEntry plain = TestCa.entry("spiffe://example.org/plain", "unix:uid:0");
        RegistrationEntry fed =
                new RegistrationEntry(
                        "fed-entry",
                        io.mithril.spiffe.id.SpiffeId.parse("spiffe://example.org/fed"),
                        plain.parentId(),
                        java.util.Set.of(io.mithril.api.selector.Selector.parse("unix:gid:0")),
                        0,
                        0,
                        List.of(),
                        java.util.Set.of(other.trustDomain),
                        "",
                        1);
        cache.update(ca.bundle(), Map.of(other.trustDomain, other.bundle()), List.of(plain));
        cache.putSvids(List.of(ca.svid(plain, Duration.ofMinutes(10))));
        try (WorkloadApiClient client = WorkloadApiClient.connect(address())) {
            assertThat(client.fetchX509Context(Duration.ofSeconds(10)).federatedBundles())
                    .isEmpty();
            cache.update(
                    ca.bundle(), Map.of(other.trustDomain, other.bundle()), List.of(plain, fed));
            cache.putSvids(List.of(ca.svid(fed, Duration.ofMinutes(10))));
            X509Context ctx = client.fetchX509Context(Duration.ofSeconds(10));
            assertThat(ctx.svids()).hasSize(2);
            assertThat(ctx.federatedBundles())
                    .containsExactly(Map.entry(other.trustDomain, List.of(other.root)));
        }
    }

    @Test
    void jwtSvidRequestWithoutAudienceIsInvalidArgument() {
        register("spiffe://example.org/root-workload", "unix:uid:0");
        try (WorkloadApiClient client = WorkloadApiClient.connect(address())) {
            assertThatThrownBy(() -> client.fetchJwtSvids(Duration.ofSeconds(10), null, ""))
                    .isInstanceOfSatisfying(
                            WorkloadApiException.class,
                            e -> assertThat(e.code()).isIn(Status.Code.INVALID_ARGUMENT));
        }
    }
}
