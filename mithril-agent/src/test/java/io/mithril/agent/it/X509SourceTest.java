package io.mithril.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.api.workload.client.X509Context;
import io.mithril.api.workload.client.X509Source;
import io.mithril.server.testing.ServerFixture;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.IdentitySource;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Mithril's own X509Source keeps the last context while the agent is away and reconnects when it is
 * back.
 */
class X509SourceTest {

    private ServerFixture server;
    private Path socket;
    private Agent agent;

    @BeforeEach
    void setUp() throws Exception {
        server = new ServerFixture();
        socket = Files.createDirectories(server.dir.resolve("sock")).resolve("api.sock");
        server.register("spiffe://example.org/source", 0, "unix:uid:0");
        agent = Agent.start(config(server.joinToken()));
    }

    private AgentConfig config(String token) throws Exception {
        return AgentConfig.of(
                        ServerFixture.TD,
                        server.dir.resolve("agent"),
                        "127.0.0.1",
                        server.port(),
                        socket,
                        server.bundlePem(),
                        token)
                .withSyncInterval(Duration.ofMillis(200));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (agent != null) {
            agent.close();
        }
        server.close();
    }

    @Test
    void identityViewGivesTheWantedSvidAndTheBundlesOfTheLatestContext() throws Exception {
        try (X509Source source = X509Source.start("unix://" + socket, Duration.ofSeconds(10))) {
            IdentitySource identity = source.identity(null);
            assertThat(identity.svid().spiffeId().toString())
                    .isEqualTo("spiffe://example.org/source");
            assertThat(identity.svid().chain()).isEqualTo(source.current().defaultSvid().chain());
            assertThat(identity.bundles().bundleFor(ServerFixture.TD).x509Authorities())
                    .containsExactlyElementsOf(source.current().bundles().get(ServerFixture.TD));
            assertThat(source.identity(SpiffeId.parse("spiffe://example.org/source")).svid())
                    .isNotNull();
            assertThat(source.identity(SpiffeId.parse("spiffe://example.org/other")).svid())
                    .as("an ID the agent does not send")
                    .isNull();
            assertThatThrownBy(() -> identity.bundles().bundleFor(TrustDomain.parse("domain.test")))
                    .isInstanceOf(BundleNotFoundException.class);
        }
    }

    @Test
    void sourceKeepsLastContextWhileAgentIsDownAndPicksUpTheRestartedAgent() throws Exception {
        try (X509Source source = X509Source.start("unix://" + socket, Duration.ofSeconds(10))) {
            BigInteger first = source.current().defaultSvid().leaf().getSerialNumber();
            BlockingQueue<X509Context> updates = new LinkedBlockingQueue<>();
            source.addListener(updates::add);
            assertThat(updates.poll(1, TimeUnit.SECONDS)).isNotNull(); // the current one, at once

            agent.close();
            agent = null;
            await().during(Duration.ofMillis(500))
                    .atMost(Duration.ofSeconds(5))
                    .until(
                            () ->
                                    source.current()
                                            .defaultSvid()
                                            .leaf()
                                            .getSerialNumber()
                                            .equals(first));

            agent = Agent.start(config(null)); // reuses its SVID; mints new workload SVIDs
            // Updates may also carry bundle changes with the old SVID; wait for the new SVID.
            X509Context after = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < deadline) {
                X509Context u = updates.poll(1, TimeUnit.SECONDS);
                if (u != null && !u.defaultSvid().leaf().getSerialNumber().equals(first)) {
                    after = u;
                    break;
                }
            }
            assertThat(after).as("an update from the restarted agent").isNotNull();
            assertThat(after.defaultSvid().spiffeId().toString())
                    .isEqualTo("spiffe://example.org/source");
            assertThat(after.defaultSvid().leaf().getSerialNumber()).isNotEqualTo(first);
            assertThat(source.current()).isSameAs(after);
        }
    }
}
