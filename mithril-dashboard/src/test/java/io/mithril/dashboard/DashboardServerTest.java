package io.mithril.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.pki.Pem;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.testing.HeldCertificate;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard's server: read-only, the page and its vendored library served from the jar, the
 * state pushed as Server-Sent Events; a non-loopback address only with mTLS, where each client that
 * should not see the dashboard is refused in the handshake (each case performs the attack).
 */
class DashboardServerTest {

    private static final String ALLOWED = "spiffe://example.org/ns/ops/sa/admin";

    @TempDir Path tmp;

    private Collector collector;
    private DashboardServer server;

    @BeforeEach
    void collector() {
        collector =
                new Collector(
                        new Sources(Map.of(), null, List.of(), false),
                        Clock.systemUTC(),
                        Duration.ofSeconds(1));
        collector.poll();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        collector.close();
    }

    @Test
    void onLoopbackItServesThePageTheLibraryAndTheStateReadOnly() throws Exception {
        server =
                DashboardServer.start(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        null,
                        collector);
        assertThat(server.url()).startsWith("http://127.0.0.1:");
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> page =
                http.send(
                        HttpRequest.newBuilder(URI.create(server.url())).build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("<script src=\"/vendor/cytoscape.min.js\"></script>");
        assertThat(page.headers().firstValue("Content-Security-Policy"))
                .hasValueSatisfying(v -> assertThat(v).contains("default-src 'self'"));
        HttpResponse<String> lib =
                http.send(
                        HttpRequest.newBuilder(URI.create(server.url() + "vendor/cytoscape.min.js"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(lib.statusCode()).isEqualTo(200);
        assertThat(lib.body()).contains("cytoscape").hasSizeGreaterThan(100_000);
        HttpResponse<String> state =
                http.send(
                        HttpRequest.newBuilder(URI.create(server.url() + "api/state")).build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(state.body()).contains("\"sources\":[]").contains("\"graph\"");
        HttpResponse<String> post =
                http.send(
                        HttpRequest.newBuilder(URI.create(server.url() + "api/state"))
                                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
        HttpResponse<String> missing =
                http.send(
                        HttpRequest.newBuilder(URI.create(server.url() + "../etc/passwd")).build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(missing.statusCode()).isEqualTo(404);
        // The stream starts with the current state as one event.
        HttpResponse<InputStream> stream =
                http.send(
                        HttpRequest.newBuilder(URI.create(server.url() + "api/stream")).build(),
                        HttpResponse.BodyHandlers.ofInputStream());
        assertThat(stream.headers().firstValue("Content-Type"))
                .hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
        try (InputStream in = stream.body()) {
            byte[] head = new byte[64];
            int n = in.readNBytes(head, 0, head.length);
            assertThat(new String(head, 0, n, StandardCharsets.UTF_8))
                    .startsWith("retry: 2000\ndata: {\"sources\"");
        }
    }

    @Test
    void aRequestForAnotherHostNameIsRefusedAsDnsRebindingWouldSendIt() throws Exception {
        server =
                DashboardServer.start(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        null,
                        collector);
        for (String host :
                new String[] {"attacker.example:" + server.port(), "127.0.0.1:1", null}) {
            try (java.net.Socket s =
                    new java.net.Socket(InetAddress.getLoopbackAddress(), server.port())) {
                String request =
                        "GET /api/state HTTP/1.1\r\n"
                                + (host == null ? "" : "Host: " + host + "\r\n")
                                + "Connection: close\r\n\r\n";
                s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
                String answer =
                        new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(answer)
                        .as("Host %s", host)
                        .startsWith("HTTP/1.1 403")
                        .doesNotContain("\"graph\"");
            }
        }
        HttpResponse<String> localhost =
                HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(
                                                URI.create(
                                                        "http://localhost:"
                                                                + server.port()
                                                                + "/api/state"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
        assertThat(localhost.statusCode()).isEqualTo(200);
    }

    @Test
    void aNonLoopbackAddressWithoutMtlsIsRefused() {
        assertThatThrownBy(
                        () ->
                                DashboardServer.start(
                                        new InetSocketAddress("0.0.0.0", 0), null, collector))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a loopback address")
                .hasMessageContaining("-allowedID");
        assertThatThrownBy(() -> new DashboardServer.Mtls(tmp, tmp, tmp, List.of()))
                .hasMessageContaining("at least one allowed SPIFFE ID");
    }

    @Test
    void onAnyOtherAddressOnlyAnAllowedSpiffeIdUnderTheBundleGetsIn() throws Exception {
        HeldCertificate root = root("Dashboard test root");
        HeldCertificate serverSvid = leaf(root, "spiffe://example.org/ns/ops/sa/dashboard");
        // 0.0.0.0 is not a loopback address: mTLS is required; the test reaches it on 127.0.0.1.
        server =
                DashboardServer.start(
                        new InetSocketAddress("0.0.0.0", 0),
                        writeMtls(root, serverSvid),
                        collector);
        assertThat(server.url()).startsWith("https://");

        assertThat(get(client(root, leaf(root, ALLOWED)))).startsWith("HTTP/1.1 200");

        // No client certificate.
        assertThatThrownBy(() -> get(client(root, null))).isInstanceOf(IOException.class);
        // A valid SVID of the trust domain, but not an allowed ID.
        assertThatThrownBy(
                        () ->
                                get(
                                        client(
                                                root,
                                                leaf(
                                                        root,
                                                        "spiffe://example.org/ns/default/sa/sleep"))))
                .isInstanceOf(IOException.class);
        // The allowed ID, from a CA the bundle does not hold.
        HeldCertificate foreign = root("Foreign root");
        assertThatThrownBy(() -> get(client(root, leaf(foreign, ALLOWED))))
                .isInstanceOf(IOException.class);
        // The allowed ID, expired.
        HeldCertificate expired =
                HeldCertificate.builder()
                        .spiffeId(ALLOWED)
                        .validityInterval(
                                Instant.now().minus(Duration.ofHours(3)),
                                Instant.now().minus(Duration.ofHours(1)))
                        .signedBy(root)
                        .build();
        assertThatThrownBy(() -> get(client(root, expired))).isInstanceOf(IOException.class);
    }

    /**
     * The dashboard's serving SVID follows rotation, as the proxies' do: once the files are
     * rewritten (an agent's {@code -write}, a helper), a new connection is served the new
     * certificate, and a client still presenting the old SVID of a rotated-away CA is refused.
     */
    @Test
    void aRotatedSvidIsServedToTheNextClient() throws Exception {
        HeldCertificate root = root("Dashboard test root");
        HeldCertificate first = leaf(root, "spiffe://example.org/ns/ops/sa/dashboard");
        DashboardServer.Mtls mtls = writeMtls(root, first);
        server = DashboardServer.start(new InetSocketAddress("0.0.0.0", 0), mtls, collector);
        assertThat(servedSerial(client(root, leaf(root, ALLOWED))))
                .isEqualTo(first.certificate().getSerialNumber());

        // Rotation: a new root, a new dashboard SVID under it, a new bundle; written as an agent
        // writes them.
        HeldCertificate root2 = root("Dashboard test root 2");
        HeldCertificate second = leaf(root2, "spiffe://example.org/ns/ops/sa/dashboard");
        writeMtls(root2, second);
        SSLContext rotated = client(root2, leaf(root2, ALLOWED));
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(200))
                .ignoreExceptions()
                .until(() -> servedSerial(rotated).equals(second.certificate().getSerialNumber()));
        assertThatThrownBy(() -> get(client(root, leaf(root, ALLOWED))))
                .as("a client of the rotated-away CA, which trusts only it, no longer gets in")
                .isInstanceOf(IOException.class);
        assertThat(get(rotated)).startsWith("HTTP/1.1 200");

        // A half-written rotation (a certificate whose key is not there yet) keeps the previous
        // pair.
        HeldCertificate third = leaf(root2, "spiffe://example.org/ns/ops/sa/dashboard");
        Pem.writeCertificates(mtls.certFile(), List.of(third.certificate()));
        // past the once-a-second check: the new pair would have been read by now
        org.awaitility.Awaitility.await()
                .during(Duration.ofMillis(1500))
                .atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(250))
                .until(() -> servedSerial(rotated).equals(second.certificate().getSerialNumber()));
    }

    private static HeldCertificate root(String cn) {
        return HeldCertificate.builder().commonName(cn).ca().build();
    }

    private static HeldCertificate leaf(HeldCertificate ca, String spiffeId) {
        return HeldCertificate.builder().spiffeId(spiffeId).signedBy(ca).build();
    }

    /**
     * Writes the dashboard's SVID, its key and the bundle ({@code root}) in {@code tmp}, as an
     * agent's {@code -write} does.
     */
    private DashboardServer.Mtls writeMtls(HeldCertificate root, HeldCertificate svid)
            throws IOException {
        Path cert = tmp.resolve("svid.pem");
        Path key = tmp.resolve("svid.key");
        Path bundle = tmp.resolve("bundle.pem");
        Pem.writeCertificates(cert, List.of(svid.certificate()));
        Pem.writePrivateKey(key, svid.privateKey());
        Pem.writeCertificates(bundle, List.of(root.certificate()));
        // A coarse file system clock may give a rewrite within the same tick the same time: make it
        // differ.
        java.nio.file.attribute.FileTime t =
                java.nio.file.attribute.FileTime.from(Instant.now().plusMillis(writes++ * 10));
        for (Path f : List.of(cert, key, bundle)) {
            java.nio.file.Files.setLastModifiedTime(f, t);
        }
        return new DashboardServer.Mtls(cert, key, bundle, List.of(SpiffeId.parse(ALLOWED)));
    }

    private int writes;

    /** The serial number of the certificate the dashboard presents in a fresh handshake. */
    private java.math.BigInteger servedSerial(SSLContext ctx) throws IOException {
        try (SSLSocket s =
                (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", server.port())) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            return ((java.security.cert.X509Certificate) s.getSession().getPeerCertificates()[0])
                    .getSerialNumber();
        }
    }

    /** An SSL context that trusts {@code root} and presents {@code svid} (none when null). */
    private static SSLContext client(HeldCertificate root, HeldCertificate svid) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("root", root.certificate());
        TrustManagerFactory tmf =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf =
                KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        if (svid != null) {
            keys.setKeyEntry(
                    "svid",
                    svid.privateKey(),
                    "pw".toCharArray(),
                    new Certificate[] {svid.certificate()});
        }
        kmf.init(keys, "pw".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    /**
     * GET /api/state over TLS; an IOException when the server refuses the handshake or closes
     * without an answer.
     */
    private String get(SSLContext ctx) throws IOException {
        try (SSLSocket s =
                (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", server.port())) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write(
                    "GET /api/state HTTP/1.1\r\nHost: dashboard\r\nConnection: close\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (answer.isEmpty()) {
                throw new IOException("closed without an answer");
            }
            return answer;
        }
    }
}
