package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.testing.ForeignUid;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.api.workload.client.X509Context;
import io.mithril.api.workload.client.X509ContextFiles;
import io.mithril.pki.Pem;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.testing.ServerFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The seed's shape: the server's CA is an intermediate signed by an upstream CA on disk (made here
 * by openssl). Workloads get leaf + intermediate; the bundle is the upstream root; the written
 * files verify with {@code openssl verify -untrusted}.
 */
class UpstreamChainTest {

    private Path upstream;
    private ServerFixture server;
    private Agent agent;

    @BeforeEach
    void setUp() throws Exception {
        upstream = Files.createTempDirectory("mithril-upstream-");
        Process p =
                new ProcessBuilder(
                                "openssl",
                                "req",
                                "-x509",
                                "-newkey",
                                "ec",
                                "-pkeyopt",
                                "ec_paramgen_curve:P-256",
                                "-nodes",
                                "-keyout",
                                "upstream-ca.key",
                                "-out",
                                "upstream-ca.pem",
                                "-subj",
                                "/O=Mithril/CN=Upstream CA",
                                "-days",
                                "2")
                        .directory(upstream.toFile())
                        .redirectErrorStream(true)
                        .start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        server =
                new ServerFixture(
                        null,
                        b ->
                                b.upstream(
                                        new ServerConfig.DiskUpstreamConfig(
                                                upstream.resolve("upstream-ca.pem"),
                                                upstream.resolve("upstream-ca.key"),
                                                null)));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (agent != null) {
            agent.close();
        }
        server.close();
        ForeignUid.run(List.of("rm", "-rf", upstream.toString()));
    }

    @Test
    void svidChainsThroughTheServerIntermediateToTheUpstreamRootAndVerifiesWithOpenssl()
            throws Exception {
        server.register("spiffe://example.org/ns/default/sa/sleep", 0, "unix:uid:0");
        Path socket = Files.createDirectories(server.dir.resolve("sock")).resolve("api.sock");
        agent =
                Agent.start(
                        AgentConfig.of(
                                        ServerFixture.TD,
                                        server.dir.resolve("agent"),
                                        "127.0.0.1",
                                        server.port(),
                                        socket,
                                        upstream.resolve("upstream-ca.pem"),
                                        server.joinToken())
                                .withSyncInterval(Duration.ofMillis(200)));
        X509Context ctx;
        try (WorkloadApiClient c = WorkloadApiClient.connect("unix://" + socket)) {
            ctx = c.fetchX509Context(Duration.ofSeconds(10));
        }
        assertThat(ctx.defaultSvid().chain()).hasSize(2);
        assertThat(ctx.defaultSvid().bundle())
                .containsExactly(Pem.readCertificate(upstream.resolve("upstream-ca.pem")));

        Path out = server.dir.resolve("out");
        X509ContextFiles.write(ctx, out);
        Path intermediates = out.resolve("intermediates.pem");
        Files.writeString(
                intermediates, X509ContextFiles.certificatesPem(ctx.defaultSvid().intermediates()));
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                "openssl",
                                "verify",
                                "-CAfile",
                                out.resolve("bundle.0.pem").toString(),
                                "-untrusted",
                                intermediates.toString(),
                                out.resolve("svid.0.pem").toString()));
        ForeignUid.Result r = ForeignUid.run(cmd);
        assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
        assertThat(r.stdout()).contains("svid.0.pem: OK");
        // svid.0.pem holds the leaf then the intermediate, in that order.
        List<java.security.cert.X509Certificate> written =
                Pem.readCertificates(out.resolve("svid.0.pem"));
        assertThat(written).containsExactlyElementsOf(ctx.defaultSvid().chain());
    }
}
