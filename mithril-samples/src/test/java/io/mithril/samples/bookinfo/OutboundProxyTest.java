package io.mithril.samples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OutboundProxyTest {

    @Test
    void explicitProxyWinsOverEnvironment() {
        assertThat(
                        OutboundProxy.resolve(
                                "http://127.0.0.1:15001", Map.of("http_proxy", "http://other:1")))
                .contains(new OutboundProxy("127.0.0.1", 15001, List.of()));
    }

    @Test
    void httpProxyVariableIsUsedWithNoProxy() {
        OutboundProxy p =
                OutboundProxy.resolve(
                                null,
                                Map.of(
                                        "http_proxy",
                                        "http://sidecar:15001/",
                                        "no_proxy",
                                        "localhost,.internal"))
                        .orElseThrow();
        assertThat(p.host()).isEqualTo("sidecar");
        assertThat(p.port()).isEqualTo(15001);
        assertThat(p.bypasses("localhost")).isTrue();
        assertThat(p.bypasses("db.internal")).isTrue();
        assertThat(p.bypasses("details")).isFalse();
    }

    @Test
    void upperCaseVariableAndCurlDefaultPort() {
        assertThat(OutboundProxy.resolve("", Map.of("HTTP_PROXY", "proxyhost")))
                .contains(new OutboundProxy("proxyhost", 1080, List.of()));
    }

    @Test
    void noProxyConfiguredMeansDirect() {
        assertThat(OutboundProxy.resolve(null, Map.of())).isEmpty();
    }

    @Test
    void httpsProxyIsRejectedWithTheValue() {
        assertThatThrownBy(() -> OutboundProxy.resolve("https://p:1", Map.of()))
                .hasMessage(
                        "-proxy \"https://p:1\" is not an HTTP proxy URL; write http://host:port");
    }
}
