package io.mithril.bench.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class FixedRateLoadTest {

    private static InputStream of(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void readsContentLengthResponsesBackToBack() throws Exception {
        InputStream in =
                of(
                        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        assertThat(FixedRateLoad.readResponse(in)).isEqualTo(200);
        assertThat(FixedRateLoad.readResponse(in)).isEqualTo(404);
        assertThat(in.read()).isEqualTo(-1);
    }

    @Test
    void readsChunkedResponses() throws Exception {
        InputStream in =
                of(
                        "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\n\r\nX");
        assertThat(FixedRateLoad.readResponse(in)).isEqualTo(503);
        assertThat(in.read()).isEqualTo('X');
    }

    @Test
    void refusesWhatIsNotHttpAndTruncatedBodies() {
        assertThatThrownBy(() -> FixedRateLoad.readResponse(of("SSH-2.0-OpenSSH\r\n")))
                .hasMessageContaining("SSH-2.0-OpenSSH");
        assertThatThrownBy(
                        () ->
                                FixedRateLoad.readResponse(
                                        of("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")))
                .isInstanceOf(IOException.class);
    }

    @Test
    void loadAgainstTheBenchBackendSendsEveryRequestAndCountsOnlyMtlsOnes() throws Exception {
        try (TinyBackend backend = new TinyBackend()) {
            FixedRateLoad.Result r =
                    FixedRateLoad.run(
                            new InetSocketAddress(InetAddress.getLoopbackAddress(), backend.port()),
                            "/x",
                            "localhost",
                            200,
                            2,
                            Duration.ofMillis(500));
            assertThat(r.latencies().count()).isEqualTo(100);
            assertThat(r.errors()).isZero();
            assertThat(backend.requestsWithXfcc()).isZero();
        }
    }
}
