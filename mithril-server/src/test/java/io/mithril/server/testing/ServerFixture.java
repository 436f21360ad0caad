package io.mithril.server.testing;

import io.mithril.server.IdentityServer;
import io.mithril.server.config.ServerConfig;
import io.mithril.spiffe.id.TrustDomain;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

/**
 * Builds test server configurations: temp data dir, 127.0.0.1 on an ephemeral port, socket in the
 * data dir.
 */
public final class ServerFixture {

    public static final TrustDomain TD = TrustDomain.parse("example.org");

    private ServerFixture() {}

    public static ServerConfig.Builder config(Path dataDir, Clock clock) {
        return ServerConfig.builder(TD, dataDir)
                .bindAddress("127.0.0.1")
                .bindPort(0)
                .socketPath(dataDir.resolve("private/api.sock"))
                .rotationCheckInterval(Duration.ofHours(1))
                .clock(clock);
    }

    public static TestAgent agent(IdentityServer server, Clock clock) {
        return new TestAgent(
                server.agentApiAddress(),
                () -> server.bundle().x509Authorities(),
                server.serverId(),
                clock);
    }
}
