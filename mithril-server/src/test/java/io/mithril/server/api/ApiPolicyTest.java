package io.mithril.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mithril.api.admin.CountEntriesRequest;
import io.mithril.api.agent.BatchNewX509SVIDRequest;
import io.mithril.api.agent.NewX509SVIDParams;
import io.mithril.server.IdentityServer;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.config.ApiPolicy;
import io.mithril.server.testing.MutableClock;
import io.mithril.server.testing.ServerFixture;
import io.mithril.server.testing.TestAgent;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * SPIRE's {@code ratelimit} and {@code audit_log_enabled} on a real server: attestations from one
 * IP are held to one a second, a batch over the signing burst is refused, and every admin call
 * leaves one audit line.
 */
class ApiPolicyTest {

    @TempDir Path dir;
    final MutableClock clock = MutableClock.startingNow();
    IdentityServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private IdentityServer start(ApiPolicy policy) throws Exception {
        server = IdentityServer.start(ServerFixture.config(dir, clock).api(policy).build());
        return server;
    }

    @Test
    void attestationsFromOneAddressAreHeldToOneASecond() throws Exception {
        start(ApiPolicy.SPIRE_DEFAULTS);
        long start = System.nanoTime();
        for (int i = 0; i < 3; i++) {
            try (TestAgent agent = ServerFixture.agent(server, clock)) {
                agent.attestJoinToken(server.generateJoinToken(Duration.ofMinutes(10), null));
            }
        }
        // The first is free; the second and third wait one second each (never less).
        assertThat(Duration.ofNanos(System.nanoTime() - start))
                .isGreaterThanOrEqualTo(Duration.ofMillis(1900));
    }

    @Test
    void withoutTheLimitAttestationsDoNotWaitForEachOther() throws Exception {
        start(ApiPolicy.UNLIMITED);
        for (int i = 0; i < 3; i++) {
            try (TestAgent agent = ServerFixture.agent(server, clock)) {
                assertThat(
                                agent.attestJoinToken(
                                        server.generateJoinToken(Duration.ofMinutes(10), null)))
                        .isNotNull();
            }
        }
    }

    @Test
    void aBatchOverTheSigningBurstIsRefusedBeforeAnythingIsSigned() throws Exception {
        start(ApiPolicy.SPIRE_DEFAULTS);
        try (TestAgent agent = ServerFixture.agent(server, clock)) {
            agent.attestJoinToken(server.generateJoinToken(Duration.ofMinutes(10), null));
            BatchNewX509SVIDRequest.Builder batch = BatchNewX509SVIDRequest.newBuilder();
            for (int i = 0; i <= ApiPolicy.SIGNATURES_PER_IP; i++) {
                batch.addParams(NewX509SVIDParams.newBuilder().setEntryId("e" + i));
            }
            assertThatThrownBy(() -> agent.stub().batchNewX509SVID(batch.build()))
                    .isInstanceOf(StatusRuntimeException.class)
                    .satisfies(
                            e ->
                                    assertThat(((StatusRuntimeException) e).getStatus().getCode())
                                            .isEqualTo(Status.Code.RESOURCE_EXHAUSTED))
                    .hasMessageContaining("exceed the burst");
        }
    }

    @Test
    void everyAdminCallLeavesOneAuditLineWhenEnabled() throws Exception {
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        ch.qos.logback.classic.Logger audit =
                (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(AuditLogInterceptor.LOGGER);
        audit.addAppender(lines);
        try {
            start(new ApiPolicy(false, false, true, ApiPolicy.DEFAULT_CACHE_RELOAD_INTERVAL));
            try (AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
                admin.admin().countEntries(CountEntriesRequest.getDefaultInstance());
            }
        } finally {
            audit.detachAppender(lines);
        }
        assertThat(lines.list)
                .extracting(ILoggingEvent::getFormattedMessage)
                .anySatisfy(
                        line ->
                                assertThat(line)
                                        .startsWith("type=audit request_id=")
                                        .contains(
                                                "method=mithril.admin.v1.AdminService/CountEntries")
                                        .contains("status=success status_code=OK"));
    }

    @Test
    void noAuditLinesWhenDisabled() throws Exception {
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        ch.qos.logback.classic.Logger audit =
                (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(AuditLogInterceptor.LOGGER);
        audit.addAppender(lines);
        try {
            start(ApiPolicy.UNLIMITED);
            try (AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
                admin.admin().countEntries(CountEntriesRequest.getDefaultInstance());
            }
        } finally {
            audit.detachAppender(lines);
        }
        assertThat(lines.list).isEmpty();
    }
}
