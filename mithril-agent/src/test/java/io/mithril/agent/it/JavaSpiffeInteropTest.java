package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.server.testing.ServerFixture;
import io.spiffe.bundle.jwtbundle.JwtBundleSet;
import io.spiffe.provider.SpiffeSslContextFactory;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.jwtsvid.JwtSvid;
import io.spiffe.workloadapi.DefaultJwtSource;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import io.spiffe.workloadapi.DefaultX509Source;
import io.spiffe.workloadapi.JwtSource;
import io.spiffe.workloadapi.JwtSourceOptions;
import io.spiffe.workloadapi.WorkloadApiClient;
import io.spiffe.workloadapi.X509Context;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The SPIFFE project's own Java library, unchanged, against the agent fed by a real server. */
class JavaSpiffeInteropTest {

    private static final String ID = "spiffe://example.org/interop";

    private ServerFixture server;
    private Agent agent;
    private String address;

    @BeforeEach
    void setUp() throws Exception {
        server = new ServerFixture();
        Path socket = Files.createDirectories(server.dir.resolve("sock")).resolve("api.sock");
        server.register(ID, 0, "unix:uid:0");
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
        address = "unix:" + socket;
    }

    @AfterEach
    void tearDown() throws Exception {
        agent.close();
        server.close();
    }

    @Test
    void defaultWorkloadApiClientFetchesX509ContextAndValidatesJwt() throws Exception {
        try (WorkloadApiClient client =
                DefaultWorkloadApiClient.newClient(
                        DefaultWorkloadApiClient.ClientOptions.builder()
                                .spiffeSocketPath(address)
                                .build())) {
            X509Context ctx = client.fetchX509Context();
            assertThat(ctx.getDefaultSvid().getSpiffeId().toString()).isEqualTo(ID);
            assertThat(
                            ctx.getX509BundleSet()
                                    .getBundleForTrustDomain(TrustDomain.parse("example.org"))
                                    .getX509Authorities())
                    .containsExactlyInAnyOrderElementsOf(
                            server.server().bundle().x509Authorities());

            JwtSvid jwt = client.fetchJwtSvid("audience-1");
            assertThat(jwt.getSpiffeId().toString()).isEqualTo(ID);
            JwtSvid validated = client.validateJwtSvid(jwt.getToken(), "audience-1");
            assertThat(validated.getSpiffeId().toString()).isEqualTo(ID);

            JwtBundleSet bundles = client.fetchJwtBundles();
            assertThat(
                            bundles.getBundleForTrustDomain(TrustDomain.parse("example.org"))
                                    .getJwtAuthorities())
                    .isNotEmpty();
        }
    }

    @Test
    void defaultJwtSourceTokenVerifiesLocallyAgainstTheServedJwks() throws Exception {
        try (JwtSource source =
                DefaultJwtSource.newSource(
                        JwtSourceOptions.builder()
                                .spiffeSocketPath(address)
                                .initTimeout(Duration.ofSeconds(10))
                                .build())) {
            JwtSvid svid = source.fetchJwtSvid("audience-2");
            // Parses and checks the signature with the JWKS from FetchJWTBundles, entirely in
            // java-spiffe.
            JwtSvid parsed =
                    JwtSvid.parseAndValidate(svid.getToken(), source, Set.of("audience-2"));
            assertThat(parsed.getSpiffeId().toString()).isEqualTo(ID);
        }
    }

    @Test
    void mutualTlsBetweenTwoSpiffeSslContextsFedByTheAgent() throws Exception {
        try (DefaultX509Source serverSource =
                        DefaultX509Source.newSource(
                                DefaultX509Source.X509SourceOptions.builder()
                                        .spiffeSocketPath(address)
                                        .initTimeout(Duration.ofSeconds(10))
                                        .build());
                DefaultX509Source clientSource =
                        DefaultX509Source.newSource(
                                DefaultX509Source.X509SourceOptions.builder()
                                        .spiffeSocketPath(address)
                                        .initTimeout(Duration.ofSeconds(10))
                                        .build())) {
            SSLContext serverCtx =
                    SpiffeSslContextFactory.getSslContext(
                            SpiffeSslContextFactory.SslContextOptions.builder()
                                    .x509Source(serverSource)
                                    .acceptedSpiffeIdsSupplier(() -> Set.of(SpiffeId.parse(ID)))
                                    .build());
            SSLContext clientCtx =
                    SpiffeSslContextFactory.getSslContext(
                            SpiffeSslContextFactory.SslContextOptions.builder()
                                    .x509Source(clientSource)
                                    .acceptedSpiffeIdsSupplier(() -> Set.of(SpiffeId.parse(ID)))
                                    .build());
            try (SSLServerSocket listener =
                    (SSLServerSocket) serverCtx.getServerSocketFactory().createServerSocket(0)) {
                listener.setNeedClientAuth(true);
                CompletableFuture<String> peerSeenByServer =
                        CompletableFuture.supplyAsync(
                                () -> {
                                    try (SSLSocket s = (SSLSocket) listener.accept()) {
                                        DataInputStream in =
                                                new DataInputStream(s.getInputStream());
                                        String msg = in.readUTF();
                                        new DataOutputStream(s.getOutputStream())
                                                .writeUTF("echo " + msg);
                                        X509Certificate peer =
                                                (X509Certificate)
                                                        s.getSession().getPeerCertificates()[0];
                                        return peer.getSubjectAlternativeNames()
                                                .iterator()
                                                .next()
                                                .get(1)
                                                .toString();
                                    } catch (Exception e) {
                                        throw new IllegalStateException(e);
                                    }
                                });
                try (SSLSocket client =
                        (SSLSocket)
                                clientCtx
                                        .getSocketFactory()
                                        .createSocket("127.0.0.1", listener.getLocalPort())) {
                    new DataOutputStream(client.getOutputStream()).writeUTF("hello");
                    assertThat(new DataInputStream(client.getInputStream()).readUTF())
                            .isEqualTo("echo hello");
                }
                assertThat(peerSeenByServer.get(10, TimeUnit.SECONDS)).isEqualTo(ID);
            }

            // A client that expects another server identity refuses the handshake.
            SSLContext picky =
                    SpiffeSslContextFactory.getSslContext(
                            SpiffeSslContextFactory.SslContextOptions.builder()
                                    .x509Source(clientSource)
                                    .acceptedSpiffeIdsSupplier(
                                            () ->
                                                    Set.of(
                                                            SpiffeId.parse(
                                                                    "spiffe://example.org/other")))
                                    .build());
            try (SSLServerSocket listener =
                    (SSLServerSocket) serverCtx.getServerSocketFactory().createServerSocket(0)) {
                listener.setNeedClientAuth(true);
                CompletableFuture.runAsync(
                        () -> {
                            try (SSLSocket s = (SSLSocket) listener.accept()) {
                                s.startHandshake();
                            } catch (Exception ignored) {
                                // the client aborts
                            }
                        });
                try (SSLSocket client =
                        (SSLSocket)
                                picky.getSocketFactory()
                                        .createSocket("127.0.0.1", listener.getLocalPort())) {
                    assertThatThrownBy(client::startHandshake)
                            .isInstanceOf(javax.net.ssl.SSLException.class);
                }
            }
        }
    }
}
