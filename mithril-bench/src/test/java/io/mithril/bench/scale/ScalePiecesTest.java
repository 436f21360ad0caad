package io.mithril.bench.scale;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.pki.KeyType;
import io.mithril.pki.X509Minter;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.config.ServerConfigParser;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The scale bench's pieces that can be wrong without a timing showing it. */
class ScalePiecesTest {

    @TempDir Path dir;

    static SimAgent agent(int index) {
        X509Certificate root =
                new X509Minter(Clock.systemUTC())
                        .selfSignedCa(
                                KeyType.EC_P256.generate(),
                                ScaleBench.TD,
                                Duration.ofHours(1),
                                null);
        return new SimAgent(
                index,
                new InetSocketAddress("127.0.0.1", 1),
                ScaleBench.TD,
                List.of(root),
                Clock.systemUTC());
    }

    @Test
    void propagationCountsFromTheEntrysCreationToItsFirstReceiptByItsAgent() {
        ScaleBench.Propagation p = new ScaleBench.Propagation();
        SimAgent a3 = agent(3);
        SimAgent a4 = agent(4);
        p.started("e1", 3, 1_000);
        p.started("e2", 3, 2_000);
        assertThat(p.delays()).isEmpty(); // nothing received yet: no figure
        p.received(a3, "e1", null, 5_000);
        p.received(a3, "e1", null, 9_000); // a renewal later is not the propagation
        p.received(a4, "e2", null, 2_500); // the wrong agent: counted as such
        p.received(a3, "untimed", null, 3_000); // an entry made before the window: not timed
        assertThat(p.createdCount()).isEqualTo(2);
        assertThat(p.receivedCount()).isEqualTo(2);
        assertThat(p.delays()).containsExactlyInAnyOrder(4_000L, 500L);
        assertThat(p.wrongAgent()).isEqualTo(1);
        assertThat(p.isFor("e1", 3)).isTrue();
        assertThat(p.isFor("e1", 4)).isFalse();
    }

    @Test
    void prometheusSamplesAreReadByExactSeries() {
        String text =
                "# HELP mithril_server_svids_signed_total SVIDs signed\n"
                        + "mithril_server_svids_signed_total{kind=\"agent\"} 7.0\n"
                        + "mithril_server_svids_signed_total{kind=\"x509\"} 1234.0\n";
        assertThat(ServerProcess.metric(text, "mithril_server_svids_signed_total{kind=\"x509\"}"))
                .isEqualTo(1234.0);
        assertThat(ServerProcess.metric(text, "mithril_server_svids_signed_total{kind=\"jwt\"}"))
                .isZero();
    }

    @Test
    void theServerConfIsWhatTheServerParses() throws Exception {
        String conf =
                ServerProcess.serverConf(
                        dir,
                        8081,
                        9988,
                        "postgres://postgres@127.0.0.1:5432/db?sslmode=disable",
                        dir.resolve("ca.pem"),
                        dir.resolve("ca.key"),
                        Duration.ofSeconds(120));
        ServerConfig c = ServerConfigParser.parse(conf, "server.conf");
        assertThat(c.bindPort()).isEqualTo(8081);
        assertThat(c.defaultX509SvidTtl()).isEqualTo(Duration.ofSeconds(120));
        assertThat(c.agentTtl()).isEqualTo(ServerProcess.MIN_AGENT_TTL);
        assertThat(c.dataStore().databaseType()).isEqualTo("postgres");
        assertThat(c.telemetry().port()).isEqualTo(9988);
    }

    @Test
    void haproxyAcceptsItsConfiguration() throws Exception {
        Path haproxy = Haproxy.find().orElse(null);
        Assumptions.assumeTrue(
                haproxy != null, "haproxy not installed (Debian: apt-get install haproxy)");
        Path cfg = dir.resolve("haproxy.cfg");
        Files.writeString(
                cfg,
                Haproxy.config(
                        40000,
                        List.of(
                                new InetSocketAddress("127.0.0.1", 40001),
                                new InetSocketAddress("127.0.0.1", 40002))));
        Process p =
                new ProcessBuilder(haproxy.toString(), "-c", "-f", cfg.toString())
                        .redirectErrorStream(true)
                        .start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(Files.readString(cfg))
                .contains(
                        "mode tcp",
                        "option redispatch",
                        "server s1 127.0.0.1:40001 check",
                        "server s2 127.0.0.1:40002 check");
    }
}
