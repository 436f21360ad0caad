package io.mithril.spiffe.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509Svid;
import io.mithril.spiffe.testing.TestCerts;
import io.mithril.spiffe.testing.TestCerts.Issued;
import io.mithril.spiffe.testing.TestCerts.Spec;
import java.io.IOException;
import java.net.InetAddress;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, item 10: a client presenting a certificate signed with SHA-1, with an RSA key under
 * 2048 bits, or under a SHA-1-signed intermediate, is refused by {@link SpiffeTrustManager} in a
 * real TLS handshake (JDK TLS on loopback sockets); SHA-256 with RSA-2048 and ECDSA P-256 pass.
 */
class WeakCryptoHandshakeTest {

    static final TrustDomain TD = TrustDomain.parse("example.org");
    static final SpiffeId SERVER = SpiffeId.parse("spiffe://example.org/ns/istio-system/sa/istiod");
    static final String CLIENT = "spiffe://example.org/ns/default/sa/client";

    final Issued root = TestCerts.root("root", TestCerts.rsa(2048), "spiffe://example.org");
    final X509BundleSet bundles = X509BundleSet.of(X509Bundle.of(TD, List.of(root.cert())));
    final X509Svid server = svid(root.issue(Spec.leaf(SERVER.toString())));

    static X509Svid svid(Issued leaf, X509Certificate... intermediates) {
        List<X509Certificate> chain = new ArrayList<>(List.of(leaf.cert()));
        chain.addAll(List.of(intermediates));
        return X509Svid.of(chain, leaf.privateKey());
    }

    static Spec client(String cn) {
        Spec s = Spec.leaf(CLIENT);
        s.cn = cn;
        return s;
    }

    /** What the server saw: the client's SPIFFE ID, or the refusal. */
    record Outcome(SpiffeId accepted, List<String> refusals, Throwable serverError) {}

    /**
     * One mutual TLS handshake over loopback: the server requires a client SVID and checks it with
     * SpiffeTrustManager.
     */
    Outcome handshake(X509Svid clientSvid) throws Exception {
        List<String> refusals = java.util.Collections.synchronizedList(new ArrayList<>());
        SpiffeTrustManager serverCheck =
                new SpiffeTrustManager(bundles, SpiffeIdAuthorizer.memberOf(TD))
                        .withRefusalListener((peer, reason) -> refusals.add(reason.getMessage()));
        SSLContext serverCtx = SSLContext.getInstance("TLS");
        serverCtx.init(
                new KeyManager[] {new SpiffeKeyManager(() -> server)},
                new TrustManager[] {serverCheck},
                null);
        SSLContext clientCtx = SSLContext.getInstance("TLS");
        clientCtx.init(
                new KeyManager[] {new SpiffeKeyManager(() -> clientSvid)},
                new TrustManager[] {
                    new SpiffeTrustManager(bundles, SpiffeIdAuthorizer.exactly(SERVER))
                },
                null);
        try (SSLServerSocket listener =
                (SSLServerSocket)
                        serverCtx
                                .getServerSocketFactory()
                                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            listener.setNeedClientAuth(true);
            CompletableFuture<SpiffeId> served =
                    CompletableFuture.supplyAsync(
                            () -> {
                                try (SSLSocket s = (SSLSocket) listener.accept()) {
                                    s.setSoTimeout(10_000);
                                    s.startHandshake();
                                    X509Certificate leaf =
                                            (X509Certificate)
                                                    s.getSession().getPeerCertificates()[0];
                                    s.getOutputStream().write('k');
                                    s.getOutputStream().flush();
                                    return io.mithril.spiffe.svid.X509SvidValidator.leafId(leaf);
                                } catch (IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                            });
            try (SSLSocket c =
                    (SSLSocket)
                            clientCtx
                                    .getSocketFactory()
                                    .createSocket(
                                            InetAddress.getLoopbackAddress(),
                                            listener.getLocalPort())) {
                c.setSoTimeout(10_000);
                c.startHandshake();
                c.getInputStream()
                        .read(); // TLS 1.3: the server's verdict on the client certificate arrives
                // after the client's Finished
            } catch (IOException expectedWhenRefused) {
                // the server's alert; the outcome says why
            }
            try {
                return new Outcome(served.get(15, TimeUnit.SECONDS), List.copyOf(refusals), null);
            } catch (java.util.concurrent.ExecutionException e) {
                return new Outcome(null, List.copyOf(refusals), e.getCause());
            }
        }
    }

    void assertRefused(Outcome o, String... inMessage) {
        assertThat(o.accepted()).as("the handshake must fail").isNull();
        assertThat(o.serverError()).isNotNull();
        assertThat(o.refusals()).hasSize(1);
        assertThat(o.refusals().get(0))
                .startsWith(
                        "client certificate is not a valid X509-SVID: certificate chain of \""
                                + CLIENT
                                + "\" is refused: ")
                .contains(inMessage);
    }

    @Test
    void sha1SignedLeafIsRefusedInTheHandshake() throws Exception {
        Issued leaf = root.issue(client("sha1-leaf"), TestCerts.ec256(), "SHA1withRSA");
        assertRefused(
                handshake(svid(leaf)),
                "leaf certificate (subject \"CN=sha1-leaf,O=Mithril test\") is signed with SHA1withRSA");
    }

    @Test
    void rsa1024LeafIsRefusedInTheHandshake() throws Exception {
        Issued leaf = root.issue(client("rsa1024-leaf"), TestCerts.rsa(1024));
        assertRefused(
                handshake(svid(leaf)),
                "leaf certificate (subject \"CN=rsa1024-leaf,O=Mithril test\") has an RSA key of 1024 bits");
    }

    @Test
    void leafUnderASha1SignedIntermediateIsRefusedInTheHandshake() throws Exception {
        KeyPair caKeys = TestCerts.rsa(2048);
        Issued intermediate =
                root.issue(
                        Spec.ca("sha1-intermediate", "spiffe://example.org"),
                        caKeys,
                        "SHA1withRSA");
        Issued leaf = intermediate.issue(client("leaf"));
        assertRefused(
                handshake(svid(leaf, intermediate.cert())),
                "intermediate certificate 1 (subject \"CN=sha1-intermediate,O=Mithril test\") is signed with SHA1withRSA");
    }

    @Test
    void sha256WithRsa2048AndEcdsaP256StillPass() throws Exception {
        Outcome rsa = handshake(svid(root.issue(client("rsa2048"), TestCerts.rsa(2048))));
        assertThat(rsa.refusals()).isEmpty();
        assertThat(rsa.accepted()).isEqualTo(SpiffeId.parse(CLIENT));

        Issued intermediate =
                root.issue(Spec.ca("intermediate", "spiffe://example.org"), TestCerts.ec256());
        Outcome ec = handshake(svid(intermediate.issue(client("p256")), intermediate.cert()));
        assertThat(ec.refusals()).isEmpty();
        assertThat(ec.accepted()).isEqualTo(SpiffeId.parse(CLIENT));
    }
}
