package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.pki.Pem;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13 item 10 on the MUTUAL (CA file) listener of a gateway: a client certificate signed with
 * SHA-1, or with an RSA key of 1024 bits, issued by the very CA the gateway trusts, is refused in
 * the handshake; a SHA-256 RSA-2048 one passes. (ISTIO_MUTUAL applies the same rule through
 * X509SvidValidator: mithril-spiffe's WeakCryptoHandshakeTest.)
 */
class WeakClientCertificateTest {

    private static KeyPair keys(String alg) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance(alg.startsWith("RSA") ? "RSA" : "EC");
        if (alg.equals("RSA1024")) {
            g.initialize(1024);
        } else if (alg.equals("RSA2048")) {
            g.initialize(2048);
        } else {
            g.initialize(new ECGenParameterSpec("secp256r1"));
        }
        return g.generateKeyPair();
    }

    private static X509Certificate cert(
            String subject,
            java.security.PublicKey key,
            String issuer,
            PrivateKey signer,
            String sigAlg,
            boolean ca)
            throws Exception {
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder b =
                new JcaX509v3CertificateBuilder(
                        new X500Name(issuer),
                        BigInteger.valueOf(now.toEpochMilli()),
                        Date.from(now.minusSeconds(60)),
                        Date.from(now.plus(Duration.ofDays(1))),
                        new X500Name(subject),
                        key);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        b.addExtension(
                Extension.keyUsage,
                true,
                new KeyUsage(
                        ca
                                ? KeyUsage.keyCertSign | KeyUsage.cRLSign
                                : KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
        return new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder(sigAlg).build(signer)));
    }

    private static SSLContext client(X509Certificate leaf, PrivateKey key, X509Certificate ca)
            throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("c", key, new char[0], new Certificate[] {leaf});
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
        KeyPair caKeys = keys("EC");
        X509Certificate ca =
                cert(
                        "CN=client CA",
                        caKeys.getPublic(),
                        "CN=client CA",
                        caKeys.getPrivate(),
                        "SHA256withECDSA",
                        true);
        KeyPair serverKeys = keys("EC");
        X509Certificate server =
                cert(
                        "CN=files.example.org",
                        serverKeys.getPublic(),
                        "CN=client CA",
                        caKeys.getPrivate(),
                        "SHA256withECDSA",
                        false);
        Pem.writeCertificates(dir.resolve("server.pem"), List.of(server));
        Pem.writePrivateKey(dir.resolve("server.key"), serverKeys.getPrivate());
        Pem.writeCertificates(dir.resolve("ca.pem"), List.of(ca));

        KeyPair good = keys("RSA2048");
        KeyPair rsa1024 = keys("RSA1024");
        KeyPair sha1 = keys("RSA2048");
        X509Certificate goodCert =
                cert(
                        "CN=good",
                        good.getPublic(),
                        "CN=client CA",
                        caKeys.getPrivate(),
                        "SHA256withECDSA",
                        false);
        X509Certificate weakKeyCert =
                cert(
                        "CN=rsa1024",
                        rsa1024.getPublic(),
                        "CN=client CA",
                        caKeys.getPrivate(),
                        "SHA256withECDSA",
                        false);
        X509Certificate sha1Cert =
                cert(
                        "CN=sha1",
                        sha1.getPublic(),
                        "CN=client CA",
                        caKeys.getPrivate(),
                        "SHA1withECDSA",
                        false);

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
            assertThat(get(client(goodCert, good.getPrivate(), ca), port))
                    .startsWith("HTTP/1.1 200");
            assertThatThrownBy(() -> get(client(weakKeyCert, rsa1024.getPrivate(), ca), port))
                    .isInstanceOf(IOException.class);
            assertThatThrownBy(() -> get(client(sha1Cert, sha1.getPrivate(), ca), port))
                    .isInstanceOf(IOException.class);
            assertThat(app.requests.get()).isEqualTo(1);
        }
    }
}
