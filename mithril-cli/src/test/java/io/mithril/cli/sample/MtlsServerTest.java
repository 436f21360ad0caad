package io.mithril.cli.sample;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.cli.controlplane.TestWorkloadApi;
import io.mithril.pki.KeyType;
import io.mithril.pki.Pem;
import io.mithril.spiffe.id.SpiffeId;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The external workload of {@code demo external}: its SVID from a Workload API, mTLS with the real
 * openssl as the client: the authorized ID gets an answer naming it; another ID of the same trust
 * domain, a forged SVID of the authorized ID and no certificate are refused in the handshake.
 */
class MtlsServerTest {

    static final SpiffeId SELF = SpiffeId.parse("spiffe://example.org/external/api");
    static final SpiffeId EGRESS =
            SpiffeId.parse(
                    "spiffe://example.org/ns/istio-system/sa/istio-egressgateway-service-account");
    static final SpiffeId SLEEP = SpiffeId.parse("spiffe://example.org/ns/default/sa/sleep");

    @Test
    void onlyTheAuthorizedSpiffeIdIsServed(@TempDir Path dir) throws Exception {
        TestWorkloadApi.Ca ca = new TestWorkloadApi.Ca("example.org");
        Path root = dir.resolve("root.pem");
        Pem.writeCertificates(root, List.of(ca.root));
        try (TestWorkloadApi api = new TestWorkloadApi(ca, SELF);
                MtlsServer server =
                        MtlsServer.start(
                                api.address(),
                                Duration.ofSeconds(30),
                                new InetSocketAddress("127.0.0.1", 0),
                                List.of(EGRESS))) {
            assertThat(server.spiffeId()).isEqualTo(SELF);
            int port = server.address().getPort();

            String ok = call(port, svid(ca, EGRESS, dir, "egress"), root);
            assertThat(ok).contains("HTTP/1.1 200", "external workload " + SELF, "peer: " + EGRESS);
            // The server's own certificate verified against the root (openssl's verdict).
            assertThat(ok).contains("Verify return code: 0 (ok)");

            assertThat(call(port, svid(ca, SLEEP, dir, "sleep"), root)).doesNotContain("HTTP/1.1");
            TestWorkloadApi.Ca forger = new TestWorkloadApi.Ca("example.org");
            assertThat(call(port, svid(forger, EGRESS, dir, "forged"), root))
                    .doesNotContain("HTTP/1.1");
            assertThat(call(port, null, root)).doesNotContain("HTTP/1.1");
        }
    }

    @Test
    void anEmptyListOfAuthorizedIdsIsRefused() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () ->
                                MtlsServer.start(
                                        "tcp://127.0.0.1:1",
                                        Duration.ofSeconds(1),
                                        new InetSocketAddress("127.0.0.1", 0),
                                        List.of()))
                .hasMessageContaining("authorized SPIFFE ID");
    }

    /** An SVID for {@code id} from {@code ca}: {cert, key} files. */
    private static Path[] svid(TestWorkloadApi.Ca ca, SpiffeId id, Path dir, String name) {
        KeyPair key = KeyType.EC_P256.generate();
        X509Certificate leaf =
                ca.minter.signX509Svid(
                        ca.authority, key.getPublic(), id, List.of(), Duration.ofHours(1));
        Path cert = dir.resolve(name + ".pem");
        Path keyFile = dir.resolve(name + ".key");
        Pem.writeCertificates(cert, List.of(leaf));
        Pem.writePrivateKey(keyFile, key.getPrivate());
        return new Path[] {cert, keyFile};
    }

    /** openssl s_client with {@code client} ({cert, key}, or none), one GET; all it printed. */
    private static String call(int port, Path[] client, Path root)
            throws IOException, InterruptedException {
        List<String> cmd =
                new java.util.ArrayList<>(
                        List.of(
                                "openssl",
                                "s_client",
                                "-connect",
                                "127.0.0.1:" + port,
                                "-CAfile",
                                root.toString(),
                                "-verify_return_error",
                                "-ign_eof"));
        if (client != null) {
            cmd.addAll(List.of("-cert", client[0].toString(), "-key", client[1].toString()));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream()
                .write(
                        "GET /hello HTTP/1.1\r\nHost: external.example.org\r\nConnection: close\r\n\r\n"
                                .getBytes(StandardCharsets.US_ASCII));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
