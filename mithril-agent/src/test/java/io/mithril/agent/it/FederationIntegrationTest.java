package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.api.selector.Selector;
import io.mithril.api.types.Bundle;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.api.workload.client.X509Context;
import io.mithril.api.workload.client.X509ContextFiles;
import io.mithril.pki.KeyType;
import io.mithril.pki.Pem;
import io.mithril.pki.X509Minter;
import io.mithril.server.IdentityServer;
import io.mithril.server.ca.CaManager;
import io.mithril.server.config.FederationConfig;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.federation.Relationship;
import io.mithril.server.testing.ServerFixture;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.spiffe.bundle.jwtbundle.JwtBundleSet;
import io.spiffe.svid.jwtsvid.JwtSvid;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Federation end to end, in process: domain.test's server serves its bundle endpoint
 * (https_spiffe); example.org's server federates with it (federates_with in its configuration) and
 * keeps the bundle fresh; example.org's agent hands domain.test's bundle to the workload whose
 * entry federates with it, through the Workload API (our client and java-spiffe), in the files
 * {@code api fetch x509 -write} writes, and for JWT validation.
 */
class FederationIntegrationTest {

    static final TrustDomain PEER = TrustDomain.parse("domain.test");
    static final String FED = "spiffe://example.org/federated";

    IdentityServer peer;
    ServerFixture server;
    Agent agent;
    Path socket;

    @BeforeEach
    void setUp() throws Exception {
        Path peerDir = Files.createTempDirectory("mithril-peer-");
        peer =
                IdentityServer.start(
                        ServerConfig.builder(PEER, peerDir)
                                .bindAddress("127.0.0.1")
                                .bindPort(0)
                                .socketPath(peerDir.resolve("private/api.sock"))
                                .joinToken(true)
                                .federation(
                                        new FederationConfig(
                                                FederationConfig.BundleEndpoint.httpsSpiffe(
                                                        "127.0.0.1", 0, Duration.ofSeconds(1)),
                                                List.of()))
                                .build());
        Relationship toPeer =
                Relationship.of(
                        PEER.name(),
                        "https://127.0.0.1:" + peer.bundleEndpointAddress().getPort(),
                        "https_spiffe",
                        "spiffe://domain.test/spire/server");
        server =
                new ServerFixture(
                        null,
                        b ->
                                b.federation(
                                        new FederationConfig(null, List.of(toPeer))
                                                .withTimings(
                                                        Duration.ofSeconds(1),
                                                        Duration.ofSeconds(1))));
        // Bootstrap, as `bundle set -id spiffe://domain.test -format spiffe` does.
        server.server().dataStore().setBundle(peer.caManager().bundleProto());

        server.server()
                .createEntry(
                        RegistrationEntry.of(
                                        SpiffeId.parse(FED),
                                        SpiffeId.parse("spiffe://example.org/node"),
                                        List.of(
                                                Selector.parse(
                                                        "unix:uid:"
                                                                + new com.sun.security.auth.module
                                                                                .UnixSystem()
                                                                        .getUid())))
                                .withFederatesWith(List.of(PEER.name())));
        socket = Files.createDirectories(server.dir.resolve("sock")).resolve("api.sock");
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
    }

    @AfterEach
    void tearDown() throws Exception {
        agent.close();
        server.close();
        peer.close();
    }

    @Test
    void theWorkloadOfAFederatingEntryGetsThePeersBundleAndKeepsGettingItsUpdates()
            throws Exception {
        try (WorkloadApiClient client = WorkloadApiClient.connect("unix:" + socket)) {
            X509Context ctx =
                    await().atMost(Duration.ofSeconds(20))
                            .until(
                                    () -> client.fetchX509Context(Duration.ofSeconds(5)),
                                    c -> c.federatedBundles().containsKey(PEER));
            assertThat(ctx.federatedBundles().get(PEER))
                    .containsExactlyInAnyOrderElementsOf(peer.bundle().x509Authorities());
            assertThat(client.fetchX509Bundles(Duration.ofSeconds(5))).containsKey(PEER);
            assertThat(client.fetchJwtBundles(Duration.ofSeconds(5))).containsKey(PEER);

            // `agent api fetch x509 -write DIR`: SPIRE's file names,
            // federated_bundle.<svid>.<n>.pem.
            Path out = Files.createDirectories(server.dir.resolve("out"));
            X509ContextFiles.write(ctx, out);
            assertThat(Pem.readCertificates(out.resolve("federated_bundle.0.0.pem")))
                    .containsExactlyInAnyOrderElementsOf(peer.bundle().x509Authorities());

            // The peer's CA changes: the new root travels endpoint -> server -> agent -> workload.
            KeyPair kp = KeyType.EC_P256.generate();
            X509Certificate extra =
                    new X509Minter(Clock.systemUTC())
                            .selfSignedCa(kp, PEER, Duration.ofDays(1), null);
            peer.dataStore()
                    .appendBundle(
                            Bundle.newBuilder()
                                    .setTrustDomain(PEER.name())
                                    .addX509Authorities(ByteString.copyFrom(extra.getEncoded()))
                                    .build());
            peer.caManager().refreshBundle();
            await().atMost(Duration.ofSeconds(30))
                    .untilAsserted(
                            () ->
                                    assertThat(
                                                    client.fetchX509Context(Duration.ofSeconds(5))
                                                            .federatedBundles()
                                                            .get(PEER))
                                            .contains(extra));
        }
    }

    @Test
    void javaSpiffeSeesTheFederatedBundlesAndValidatesAPeersJwtSvid() throws Exception {
        try (io.spiffe.workloadapi.WorkloadApiClient client =
                DefaultWorkloadApiClient.newClient(
                        DefaultWorkloadApiClient.ClientOptions.builder()
                                .spiffeSocketPath("unix:" + socket)
                                .build())) {
            io.spiffe.workloadapi.X509Context ctx =
                    await().atMost(Duration.ofSeconds(20))
                            .until(
                                    client::fetchX509Context,
                                    c ->
                                            c.getX509BundleSet()
                                                    .getBundles()
                                                    .containsKey(
                                                            io.spiffe.spiffeid.TrustDomain.parse(
                                                                    PEER.name())));
            assertThat(
                            ctx.getX509BundleSet()
                                    .getBundleForTrustDomain(
                                            io.spiffe.spiffeid.TrustDomain.parse(PEER.name()))
                                    .getX509Authorities())
                    .containsExactlyInAnyOrderElementsOf(peer.bundle().x509Authorities());

            // A JWT-SVID minted in domain.test verifies in example.org with the federated JWT
            // bundle.
            CaManager.SignedJwt jwt =
                    peer.caManager()
                            .signJwtSvid(
                                    SpiffeId.parse("spiffe://domain.test/sleep"),
                                    List.of("productpage"),
                                    Duration.ofMinutes(5));
            JwtBundleSet jwtBundles = client.fetchJwtBundles();
            JwtSvid parsed =
                    JwtSvid.parseAndValidate(jwt.token(), jwtBundles, Set.of("productpage"));
            assertThat(parsed.getSpiffeId().toString()).isEqualTo("spiffe://domain.test/sleep");
            JwtSvid validated = client.validateJwtSvid(jwt.token(), "productpage");
            assertThat(validated.getSpiffeId().toString()).isEqualTo("spiffe://domain.test/sleep");
        }
    }

    @Test
    void sdsAllCarriesTheFederatedTrustDomainToEnvoysSpiffeValidator() throws Exception {
        io.netty.channel.EventLoopGroup group =
                new io.netty.channel.MultiThreadIoEventLoopGroup(
                        1, io.netty.channel.epoll.EpollIoHandler.newFactory());
        io.grpc.ManagedChannel channel =
                io.grpc.netty.NettyChannelBuilder.forAddress(
                                new io.netty.channel.unix.DomainSocketAddress(socket.toString()))
                        .eventLoopGroup(group)
                        .channelType(io.netty.channel.epoll.EpollDomainSocketChannel.class)
                        .overrideAuthority("localhost")
                        .usePlaintext()
                        .build();
        try {
            var sds =
                    io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc
                            .newBlockingStub(channel);
            var request =
                    io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest.newBuilder()
                            .setTypeUrl(
                                    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret")
                            .setNode(
                                    io.envoyproxy.envoy.config.core.v3.Node.newBuilder()
                                            .setId("sidecar~127.0.0.1~sleep.default~cluster.local"))
                            .addResourceNames("ALL")
                            .addResourceNames("spiffe://domain.test")
                            .build();
            List<io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret> got =
                    await().atMost(Duration.ofSeconds(20))
                            .until(
                                    () -> {
                                        List<
                                                        io.envoyproxy.envoy.extensions
                                                                .transport_sockets.tls.v3.Secret>
                                                out = new java.util.ArrayList<>();
                                        for (var any :
                                                sds.fetchSecrets(request).getResourcesList()) {
                                            out.add(
                                                    any.unpack(
                                                            io.envoyproxy.envoy.extensions
                                                                    .transport_sockets.tls.v3.Secret
                                                                    .class));
                                        }
                                        return out;
                                    },
                                    l -> l.size() == 2);
            var validator = got.get(0).getValidationContext().getCustomValidatorConfig();
            assertThat(validator.getName()).isEqualTo("envoy.tls.cert_validator.spiffe");
            var cfg =
                    validator
                            .getTypedConfig()
                            .unpack(
                                    io.envoyproxy.envoy.extensions.transport_sockets.tls.v3
                                            .SPIFFECertValidatorConfig.class);
            java.util.Map<String, List<X509Certificate>> byDomain = new java.util.HashMap<>();
            cfg.getTrustDomainsList()
                    .forEach(
                            td ->
                                    byDomain.put(
                                            td.getName(),
                                            Pem.readCertificates(
                                                    td.getTrustBundle()
                                                            .getInlineBytes()
                                                            .toStringUtf8())));
            assertThat(byDomain.keySet()).containsExactlyInAnyOrder("example.org", "domain.test");
            assertThat(byDomain.get("domain.test"))
                    .containsExactlyInAnyOrderElementsOf(peer.bundle().x509Authorities());
            assertThat(byDomain.get("example.org"))
                    .containsExactlyInAnyOrderElementsOf(
                            server.server().bundle().x509Authorities());
            assertThat(
                            Pem.readCertificates(
                                    got.get(1)
                                            .getValidationContext()
                                            .getTrustedCa()
                                            .getInlineBytes()
                                            .toStringUtf8()))
                    .containsExactlyInAnyOrderElementsOf(peer.bundle().x509Authorities());
        } finally {
            channel.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        }
    }
}
