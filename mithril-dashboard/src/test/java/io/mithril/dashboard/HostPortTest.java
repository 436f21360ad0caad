package io.mithril.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * One reading of HOST:PORT for the dashboard's address (-address) and the sources' admin endpoints.
 */
class HostPortTest {

    @Test
    void hostAndPortWithIpv6InBrackets() {
        assertThat(HostPort.parse("127.0.0.1:15100", "-address", true))
                .isEqualTo(new HostPort("127.0.0.1", 15100));
        assertThat(HostPort.parse("[::1]:15000", "x", false)).isEqualTo(new HostPort("::1", 15000));
        assertThat(HostPort.parse("[::1]:15000", "x", false).toString()).isEqualTo("[::1]:15000");
        assertThat(HostPort.parse("0.0.0.0:0", "-address", true).port()).isZero();
        assertThat(
                        HostPort.parse("localhost:1", "x", false)
                                .resolve("x")
                                .getAddress()
                                .isLoopbackAddress())
                .isTrue();
    }

    @Test
    void badValuesNameWhatTheyAreFor() {
        assertThatThrownBy(() -> HostPort.parse("15100", "-address", true))
                .hasMessage("-address must be HOST:PORT, got \"15100\"");
        assertThatThrownBy(() -> HostPort.parse("a:", "x", true))
                .hasMessageContaining("must be HOST:PORT");
        assertThatThrownBy(() -> HostPort.parse("a:0", "control plane admin address", false))
                .hasMessage("control plane admin address: port must be 1-65535, got \"a:0\"");
        assertThatThrownBy(() -> HostPort.parse("a:65536", "x", true))
                .hasMessageContaining("port must be 0-65535");
        assertThatThrownBy(() -> HostPort.parse("a:x", "x", true))
                .hasMessageContaining("port must be");
        assertThatThrownBy(() -> HostPort.parse("[::1:80", "x", true))
                .hasMessageContaining("in brackets");
        assertThatThrownBy(
                        () ->
                                HostPort.parse("no-such-host.invalid:80", "-address", true)
                                        .resolve("-address"))
                .hasMessageContaining("unknown host no-such-host.invalid");
    }

    @Test
    void sourcesUseIt() {
        assertThatThrownBy(() -> new Sources(Map.of(), "cp:0", List.of(), false))
                .hasMessage("control plane admin address: port must be 1-65535, got \"cp:0\"");
        assertThatThrownBy(() -> new Sources.ProxyAdmin("gw", null, "gw"))
                .hasMessage("proxy admin address of gw must be HOST:PORT, got \"gw\"");
    }
}
