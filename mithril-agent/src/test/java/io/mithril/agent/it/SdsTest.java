package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.pki.Pem;
import io.mithril.server.testing.ServerFixture;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Envoy's SDS v3 on the agent socket, called with Envoy's own generated API (java-control-plane).
 */
class SdsTest {

    static final String SECRET_TYPE =
            "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
    static final String WORKLOAD = "spiffe://example.org/ns/default/sa/productpage";

    private ServerFixture server;
    private Agent agent;
    private EventLoopGroup group;
    private ManagedChannel channel;

    @BeforeEach
    void setUp() throws Exception {
        server = new ServerFixture();
        Path sockDir = Files.createDirectories(server.dir.resolve("sock"));
        Files.setPosixFilePermissions(server.dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        // a short TTL, so that the stream test sees a rotation
        server.register(
                WORKLOAD, 10, "unix:uid:" + new com.sun.security.auth.module.UnixSystem().getUid());
        agent =
                Agent.start(
                        AgentConfig.of(
                                        ServerFixture.TD,
                                        server.dir.resolve("agent"),
                                        "127.0.0.1",
                                        server.port(),
                                        sockDir.resolve("api.sock"),
                                        server.bundlePem(),
                                        server.joinToken())
                                .withSyncInterval(Duration.ofMillis(200)));
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        // No workload.spiffe.io header: Envoy sends none.
        channel =
                NettyChannelBuilder.forAddress(
                                new DomainSocketAddress(agent.socketPath().toString()))
                        .eventLoopGroup(group)
                        .channelType(EpollDomainSocketChannel.class)
                        .overrideAuthority("localhost")
                        .usePlaintext()
                        .build();
    }

    @AfterEach
    void tearDown() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (agent != null) {
            agent.close();
        }
        server.close();
    }

    private static DiscoveryRequest request(String... names) {
        return DiscoveryRequest.newBuilder()
                .setTypeUrl(SECRET_TYPE)
                .setNode(
                        Node.newBuilder()
                                .setId(
                                        "sidecar~127.0.1.1~productpage.default~default.svc.cluster.local")
                                .setCluster("productpage"))
                .addAllResourceNames(List.of(names))
                .build();
    }

    private static List<Secret> secrets(DiscoveryResponse r) throws Exception {
        assertThat(r.getTypeUrl()).isEqualTo(SECRET_TYPE);
        List<Secret> out = new java.util.ArrayList<>();
        for (com.google.protobuf.Any a : r.getResourcesList()) {
            assertThat(a.getTypeUrl()).isEqualTo(SECRET_TYPE);
            out.add(a.unpack(Secret.class));
        }
        return out;
    }

    private static String run(Path dir, String... cmd) throws Exception {
        Process p =
                new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + out).isZero();
        return out;
    }

    @Test
    void fetchSecretsGivesTheDefaultSvidAndRootcaThatOpensslAccepts() throws Exception {
        List<Secret> got =
                secrets(
                        SecretDiscoveryServiceGrpc.newBlockingStub(channel)
                                .fetchSecrets(request("default", "ROOTCA")));
        assertThat(got).extracting(Secret::getName).containsExactly("default", "ROOTCA");

        String chainPem =
                got.get(0)
                        .getTlsCertificate()
                        .getCertificateChain()
                        .getInlineBytes()
                        .toStringUtf8();
        String keyPem =
                got.get(0).getTlsCertificate().getPrivateKey().getInlineBytes().toStringUtf8();
        String rootsPem =
                got.get(1).getValidationContext().getTrustedCa().getInlineBytes().toStringUtf8();
        List<X509Certificate> chain = Pem.readCertificates(chainPem);
        assertThat(chain.get(0).getSubjectAlternativeNames())
                .anySatisfy(n -> assertThat(n.get(1)).isEqualTo(WORKLOAD));
        assertThat(Pem.readCertificates(rootsPem))
                .isEqualTo(server.server().bundle().x509Authorities());

        // What Envoy would load, checked by openssl: the key matches the leaf, the chain verifies
        // to ROOTCA.
        Path dir = Files.createTempDirectory(server.dir, "sds");
        Files.writeString(dir.resolve("leaf.pem"), Pem.encodeCertificate(chain.get(0)));
        Files.writeString(
                dir.resolve("intermediates.pem"),
                Pem.encodeCertificates(chain.subList(1, chain.size())));
        Files.writeString(dir.resolve("key.pem"), keyPem);
        Files.writeString(dir.resolve("roots.pem"), rootsPem);
        assertThat(run(dir, "openssl", "pkey", "-in", "key.pem", "-pubout"))
                .isEqualTo(run(dir, "openssl", "x509", "-in", "leaf.pem", "-noout", "-pubkey"));
        String verifyArgs = chain.size() > 1 ? "-untrusted" : null;
        List<String> verify =
                new java.util.ArrayList<>(List.of("openssl", "verify", "-CAfile", "roots.pem"));
        if (verifyArgs != null) {
            verify.addAll(List.of("-untrusted", "intermediates.pem"));
        }
        verify.add("leaf.pem");
        assertThat(run(dir, verify.toArray(String[]::new))).contains("leaf.pem: OK");
    }

    @Test
    void fileRootSystemIsTheSystemsCaBundleFileAsIstioNamesIt() throws Exception {
        // What istiod names for TLS origination without caCertificates (and the control plane too).
        List<Secret> got =
                secrets(
                        SecretDiscoveryServiceGrpc.newBlockingStub(channel)
                                .fetchSecrets(request("file-root:system")));
        assertThat(got).extracting(Secret::getName).containsExactly("file-root:system");
        String file = got.get(0).getValidationContext().getTrustedCa().getFilename();
        assertThat(file).startsWith("/etc/");
        assertThat(Path.of(file)).isReadable();
        assertThat(Pem.readCertificates(Files.readString(Path.of(file)))).isNotEmpty();
    }

    @Test
    void allIsEnvoysSpiffeValidatorAndSpiffeIdsNameSvidsAndBundles() throws Exception {
        List<Secret> got =
                secrets(
                        SecretDiscoveryServiceGrpc.newBlockingStub(channel)
                                .fetchSecrets(
                                        request(
                                                "ALL",
                                                WORKLOAD,
                                                "spiffe://example.org",
                                                "spiffe://example.org/not-mine")));
        assertThat(got)
                .extracting(Secret::getName)
                .containsExactly("ALL", WORKLOAD, "spiffe://example.org");
        var validator = got.get(0).getValidationContext().getCustomValidatorConfig();
        assertThat(validator.getName()).isEqualTo("envoy.tls.cert_validator.spiffe");
        SPIFFECertValidatorConfig cfg =
                validator.getTypedConfig().unpack(SPIFFECertValidatorConfig.class);
        assertThat(cfg.getTrustDomainsList())
                .extracting(SPIFFECertValidatorConfig.TrustDomain::getName)
                .containsExactly("example.org");
        assertThat(
                        Pem.readCertificates(
                                cfg.getTrustDomains(0)
                                        .getTrustBundle()
                                        .getInlineBytes()
                                        .toStringUtf8()))
                .isEqualTo(server.server().bundle().x509Authorities());
        assertThat(got.get(1).hasTlsCertificate()).isTrue();
        assertThat(got.get(2).getValidationContext().hasTrustedCa()).isTrue();

        // No names: every SVID and every bundle, by ID.
        assertThat(
                        secrets(
                                SecretDiscoveryServiceGrpc.newBlockingStub(channel)
                                        .fetchSecrets(request())))
                .extracting(Secret::getName)
                .containsExactly(WORKLOAD, "spiffe://example.org");
    }

    @Test
    void anotherResourceTypeIsRefused() {
        DiscoveryRequest listeners =
                request("default").toBuilder()
                        .setTypeUrl("type.googleapis.com/envoy.config.listener.v3.Listener")
                        .build();
        assertThatThrownBy(
                        () ->
                                SecretDiscoveryServiceGrpc.newBlockingStub(channel)
                                        .fetchSecrets(listeners))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e ->
                                assertThat(e.getStatus().getCode())
                                        .isEqualTo(Status.Code.INVALID_ARGUMENT));
    }

    @Test
    void streamAnswersAcksQuietlyAndPushesTheRotatedSvid() throws Exception {
        BlockingQueue<Object> received = new LinkedBlockingQueue<>();
        StreamObserver<DiscoveryRequest> requests =
                SecretDiscoveryServiceGrpc.newStub(channel)
                        .streamSecrets(
                                new StreamObserver<>() {
                                    @Override
                                    public void onNext(DiscoveryResponse r) {
                                        received.add(r);
                                    }

                                    @Override
                                    public void onError(Throwable t) {
                                        received.add(t);
                                    }

                                    @Override
                                    public void onCompleted() {
                                        received.add("completed");
                                    }
                                });
        requests.onNext(request("default"));
        DiscoveryResponse first = (DiscoveryResponse) received.poll(20, TimeUnit.SECONDS);
        assertThat(first).isNotNull();
        X509Certificate leaf1 =
                Pem.readCertificates(
                                secrets(first)
                                        .get(0)
                                        .getTlsCertificate()
                                        .getCertificateChain()
                                        .getInlineBytes()
                                        .toStringUtf8())
                        .get(0);
        // ACK: same names, the nonce and version received
        requests.onNext(
                request("default").toBuilder()
                        .setVersionInfo(first.getVersionInfo())
                        .setResponseNonce(first.getNonce())
                        .build());
        // The 10 s SVID rotates at about half its life: the next push carries a new certificate.
        Object next = received.poll(30, TimeUnit.SECONDS);
        assertThat(next).as("a push after the rotation").isInstanceOf(DiscoveryResponse.class);
        DiscoveryResponse second = (DiscoveryResponse) next;
        X509Certificate leaf2 =
                Pem.readCertificates(
                                secrets(second)
                                        .get(0)
                                        .getTlsCertificate()
                                        .getCertificateChain()
                                        .getInlineBytes()
                                        .toStringUtf8())
                        .get(0);
        assertThat(leaf2.getSerialNumber()).isNotEqualTo(leaf1.getSerialNumber());
        assertThat(second.getVersionInfo()).isNotEqualTo(first.getVersionInfo());
        assertThat(second.getNonce()).isNotEqualTo(first.getNonce());
        // New names on the same stream get an answer at once.
        requests.onNext(
                request("default", "ROOTCA").toBuilder()
                        .setVersionInfo(second.getVersionInfo())
                        .setResponseNonce(second.getNonce())
                        .build());
        DiscoveryResponse third = (DiscoveryResponse) received.poll(10, TimeUnit.SECONDS);
        assertThat(secrets(third)).extracting(Secret::getName).containsExactly("default", "ROOTCA");
        requests.onCompleted();
        assertThat(received.poll(10, TimeUnit.SECONDS))
                .as("the agent closes its side when the proxy closes its own")
                .isEqualTo("completed");
    }
}
