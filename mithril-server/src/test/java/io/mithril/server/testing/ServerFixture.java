package io.mithril.server.testing;

import static org.awaitility.Awaitility.await;

import io.mithril.api.selector.Selector;
import io.mithril.server.IdentityServer;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The test kit's identity server: a real {@link IdentityServer} in a temp dir, on 127.0.0.1 and an
 * ephemeral port, restartable on the same port and data, with helpers to register workloads and
 * mint join tokens. {@link #config(Path, Clock)} gives the same defaults to tests that start a
 * server themselves (an injected clock, a datastore of their own).
 */
public final class ServerFixture implements AutoCloseable {
    public static final TrustDomain TD = TrustDomain.parse("example.org");

    public final Path dir;
    private IdentityServer server;
    private int port;

    private final Path x509popCa;
    private final java.util.function.UnaryOperator<ServerConfig.Builder> customizer;

    public ServerFixture() throws Exception {
        this(null, b -> b);
    }

    /** A server that also accepts x509pop agents whose certificates chain to {@code x509popCa}. */
    public ServerFixture(Path x509popCa) throws Exception {
        this(x509popCa, b -> b);
    }

    /** A server whose configuration {@code customizer} adjusts (e.g. a short agent TTL). */
    public ServerFixture(
            Path x509popCa, java.util.function.UnaryOperator<ServerConfig.Builder> customizer)
            throws Exception {
        this.x509popCa = x509popCa;
        this.customizer = customizer;
        dir = Files.createTempDirectory("mithril-server-fixture-");
        start(0);
    }

    private void start(int bindPort) throws Exception {
        ServerConfig.Builder b =
                ServerConfig.builder(TD, dir.resolve("server"))
                        .bindAddress("127.0.0.1")
                        .bindPort(bindPort)
                        .socketPath(dir.resolve("server/admin.sock"));
        if (x509popCa != null) {
            b.x509pop(new ServerConfig.X509PopConfig(List.of(x509popCa)));
        }
        ServerConfig cfg = customizer.apply(b).build();
        server = IdentityServer.start(cfg);
        port = server.agentApiAddress().getPort();
    }

    /**
     * Test server configuration: data in {@code dataDir}, 127.0.0.1 on an ephemeral port, the admin
     * socket in the data dir, CA rotation checked hourly, time from {@code clock}.
     */
    public static ServerConfig.Builder config(Path dataDir, Clock clock) {
        return ServerConfig.builder(TD, dataDir)
                .bindAddress("127.0.0.1")
                .bindPort(0)
                .socketPath(dataDir.resolve("private/api.sock"))
                .rotationCheckInterval(Duration.ofHours(1))
                .clock(clock);
    }

    /** An agent API client of {@code server}, as an agent that has not attested yet. */
    public static TestAgent agent(IdentityServer server, Clock clock) {
        return new TestAgent(
                server.agentApiAddress(),
                () -> server.bundle().x509Authorities(),
                server.serverId(),
                clock);
    }

    public IdentityServer server() {
        return server;
    }

    public int port() {
        return port;
    }

    /** The trust bundle as a PEM file, for the agent's trust_bundle_path. */
    public Path bundlePem() throws IOException {
        Path p = dir.resolve("bundle.pem");
        Files.writeString(p, server.bundle().toPem());
        return p;
    }

    /** A join token whose node gets the alias {@code spiffe://example.org/node}. */
    public String joinToken() {
        return server.generateJoinToken(
                Duration.ofMinutes(10), SpiffeId.parse("spiffe://example.org/node"));
    }

    /** Registers a workload under the node alias. */
    public RegistrationEntry register(String spiffeId, int x509TtlSeconds, String... selectors) {
        return register(spiffeId, "spiffe://example.org/node", x509TtlSeconds, selectors);
    }

    /** Registers a workload under a parent. */
    public RegistrationEntry register(
            String spiffeId, String parentId, int x509TtlSeconds, String... selectors) {
        RegistrationEntry e =
                RegistrationEntry.of(
                        SpiffeId.parse(spiffeId),
                        SpiffeId.parse(parentId),
                        Arrays.stream(selectors).map(Selector::parse).toList());
        if (x509TtlSeconds > 0) {
            e = e.withX509SvidTtl(x509TtlSeconds);
        }
        return server.createEntry(e);
    }

    public void stop() {
        server.close();
    }

    /** Starts the server again on the same port with the same data. */
    public void restart() throws Exception {
        // the port may linger for a moment after close
        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptions()
                .until(
                        () -> {
                            start(port);
                            return true;
                        });
    }

    @Override
    public void close() throws IOException {
        server.close();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    public static List<String> list(String... s) {
        return List.of(s);
    }
}
