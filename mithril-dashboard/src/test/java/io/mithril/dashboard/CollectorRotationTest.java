package io.mithril.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.mithril.server.IdentityServer;
import io.mithril.server.config.ServerConfig;
import io.mithril.spiffe.id.TrustDomain;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The timeline's CA slots from a real identity server whose clock the test moves: active, then
 * prepared, then after the activation the replaced CA and JWT key as "old", and the rotation event.
 */
class CollectorRotationTest {

    @TempDir Path dir;

    @Test
    void theTimelineShowsActivePreparedThenOldAfterTheRotation() throws Exception {
        // A clock the test moves forward; the server and the collector both read it.
        AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
        Clock clock = ((InstantSource) now::get).withZone(ZoneOffset.UTC);
        ServerConfig config =
                ServerConfig.builder(TrustDomain.parse("example.org"), dir)
                        .bindAddress("127.0.0.1")
                        .bindPort(0)
                        .socketPath(dir.resolve("private/api.sock"))
                        .rotationCheckInterval(Duration.ofHours(1))
                        .caTtl(Duration.ofHours(6))
                        .clock(clock)
                        .build();
        try (IdentityServer server = IdentityServer.start(config);
                Collector collector =
                        new Collector(
                                new Sources(
                                        Map.of("cluster1", server.adminSocketPath()),
                                        null,
                                        List.of(),
                                        false),
                                clock,
                                Duration.ofSeconds(1))) {
            collector.poll();
            assertThat(slots(collector, "authorities")).containsExactly("active");
            assertThat(slots(collector, "jwtAuthorities")).containsExactly("active");
            String firstSerial =
                    cluster(collector).path("authorities").get(0).path("serial").asText();

            now.updateAndGet(t -> t.plus(Duration.ofHours(3).plusMinutes(1)));
            server.caManager().rotate();
            collector.poll();
            assertThat(slots(collector, "authorities")).containsExactly("active", "prepared");
            assertThat(slots(collector, "jwtAuthorities")).containsExactly("active", "prepared");

            now.updateAndGet(t -> t.plus(Duration.ofHours(2)));
            server.caManager().rotate();
            collector.poll();
            assertThat(slots(collector, "authorities")).containsExactly("active", "old");
            assertThat(slots(collector, "jwtAuthorities")).containsExactly("active", "old");
            JsonNode old = cluster(collector).path("authorities").get(1);
            assertThat(old.path("serial").asText()).isEqualTo(firstSerial);
            // both roots (the old CA is self-signed here) are in the trust domain's bundle
            JsonNode state = Collector.JSON.readTree(collector.stateJson());
            assertThat(state.path("trustDomains").get(0).path("roots")).hasSize(2);
            assertThat(state.path("events").toString())
                    .contains("ca-rotated")
                    .contains("the previous one is kept as old until it expires");
        }
    }

    private static JsonNode cluster(Collector collector) throws Exception {
        return Collector.JSON
                .readTree(collector.stateJson())
                .path("trustDomains")
                .get(0)
                .path("clusters")
                .get(0);
    }

    private static List<String> slots(Collector collector, String field) throws Exception {
        List<String> out = new ArrayList<>();
        cluster(collector).path(field).forEach(a -> out.add(a.path("slot").asText()));
        return out;
    }
}
