package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.pki.Pem;
import io.mithril.spiffe.testing.HeldCertificate;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13 item 10 on the MUTUAL (CA file) listener of a gateway: a client certificate signed with
 * SHA-1, or with an RSA key of 1024 bits, issued by the very CA the gateway trusts, is refused in
 * the handshake; a SHA-256 RSA-2048 one passes. (ISTIO_MUTUAL applies the same rule through
 * X509SvidValidator: mithril-spiffe's WeakCryptoHandshakeTest.)
 */
class WeakClientCertificateTest {

    private static HeldCertificate.Builder named(String subject) {
        return HeldCertificate.builder()
                .subject(new X500Principal(subject))
                .validFor(Duration.ofDays(1));
    }

    private static SSLContext client(HeldCertificate leaf, X509Certificate ca) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("c", leaf.privateKey(), new char[0], new Certificate[] {leaf.certificate()});
        KeyManagerFactory kmf =
                KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        ts.setCertificateEntry("ca", ca);
        TrustManagerFactory tmf =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
        return ctx;
    }

    private static String get(SSLContext ctx, int port) throws IOException {
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.getOutputStream()
                    .write(
                            "GET /x HTTP/1.1\r\nHost: files.example.org\r\nConnection: close\r\n\r\n"
                                    .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void mutualListenerRefusesSha1AndRsa1024ClientCertificatesFromItsOwnCa(@TempDir Path dir)
            throws Exception {
        HeldCertificate ca = named("CN=client CA").ca().build();
        HeldCertificate server = named("CN=files.example.org").signedBy(ca).build();
        Pem.writeCertificates(dir.resolve("server.pem"), List.of(server.certificate()));
        Pem.writePrivateKey(dir.resolve("server.key"), server.privateKey());
        Pem.writeCertificates(dir.resolve("ca.pem"), List.of(ca.certificate()));

        HeldCertificate good = named("CN=good").rsa2048().signedBy(ca).build();
        HeldCertificate weakKey = named("CN=rsa1024").rsa(1024).signedBy(ca).build();
        HeldCertificate sha1 =
                named("CN=sha1").rsa2048().signatureAlgorithm("SHA1withECDSA").signedBy(ca).build();

        String tls =
                "{mode: MUTUAL, serverCertificate: %s, privateKey: %s, caCertificates: %s}"
                        .formatted(
                                dir.resolve("server.pem"),
                                dir.resolve("server.key"),
                                dir.resolve("ca.pem"));
        try (TestBackend app = new TestBackend("files");
                Proxy gw =
                        MeshFixture.gateway(
                                new TestPki("example.org").identity(MeshFixture.GATEWAY_ID),
                                MeshFixture.parse(
                                        MeshFixture.gateway8080To(tls, "files"),
                                        RouteRulesTest.entry("files", app.port())))) {
            int port = gw.listenerAddress(8080).getPort();
            assertThat(get(client(good, ca.certificate()), port)).startsWith("HTTP/1.1 200");
            assertThatThrownBy(() -> get(client(weakKey, ca.certificate()), port))
                    .isInstanceOf(IOException.class);
            assertThatThrownBy(() -> get(client(sha1, ca.certificate()), port))
                    .isInstanceOf(IOException.class);
            assertThat(app.requests.get()).isEqualTo(1);
        }
    }
}
