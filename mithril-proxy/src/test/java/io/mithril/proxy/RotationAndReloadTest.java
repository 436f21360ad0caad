package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.mesh.config.ProxyNode;
import io.mithril.proxy.config.ConfigDirectoryWatcher;
import io.mithril.proxy.identity.Identity;
import io.mithril.proxy.identity.StaticIdentitySource;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SVID rotation under an open keep-alive connection, and configuration reload from a directory. */
class RotationAndReloadTest {

    static SSLContext clientContext(Identity client, X509Certificate root) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry(
                "svid",
                client.privateKey(),
                new char[0],
                client.chain().toArray(X509Certificate[]::new));
        KeyManagerFactory kmf =
                KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        ts.setCertificateEntry("root", root);
        TrustManagerFactory tmf =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    /** Sends a keep-alive GET on the socket and returns the status line. */
    static String get(SSLSocket s, String path) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(
                ("GET " + path + " HTTP/1.1\r\nHost: app.example.org\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("connection closed after " + head);
            }
            head.write(c);
        }
        String headers = head.toString(StandardCharsets.US_ASCII);
        int length = 0;
        for (String line : headers.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        in.readNBytes(length);
        return headers.substring(0, headers.indexOf("\r\n"));
    }

    static BigInteger serverSerial(SSLSocket s) throws Exception {
        return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
    }

    @Test
    void rotationKeepsTheOpenConnectionAndNewHandshakesGetTheNewSvid() throws Exception {
        TestPki pki = new TestPki("example.org");
        try (TestBackend app = new TestBackend("productpage")) {
            StaticIdentitySource gwIdentity =
                    new StaticIdentitySource(pki.identity(MeshFixture.GATEWAY_ID));
            String yaml =
                    MeshFixture.SEED.replace(
                                    "host: \"*.svc.cluster.local\"", "host: \"*.nothing.local\"")
                            + "---\n"
                            + MeshFixture.productpageEntry(app.port(), "bookinfo-productpage");
            try (Proxy gw =
                    Proxy.start(
                            ProxySettings.of(
                                    ProxyNode.gateway(
                                            "istio-system",
                                            Map.of("istio", "ingressgateway"),
                                            "example.org"),
                                    Map.of(8080, new InetSocketAddress("127.0.0.1", 0)),
                                    null),
                            gwIdentity)) {
                gw.apply(MeshFixture.parse(yaml));
                int port = gw.listenerAddress(8080).getPort();
                SSLContext ctx = clientContext(pki.identity(MeshFixture.SLEEP_ID), pki.root);
                try (SSLSocket before =
                        (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
                    before.setEnabledProtocols(new String[] {"TLSv1.2"});
                    assertThat(get(before, "/productpage")).isEqualTo("HTTP/1.1 200 OK");
                    BigInteger oldSerial = serverSerial(before);

                    Identity rotated = pki.identity(MeshFixture.GATEWAY_ID);
                    gwIdentity.update(rotated);

                    assertThat(get(before, "/productpage"))
                            .as("the open connection survives")
                            .isEqualTo("HTTP/1.1 200 OK");
                    assertThat(serverSerial(before)).isEqualTo(oldSerial);
                    try (SSLSocket after =
                            (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
                        assertThat(get(after, "/productpage")).isEqualTo("HTTP/1.1 200 OK");
                        assertThat(serverSerial(after))
                                .isEqualTo(rotated.leaf().getSerialNumber())
                                .isNotEqualTo(oldSerial);
                    }
                }
            }
        }
    }

    @Test
    void aBadFileInTheConfigDirectoryKeepsTheLastGoodConfigurationServing(@TempDir Path dir)
            throws Exception {
        TestPki pki = new TestPki("example.org");
        try (TestBackend app = new TestBackend("a")) {
            Files.writeString(
                    dir.resolve("mesh.yaml"),
                    RouteRulesTest.entry("a", app.port())
                            + """
                    apiVersion: networking.istio.io/v1
                    kind: Gateway
                    metadata: {name: gw, namespace: istio-system}
                    spec:
                      selector: {istio: ingressgateway}
                      servers: [{port: {number: 8081, name: http, protocol: HTTP}, hosts: ["*"]}]
                    ---
                    apiVersion: networking.istio.io/v1
                    kind: VirtualService
                    metadata: {name: vs, namespace: istio-system}
                    spec:
                      hosts: ["*"]
                      gateways: [gw]
                      http: [{route: [{destination: {host: a.default.svc.cluster.local}}]}]
                    """);
            try (Proxy gw =
                            Proxy.start(
                                    ProxySettings.of(
                                            ProxyNode.gateway(
                                                    "istio-system",
                                                    Map.of("istio", "ingressgateway"),
                                                    "example.org"),
                                            Map.of(8081, new InetSocketAddress("127.0.0.1", 0)),
                                            null),
                                    new StaticIdentitySource(
                                            pki.identity(MeshFixture.GATEWAY_ID)));
                    ConfigDirectoryWatcher w =
                            ConfigDirectoryWatcher.start(dir, Duration.ofMillis(100), gw::apply)) {
                assertThat(w.loadedOnce()).isTrue();
                String url = "http://127.0.0.1:" + gw.listenerAddress(8081).getPort() + "/x";
                assertThat(Processes.curl(url).body()).contains("backend=a");
                long version = gw.snapshot().version();

                Files.writeString(
                        dir.resolve("broken.yaml"),
                        """
                        apiVersion: networking.istio.io/v1
                        kind: VirtualService
                        metadata: {name: broken, namespace: istio-system}
                        spec: {hosts: ["*"], gateways: [gw], http: [{route: [{destination: {port: {number: 1}}}]}]}
                        """);
                Thread.sleep(600);
                assertThat(gw.snapshot().version()).as("nothing applied").isEqualTo(version);
                assertThat(Processes.curl(url).body()).contains("backend=a");

                Files.writeString(
                        dir.resolve("broken.yaml"),
                        """
                        apiVersion: networking.istio.io/v1
                        kind: VirtualService
                        metadata: {name: broken, namespace: istio-system}
                        spec:
                          hosts: [teapot.example]
                          gateways: [gw]
                          http: [{directResponse: {status: 418}}]
                        """);
                for (int i = 0; i < 100 && gw.snapshot().version() == version; i++) {
                    Thread.sleep(50);
                }
                assertThat(Processes.curl("-H", "Host: teapot.example", url).status())
                        .isEqualTo(418);
                assertThat(Processes.curl(url).body()).contains("backend=a");
            }
        }
    }
}
