package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.server.testing.MutableClock;
import io.mithril.server.testing.ServerFixture;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A client that opens a connection to the agent API and never speaks is not kept forever. */
class AgentApiLimitsTest {

    @TempDir Path dir;
    IdentityServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void aConnectionThatNeverStartsItsTlsHandshakeIsClosedAfterTheHandshakeTimeout()
            throws Exception {
        server =
                IdentityServer.start(ServerFixture.config(dir, MutableClock.startingNow()).build());
        try (Socket s =
                new Socket(
                        server.agentApiAddress().getAddress(),
                        server.agentApiAddress().getPort())) {
            long start = System.nanoTime();
            s.setSoTimeout((int) IdentityServer.HANDSHAKE_TIMEOUT.toMillis() + 5000);
            InputStream in = s.getInputStream();
            int read;
            try {
                read = in.read();
            } catch (SocketTimeoutException e) {
                read = -2;
            }
            assertThat(read).as("the server closed the connection").isEqualTo(-1);
            assertThat(System.nanoTime() - start)
                    .isGreaterThanOrEqualTo(
                            IdentityServer.HANDSHAKE_TIMEOUT.toNanos() - 1_000_000_000L);
        }
    }
}
