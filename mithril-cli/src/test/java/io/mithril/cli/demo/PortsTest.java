package io.mithril.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PortsTest {

    @TempDir Path dir;

    @Test
    void aFreePreferredPortIsKeptAndATakenOneIsReplacedByAFreeOne() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            int busy = taken.getLocalPort();
            int free;
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
                free = probe.getLocalPort();
            }
            Ports ports = new Ports();
            assertThat(ports.pick("a", "127.0.0.1", free)).isEqualTo(free);
            int other = ports.pick("b", "127.0.0.1", busy);
            assertThat(other).isNotEqualTo(busy).isPositive();
            assertThat(Ports.free("127.0.0.1", other)).isTrue();
            assertThat(ports.chosen())
                    .containsEntry("a", "127.0.0.1:" + free)
                    .containsEntry("b", "127.0.0.1:" + other);
        }
    }

    @Test
    void aLoopbackBlockWithOneTakenPortIsSkipped() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getByName("127.0.77.2"), 0));
            int port = taken.getLocalPort();
            Ports ports = new Ports();
            assertThat(ports.loopbackBlock("workloads", 77, 3, List.of(port)))
                    .isEqualTo("127.0.78");
            assertThat(ports.loopbackBlock("again", 76, 1, List.of(port))).isEqualTo("127.0.76");
        }
    }

    @Test
    void theChoicesAreWrittenAsPropertiesWithoutEscapes() throws Exception {
        Ports ports = new Ports();
        ports.record("gateway", "127.0.0.1:8000");
        ports.record("controlplane.admin", "127.0.0.1:15014");
        ports.write(dir);
        String text = Files.readString(dir.resolve(Ports.FILE));
        assertThat(text).contains("gateway=127.0.0.1:8000\n").doesNotContain("\\:");
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(dir.resolve(Ports.FILE))) {
            p.load(in);
        }
        assertThat(p.getProperty("controlplane.admin")).isEqualTo("127.0.0.1:15014");
    }
}
