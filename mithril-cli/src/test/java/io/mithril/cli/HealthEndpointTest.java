package io.mithril.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The readiness endpoint over a real socket: the check's answer, and nothing but its path. */
class HealthEndpointTest {

    @Test
    void answersReadyOrTheReasonAndNothingElse() throws Exception {
        AtomicReference<String> why = new AtomicReference<>("no SVID yet");
        try (HealthEndpoint e =
                HealthEndpoint.start(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        Map.of("/healthz/ready", why::get))) {
            HttpClient http = HttpClient.newHttpClient();
            URI ready = URI.create("http://127.0.0.1:" + e.address().getPort() + "/healthz/ready");
            HttpResponse<String> r =
                    http.send(
                            HttpRequest.newBuilder(ready).build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(r.body()).isEqualTo("not ready: no SVID yet\n");
            why.set("");
            r =
                    http.send(
                            HttpRequest.newBuilder(ready).build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("ready\n");
            assertThat(
                            http.send(
                                            HttpRequest.newBuilder(ready.resolve("/config_dump"))
                                                    .build(),
                                            HttpResponse.BodyHandlers.ofString())
                                    .statusCode())
                    .isEqualTo(404);
            assertThat(
                            http.send(
                                            HttpRequest.newBuilder(ready)
                                                    .POST(HttpRequest.BodyPublishers.noBody())
                                                    .build(),
                                            HttpResponse.BodyHandlers.ofString())
                                    .statusCode())
                    .isEqualTo(405);
        }
    }
}
