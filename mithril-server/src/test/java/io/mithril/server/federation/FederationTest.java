package io.mithril.server.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.mithril.api.types.Bundle;
import io.mithril.pki.KeyType;
import io.mithril.pki.Pem;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.server.IdentityServer;
import io.mithril.server.ca.BundleCodec;
import io.mithril.server.ca.TrustBundle;
import io.mithril.server.config.FederationConfig;
import io.mithril.server.datastore.SqlDataStore;
import io.mithril.server.federation.BundleEndpointClient.FetchException;
import io.mithril.server.testing.ServerFixture;
import io.mithril.spiffe.bundle.SpiffeBundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509Svid;
import io.mithril.spiffe.tls.SpiffeKeyManager;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Federation between identity servers: the bundle endpoint, the refresh of federated bundles over
 * https_spiffe and https_web, and the attacks a bundle endpoint can mount (garbage, an older
 * bundle, the wrong identity, an unknown CA, silence): each is refused with a clear reason and the
 * last good bundle is kept.
 */
class FederationTest {

    static final TrustDomain PEER = TrustDomain.parse("peer.test");
    static final SpiffeId PEER_ENDPOINT = PEER.spiffeId("/spire/server");

    @TempDir Path dir;

    final Clock clock = Clock.systemUTC();
    final X509Minter minter = new X509Minter(clock);
    SqlDataStore store;
    FederationManager manager;
    HttpsServer fake;
    volatile byte[] fakeBody = new byte[0];
    final ListAppender<ILoggingEvent> logs = new ListAppender<>();

    record Ca(KeyPair keyPair, X509Certificate cert) {
        SigningAuthority authority() {
            return SigningAuthority.of(cert, keyPair.getPrivate());
        }
    }

    @BeforeEach
    void setUp() {
        store = SqlDataStore.openSqlite(dir.resolve("ds.sqlite3"), clock);
        manager =
                new FederationManager(
                        ServerFixture.TD,
                        store,
                        new BundleEndpointClient(null, Duration.ofSeconds(5), clock),
                        clock,
                        Duration.ofSeconds(1),
                        Duration.ofSeconds(1));
        logs.start();
        ((Logger) LoggerFactory.getLogger(FederationManager.class)).addAppender(logs);
    }

    @AfterEach
    void tearDown() {
        ((Logger) LoggerFactory.getLogger(FederationManager.class)).detachAppender(logs);
        if (manager != null) {
            manager.close();
        }
        if (fake != null) {
            fake.stop(0);
        }
        store.close();
    }

    Ca ca(TrustDomain td) {
        KeyPair kp = KeyType.EC_P256.generate();
        return new Ca(kp, minter.selfSignedCa(kp, td, Duration.ofDays(1), null));
    }

    X509Svid svid(Ca ca, SpiffeId id, List<String> dns) {
        KeyPair kp = KeyType.EC_P256.generate();
        return X509Svid.of(
                List.of(
                        minter.signX509Svid(
                                ca.authority(), kp.getPublic(), id, dns, Duration.ofHours(1))),
                kp.getPrivate());
    }

    /**
     * An HTTPS endpoint presenting {@code cert} and answering {@link #fakeBody} to every request.
     */
    String fakeEndpoint(X509Svid cert) throws Exception {
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(new KeyManager[] {new SpiffeKeyManager(() -> cert)}, null, null);
        fake = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
        fake.setHttpsConfigurator(new HttpsConfigurator(ssl));
        fake.createContext(
                "/",
                ex -> {
                    try (ex) {
                        byte[] body = fakeBody;
                        ex.sendResponseHeaders(200, body.length);
                        try (OutputStream out = ex.getResponseBody()) {
                            out.write(body);
                        }
                    }
                });
        fake.start();
        return "https://localhost:" + fake.getAddress().getPort() + "/";
    }

    static String spiffeBundle(TrustDomain td, X509Certificate root, long sequence) {
        return new SpiffeBundle(
                        td,
                        Set.of(root),
                        Map.of(),
                        OptionalLong.of(sequence),
                        Optional.of(Duration.ofSeconds(60)))
                .toJson();
    }

    void holdPeerBundle(Ca root, long sequence) {
        store.setBundle(
                BundleCodec.toProto(
                        new TrustBundle(PEER, List.of(root.cert()), List.of(), sequence, 60)));
    }

    Bundle held() {
        return store.fetchBundle(PEER.name()).orElseThrow();
    }

    void relate(String url, SpiffeId endpointId) {
        store.createFederationRelationship(
                new Relationship(
                                PEER,
                                java.net.URI.create(url),
                                Relationship.Profile.HTTPS_SPIFFE,
                                endpointId)
                        .toProto());
    }

    // ------------------------------------------------------------------ the endpoint

    @Test
    void bundleEndpointServesTheServersBundleInTheSpiffeFormatToCurl() throws Exception {
        Path data = dir.resolve("a");
        try (IdentityServer a =
                IdentityServer.start(
                        ServerFixture.config(data, clock)
                                .joinToken(true)
                                .federation(
                                        new FederationConfig(
                                                FederationConfig.BundleEndpoint.httpsSpiffe(
                                                        "127.0.0.1", 0, Duration.ofSeconds(7)),
                                                List.of()))
                                .build())) {
            String url = "https://127.0.0.1:" + a.bundleEndpointAddress().getPort() + "/";
            // -k: the endpoint's certificate is the server's X509-SVID, which curl cannot check;
            // the client below does.
            Process curl =
                    new ProcessBuilder("curl", "-sS", "-k", "--max-time", "10", url)
                            .redirectErrorStream(true)
                            .start();
            String body = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(curl.waitFor(15, TimeUnit.SECONDS)).isTrue();
            assertThat(curl.exitValue()).as(body).isZero();

            JsonNode json = new ObjectMapper().readTree(body);
            assertThat(json.get("spiffe_refresh_hint").asLong()).isEqualTo(7);
            assertThat(json.get("spiffe_sequence").asLong()).isEqualTo(a.bundle().sequenceNumber());
            assertThat(json.get("keys"))
                    .extracting(k -> k.get("use").asText())
                    .contains("x509-svid", "jwt-svid");
            SpiffeBundle parsed = SpiffeBundle.parse(ServerFixture.TD, body);
            assertThat(parsed.x509Authorities())
                    .containsExactlyInAnyOrderElementsOf(a.bundle().x509Authorities());
            assertThat(parsed.jwtAuthorities().keySet())
                    .containsExactlyInAnyOrderElementsOf(
                            a.bundle().jwtAuthorities().stream()
                                    .map(TrustBundle.JwtAuthority::keyId)
                                    .toList());

            Process post =
                    new ProcessBuilder(
                                    "curl",
                                    "-sS",
                                    "-k",
                                    "-o",
                                    "/dev/null",
                                    "-w",
                                    "%{http_code}",
                                    "-X",
                                    "POST",
                                    url)
                            .start();
            assertThat(new String(post.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("405");

            // The endpoint authenticates as spiffe://example.org/spire/server (https_spiffe) and no
            // other ID.
            BundleEndpointClient client =
                    new BundleEndpointClient(null, Duration.ofSeconds(5), clock);
            Relationship good =
                    new Relationship(
                            ServerFixture.TD,
                            java.net.URI.create(url),
                            Relationship.Profile.HTTPS_SPIFFE,
                            a.serverId());
            assertThat(client.fetch(good, td -> a.bundle().x509Bundle()).x509Authorities())
                    .isEqualTo(parsed.x509Authorities());
            Relationship wrongId =
                    new Relationship(
                            ServerFixture.TD,
                            java.net.URI.create(url),
                            Relationship.Profile.HTTPS_SPIFFE,
                            ServerFixture.TD.spiffeId("/beacon"));
            assertThatThrownBy(() -> client.fetch(wrongId, td -> a.bundle().x509Bundle()))
                    .isInstanceOf(FetchException.class)
                    .hasMessageContaining("TLS handshake failed")
                    .hasMessageContaining("spiffe://example.org/beacon");
        }
    }

    @Test
    void aServerKeepsItsPeersBundleFreshOverHttpsSpiffe() throws Exception {
        TrustDomain other = TrustDomain.parse("domain.test");
        try (IdentityServer a =
                IdentityServer.start(
                        ServerFixture.config(dir.resolve("a"), clock)
                                .joinToken(true)
                                .federation(
                                        new FederationConfig(
                                                FederationConfig.BundleEndpoint.httpsSpiffe(
                                                        "127.0.0.1", 0, Duration.ofSeconds(1)),
                                                List.of()))
                                .build())) {
            String url = "https://127.0.0.1:" + a.bundleEndpointAddress().getPort();
            Relationship toA =
                    Relationship.of(
                            "example.org",
                            url,
                            "https_spiffe",
                            "spiffe://example.org/spire/server");
            try (IdentityServer b =
                    IdentityServer.start(
                            io.mithril.server.config.ServerConfig.builder(other, dir.resolve("b"))
                                    .bindAddress("127.0.0.1")
                                    .bindPort(0)
                                    .socketPath(dir.resolve("b/private/api.sock"))
                                    .joinToken(true)
                                    .clock(clock)
                                    .federation(
                                            new FederationConfig(null, List.of(toA))
                                                    .withTimings(
                                                            Duration.ofSeconds(1),
                                                            Duration.ofSeconds(1)))
                                    .build())) {
                assertThat(b.dataStore().fetchFederationRelationship("example.org"))
                        .contains(toA.toProto());
                // Not bootstrapped: the endpoint cannot be authenticated, nothing is stored.
                Thread.sleep(1500);
                assertThat(b.dataStore().fetchBundle("example.org")).isEmpty();

                // Bootstrapped with A's bundle (what `bundle set` does), B keeps it fresh.
                b.dataStore().setBundle(a.caManager().bundleProto());
                X509Certificate extra = ca(ServerFixture.TD).cert();
                a.dataStore()
                        .appendBundle(
                                Bundle.newBuilder()
                                        .setTrustDomain("example.org")
                                        .addX509Authorities(ByteString.copyFrom(extra.getEncoded()))
                                        .build());
                a.caManager().refreshBundle();
                long sequence = a.bundle().sequenceNumber();
                await().atMost(Duration.ofSeconds(20))
                        .untilAsserted(
                                () -> {
                                    TrustBundle held =
                                            BundleCodec.fromProto(
                                                    b.dataStore()
                                                            .fetchBundle("example.org")
                                                            .orElseThrow());
                                    assertThat(held.sequenceNumber()).isEqualTo(sequence);
                                    assertThat(held.x509Authorities())
                                            .contains(extra)
                                            .containsAll(a.bundle().x509Authorities());
                                });
            }
        }
    }

    // ------------------------------------------------------------------ attacks

    @Test
    void anEndpointServingGarbageIsRefusedAndTheLastGoodBundleKept() throws Exception {
        Ca root = ca(PEER);
        holdPeerBundle(root, 5);
        relate(fakeEndpoint(svid(root, PEER_ENDPOINT, List.of())), PEER_ENDPOINT);
        Bundle before = held();
        for (String garbage : List.of("<html>hello</html>", "{\"keys\": 3}", "{}", "")) {
            fakeBody = garbage.getBytes(StandardCharsets.UTF_8);
            assertThatThrownBy(() -> manager.refresh(PEER))
                    .isInstanceOf(FetchException.class)
                    .hasMessageContaining("served an invalid bundle");
            assertThat(held()).isEqualTo(before);
        }
        assertThat(logs.list)
                .anySatisfy(
                        e ->
                                assertThat(e.getFormattedMessage())
                                        .contains(
                                                "Federated bundle of peer.test NOT refreshed, keeping the last good one (sequence 5)")
                                        .contains("served an invalid bundle"));

        // The same endpoint with a proper, newer bundle is accepted (so the refusals above were for
        // the content).
        Ca next = ca(PEER);
        fakeBody = spiffeBundle(PEER, next.cert(), 6).getBytes(StandardCharsets.UTF_8);
        assertThat(manager.refresh(PEER).x509Authorities()).containsExactly(next.cert());
        assertThat(held().getSequenceNumber()).isEqualTo(6);
    }

    @Test
    void aBundleWithALowerSequenceNumberIsRefused() throws Exception {
        Ca root = ca(PEER);
        holdPeerBundle(root, 5);
        relate(fakeEndpoint(svid(root, PEER_ENDPOINT, List.of())), PEER_ENDPOINT);
        Ca attacker = ca(PEER);
        fakeBody = spiffeBundle(PEER, attacker.cert(), 4).getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> manager.refresh(PEER))
                .isInstanceOf(FetchException.class)
                .hasMessageContaining("served spiffe_sequence 4, lower than the 5 held");
        assertThat(BundleCodec.fromProto(held()).x509Authorities()).containsExactly(root.cert());
    }

    @Test
    void aBundleWithoutASequenceNumberCannotReplaceOneThatHasOne() throws Exception {
        Ca root = ca(PEER);
        holdPeerBundle(root, 5);
        relate(fakeEndpoint(svid(root, PEER_ENDPOINT, List.of())), PEER_ENDPOINT);
        Ca attacker = ca(PEER);
        fakeBody =
                new SpiffeBundle(
                                PEER,
                                Set.of(attacker.cert()),
                                Map.of(),
                                OptionalLong.empty(),
                                Optional.empty())
                        .toJson()
                        .getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> manager.refresh(PEER))
                .isInstanceOf(FetchException.class)
                .hasMessageContaining("served spiffe_sequence none, lower than the 5 held");
        assertThat(BundleCodec.fromProto(held()).x509Authorities()).containsExactly(root.cert());
    }

    @Test
    void aStoredRelationshipWithTheServersOwnTrustDomainNeverReplacesItsBundle() throws Exception {
        Ca attacker = ca(ServerFixture.TD);
        store.createFederationRelationship(
                new Relationship(
                                ServerFixture.TD,
                                java.net.URI.create(
                                        fakeEndpoint(svid(ca(PEER), PEER_ENDPOINT, List.of()))),
                                Relationship.Profile.HTTPS_SPIFFE,
                                PEER_ENDPOINT)
                        .toProto());
        fakeBody =
                spiffeBundle(ServerFixture.TD, attacker.cert(), 99)
                        .getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> manager.refresh(ServerFixture.TD))
                .isInstanceOf(FetchException.class)
                .hasMessageContaining("is the server's own trust domain");
        assertThat(store.fetchBundle(ServerFixture.TD.name())).isEmpty();
    }

    @Test
    void aBundleWithNoX509AuthorityIsRefused() throws Exception {
        Ca root = ca(PEER);
        holdPeerBundle(root, 5);
        relate(fakeEndpoint(svid(root, PEER_ENDPOINT, List.of())), PEER_ENDPOINT);
        fakeBody = "{\"keys\": [], \"spiffe_sequence\": 9}".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> manager.refresh(PEER)).hasMessageContaining("no X.509 authority");
        assertThat(held().getSequenceNumber()).isEqualTo(5);
    }

    @Test
    void anEndpointPresentingTheWrongSpiffeIdIsRefused() throws Exception {
        Ca root = ca(PEER);
        holdPeerBundle(root, 5);
        relate(
                fakeEndpoint(svid(root, PEER.spiffeId("/not-the-server"), List.of())),
                PEER_ENDPOINT);
        fakeBody = spiffeBundle(PEER, ca(PEER).cert(), 6).getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> manager.refresh(PEER))
                .isInstanceOf(FetchException.class)
                .hasMessageContaining("TLS handshake failed")
                .hasMessageContaining("spiffe://peer.test/not-the-server");
        assertThat(held().getSequenceNumber()).isEqualTo(5);
    }

    @Test
    void anEndpointWhoseSvidIsNotSignedByTheHeldBundleIsRefused() throws Exception {
        Ca root = ca(PEER);
        holdPeerBundle(root, 5);
        Ca impostor = ca(PEER);
        relate(fakeEndpoint(svid(impostor, PEER_ENDPOINT, List.of())), PEER_ENDPOINT);
        fakeBody = spiffeBundle(PEER, impostor.cert(), 6).getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> manager.refresh(PEER))
                .isInstanceOf(FetchException.class)
                .hasMessageContaining("TLS handshake failed");
        assertThat(BundleCodec.fromProto(held()).x509Authorities()).containsExactly(root.cert());
    }

    @Test
    void anUnbootstrappedHttpsSpiffeRelationshipTrustsNothing() throws Exception {
        Ca root = ca(PEER);
        relate(fakeEndpoint(svid(root, PEER_ENDPOINT, List.of())), PEER_ENDPOINT);
        fakeBody = spiffeBundle(PEER, root.cert(), 1).getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> manager.refresh(PEER))
                .isInstanceOf(FetchException.class)
                .hasMessageContaining("TLS handshake failed");
        assertThat(store.fetchBundle(PEER.name())).isEmpty();
        assertThat(logs.list)
                .anySatisfy(
                        e ->
                                assertThat(e.getFormattedMessage())
                                        .contains("NOT refreshed, none held yet"));
    }

    @Test
    void anUnreachableEndpointIsRetriedAndTheLastGoodBundleKept() throws Exception {
        Ca root = ca(PEER);
        holdPeerBundle(root, 5);
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        relate("https://127.0.0.1:" + closedPort, PEER_ENDPOINT);
        assertThatThrownBy(() -> manager.refresh(PEER))
                .isInstanceOf(FetchException.class)
                .hasMessageContaining("cannot fetch")
                .hasMessageContaining("Connection refused");
        assertThat(held().getSequenceNumber()).isEqualTo(5);
        assertThat(manager.nextRefresh(PEER)).isPresent();
    }

    // ------------------------------------------------------------------ https_web

    @Test
    void aServingKeyOfAnotherPairIsRefused() throws Exception {
        Ca webCa = ca(TrustDomain.parse("web.test"));
        X509Svid cert =
                svid(webCa, TrustDomain.parse("web.test").spiffeId("/www"), List.of("localhost"));
        Path certFile = dir.resolve("web.crt");
        Path keyFile = dir.resolve("web.key");
        Pem.writeCertificates(certFile, cert.chain());
        Pem.writePrivateKey(
                keyFile, KeyType.EC_P256.generate().getPrivate()); // same algorithm, another pair
        assertThatThrownBy(
                        () -> ServingCertFile.load(certFile, keyFile, Duration.ofMinutes(1), clock))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is not the key of " + certFile);
    }

    @Test
    void httpsWebEndpointsAreCheckedAsWebServers() throws Exception {
        Ca webCa = ca(TrustDomain.parse("web.test"));
        X509Svid localhostCert =
                svid(webCa, TrustDomain.parse("web.test").spiffeId("/www"), List.of("localhost"));
        Path certFile = dir.resolve("web.crt");
        Path keyFile = dir.resolve("web.key");
        Pem.writeCertificates(certFile, localhostCert.chain());
        Pem.writePrivateKey(keyFile, localhostCert.privateKey());
        ServingCertFile serving =
                ServingCertFile.load(certFile, keyFile, Duration.ofMinutes(1), clock);
        Ca peerRoot = ca(PEER);
        TrustBundle peerBundle = new TrustBundle(PEER, List.of(peerRoot.cert()), List.of(), 3, 60);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("web-ca", webCa.cert());
        TrustManagerFactory tmf =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext webTrust = SSLContext.getInstance("TLS");
        webTrust.init(null, tmf.getTrustManagers(), null);
        BundleEndpointClient client =
                new BundleEndpointClient(webTrust, Duration.ofSeconds(5), clock);
        try (BundleEndpointServer endpoint =
                BundleEndpointServer.start(
                        new InetSocketAddress("127.0.0.1", 0),
                        serving,
                        Duration.ofSeconds(30),
                        () -> peerBundle)) {
            int port = endpoint.address().getPort();
            SpiffeBundle got =
                    client.fetch(
                            Relationship.of(
                                    PEER.name(), "https://localhost:" + port, "https_web", null),
                            td -> {
                                throw new AssertionError(
                                        "https_web must not consult SPIFFE bundles");
                            });
            assertThat(got.x509Authorities()).containsExactly(peerRoot.cert());
            assertThat(got.refreshHint()).contains(Duration.ofSeconds(30));
            assertThat(got.sequenceNumber()).hasValue(3);
            // The certificate is for "localhost", not for 127.0.0.1: the host name is checked.
            assertThatThrownBy(
                            () ->
                                    client.fetch(
                                            Relationship.of(
                                                    PEER.name(),
                                                    "https://127.0.0.1:" + port,
                                                    "https_web",
                                                    null),
                                            null))
                    .isInstanceOf(FetchException.class)
                    .hasMessageContaining("TLS handshake failed");
            // A client with only the JVM's public CAs does not trust a private CA.
            assertThatThrownBy(
                            () ->
                                    new BundleEndpointClient(null, Duration.ofSeconds(5), clock)
                                            .fetch(
                                                    Relationship.of(
                                                            PEER.name(),
                                                            "https://localhost:" + port,
                                                            "https_web",
                                                            null),
                                                    null))
                    .isInstanceOf(FetchException.class)
                    .hasMessageContaining("TLS handshake failed");
        }
    }

    @Test
    void aServerConfFederationBlockStartsAnHttpsWebEndpointAndStoresItsRelationships()
            throws Exception {
        Ca webCa = ca(TrustDomain.parse("web.test"));
        X509Svid localhostCert =
                svid(webCa, TrustDomain.parse("web.test").spiffeId("/www"), List.of("localhost"));
        Pem.writeCertificates(dir.resolve("web.crt"), localhostCert.chain());
        Pem.writePrivateKey(dir.resolve("web.key"), localhostCert.privateKey());
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path conf = dir.resolve("server.conf");
        java.nio.file.Files.writeString(
                conf,
                """
                server {
                    bind_address = "127.0.0.1"
                    bind_port = "0"
                    socket_path = "%1$s/private/api.sock"
                    trust_domain = "example.org"
                    data_dir = "%1$s/data"
                    federation {
                        bundle_endpoint {
                            address = "127.0.0.1"
                            port = %2$d
                            refresh_hint = "2m"
                            profile "https_web" {
                                serving_cert_file {
                                    cert_file_path = "%1$s/web.crt"
                                    key_file_path = "%1$s/web.key"
                                }
                            }
                        }
                        federates_with "domain.test" {
                            bundle_endpoint_url = "https://127.0.0.1:1"
                            bundle_endpoint_profile "https_spiffe" {
                                endpoint_spiffe_id = "spiffe://domain.test/spire/server"
                            }
                        }
                    }
                }
                plugins {
                    DataStore "sql" { plugin_data { database_type = "sqlite3" } }
                    KeyManager "memory" { plugin_data {} }
                    NodeAttestor "join_token" { plugin_data {} }
                }
                """
                        .formatted(dir, port));
        try (IdentityServer a = IdentityServer.start(conf)) {
            assertThat(a.bundleEndpointAddress().getPort()).isEqualTo(port);
            assertThat(a.dataStore().listFederationRelationships())
                    .containsExactly(
                            Relationship.of(
                                            "domain.test",
                                            "https://127.0.0.1:1",
                                            "https_spiffe",
                                            "spiffe://domain.test/spire/server")
                                    .toProto());
            // curl checks the web certificate against its CA and the host name, as any web client
            // does.
            Path caFile = dir.resolve("web-ca.pem");
            Pem.writeCertificates(caFile, List.of(webCa.cert()));
            Process curl =
                    new ProcessBuilder(
                                    "curl",
                                    "-sS",
                                    "--max-time",
                                    "10",
                                    "--cacert",
                                    caFile.toString(),
                                    "https://localhost:" + port + "/")
                            .redirectErrorStream(true)
                            .start();
            String body = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(curl.waitFor()).as(body).isZero();
            SpiffeBundle got = SpiffeBundle.parse(ServerFixture.TD, body);
            assertThat(got.x509Authorities())
                    .containsExactlyInAnyOrderElementsOf(a.bundle().x509Authorities());
            assertThat(got.refreshHint()).contains(Duration.ofMinutes(2));
        }
    }

    @Test
    void relationshipsAreValidated() {
        assertThatThrownBy(
                        () ->
                                Relationship.of(
                                        "domain.test", "http://domain.test", "https_web", null))
                .hasMessageContaining("must be an https URL");
        assertThatThrownBy(
                        () ->
                                Relationship.of(
                                        "domain.test", "https://domain.test", "https_spiffe", null))
                .hasMessageContaining("needs endpoint_spiffe_id");
        assertThatThrownBy(
                        () ->
                                Relationship.of(
                                        "domain.test",
                                        "https://domain.test",
                                        "https_web",
                                        "spiffe://domain.test/x"))
                .hasMessageContaining("only for the https_spiffe profile");
        assertThatThrownBy(
                        () ->
                                Relationship.of(
                                        "domain.test", "https://domain.test", "https_acme", null))
                .hasMessageContaining("not one of https_spiffe, https_web");
        assertThatThrownBy(
                        () ->
                                Relationship.of(
                                        "Domain Test", "https://domain.test", "https_web", null))
                .hasMessageContaining("trust domain");
    }
}
