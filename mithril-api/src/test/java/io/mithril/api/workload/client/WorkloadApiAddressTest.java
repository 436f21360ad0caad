package io.mithril.api.workload.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class WorkloadApiAddressTest {

    @Test
    void unixUriWithThreeSlashesNamesTheSocket() {
        assertThat(WorkloadApiAddress.parse("unix:///tmp/agent.sock").unixPath())
                .isEqualTo(Path.of("/tmp/agent.sock"));
    }

    @Test
    void unixUriWithOneSlashAsJavaSpiffeWritesItIsAccepted() {
        assertThat(WorkloadApiAddress.parse("unix:/tmp/agent.sock").unixPath())
                .isEqualTo(Path.of("/tmp/agent.sock"));
    }

    @Test
    void bareAbsolutePathIsAUnixSocket() {
        assertThat(WorkloadApiAddress.parse("/run/api.sock").unixPath())
                .isEqualTo(Path.of("/run/api.sock"));
    }

    @Test
    void tcpAddressHasHostAndPort() {
        WorkloadApiAddress a = WorkloadApiAddress.parse("tcp://127.0.0.1:8999");
        assertThat(a.isUnix()).isFalse();
        assertThat(a.tcpAddress().getPort()).isEqualTo(8999);
        assertThat(a.toString()).isEqualTo("tcp://127.0.0.1:8999");
    }

    @Test
    void unixUriWithHostIsRefused() {
        assertThatThrownBy(() -> WorkloadApiAddress.parse("unix://tmp/agent.sock"))
                .hasMessageContaining("unix:///absolute/path");
    }

    @Test
    void otherSchemeIsRefusedNamingTheAllowedOnes() {
        assertThatThrownBy(() -> WorkloadApiAddress.parse("http://x:1"))
                .hasMessageContaining("scheme must be unix or tcp");
    }

    @Test
    void tcpWithoutPortIsRefused() {
        assertThatThrownBy(() -> WorkloadApiAddress.parse("tcp://127.0.0.1"))
                .hasMessageContaining("tcp://<ip>:<port>");
    }
}
