package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.api.observability.HealthChecksConfig;
import io.mithril.api.observability.TelemetryConfig;
import io.mithril.server.testing.ServerFixture;
import io.mithril.server.testing.TestAgent;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Prometheus /metrics and SPIRE's health_checks HTTP listener. */
class OperationsTest {

    @TempDir Path dir;

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static HttpResponse<String> get(String url) throws Exception {
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create(url)).build(),
                        HttpResponse.BodyHandlers.ofString());
    }

    private IdentityServer startWithMetrics() throws Exception {
        return IdentityServer.start(
                ServerFixture.config(dir, Clock.systemUTC())
                        .telemetry(new TelemetryConfig("127.0.0.1", freePort()))
                        .build());
    }

    @Test
    void metricsCountAttestationsAndSignedSvidsAndShowCaExpiry() throws Exception {
        try (IdentityServer server = startWithMetrics();
                TestAgent agent = ServerFixture.agent(server, Clock.systemUTC())) {
            agent.attestJoinToken(server.generateJoinToken(null, null));
            String body = get("http://127.0.0.1:" + server.metricsPort() + "/metrics").body();
            assertThat(body)
                    .contains(
                            "mithril_server_node_attestations_total{result=\"ok\",type=\"join_token\"} 1.0")
                    .contains("mithril_server_svids_signed_total{kind=\"agent\"} 1.0")
                    .containsPattern("mithril_server_x509_ca_expiry_unix_seconds [0-9.E]+");
        }
    }

    @Test
    void metricsShowTheAuthorisedEntriesCacheSizeAndRebuilds() throws Exception {
        try (IdentityServer server = startWithMetrics();
                TestAgent agent = ServerFixture.agent(server, Clock.systemUTC())) {
            // the token's alias entry and the agent both reach the cache through the write path
            agent.attestJoinToken(
                    server.generateJoinToken(
                            null,
                            io.mithril.spiffe.id.SpiffeId.parse("spiffe://example.org/node")));
            String body = get("http://127.0.0.1:" + server.metricsPort() + "/metrics").body();
            assertThat(body)
                    .contains("mithril_server_authorized_entries_cache_entries 1.0")
                    .contains("mithril_server_authorized_entries_cache_agents 1.0")
                    .contains("mithril_server_authorized_entries_cache_rebuilds_total 1.0");
        }
    }

    @Test
    void healthChecksListenerAnswersLiveAndReady() throws Exception {
        int port = freePort();
        try (IdentityServer server =
                IdentityServer.start(
                        ServerFixture.config(dir, Clock.systemUTC())
                                .healthChecks(
                                        new HealthChecksConfig(
                                                "127.0.0.1", port, "/live", "/ready"))
                                .build())) {
            assertThat(get("http://127.0.0.1:" + port + "/live").statusCode()).isEqualTo(200);
            HttpResponse<String> ready = get("http://127.0.0.1:" + port + "/ready");
            assertThat(ready.statusCode()).isEqualTo(200);
            assertThat(ready.body()).contains("\"ready\":true");
        }
    }
}
