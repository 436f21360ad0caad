package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.server.config.ServerConfig;
import io.mithril.server.testing.ServerFixture;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server refuses to start on unusable state, saying which file or port. */
class StartFailureTest {

    @TempDir Path dir;

    @Test
    void corruptKeyFileIsNamed() throws Exception {
        Path keys = dir.resolve("keys.json");
        Files.writeString(keys, "{ not json");
        assertThatThrownBy(
                        () ->
                                IdentityServer.start(
                                        ServerFixture.config(dir, Clock.systemUTC()).build()))
                .isInstanceOf(ServerStartException.class)
                .hasMessageContaining(keys.toString());
    }

    @Test
    void corruptDatastoreIsNamed() throws Exception {
        Path db = dir.resolve("datastore.sqlite3");
        Files.write(
                db,
                "garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage"
                        .repeat(30)
                        .getBytes());
        assertThatThrownBy(
                        () ->
                                IdentityServer.start(
                                        ServerFixture.config(dir, Clock.systemUTC()).build()))
                .isInstanceOf(ServerStartException.class)
                .hasMessageContaining(db.toString());
    }

    @Test
    void upstreamCertificateThatIsNotACaIsRefused() throws Exception {
        Path up = dir.resolve("up");
        Files.createDirectories(up);
        SharedUpstreamCaTest.run(
                up,
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "k.pem",
                "-out",
                "c.pem",
                "-days",
                "1",
                "-subj",
                "/CN=leaf",
                "-addext",
                "basicConstraints=critical,CA:FALSE");
        ServerConfig cfg =
                ServerFixture.config(dir, Clock.systemUTC())
                        .upstream(
                                new ServerConfig.DiskUpstreamConfig(
                                        up.resolve("c.pem"), up.resolve("k.pem"), null))
                        .build();
        assertThatThrownBy(() -> IdentityServer.start(cfg))
                .isInstanceOf(ServerStartException.class)
                .hasMessageContaining(up.resolve("c.pem").toString());
    }

    @Test
    void portInUseIsNamed() throws Exception {
        try (ServerSocket taken =
                new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            ServerConfig cfg =
                    ServerFixture.config(dir, Clock.systemUTC())
                            .bindPort(taken.getLocalPort())
                            .build();
            assertThatThrownBy(() -> IdentityServer.start(cfg))
                    .isInstanceOf(ServerStartException.class)
                    .hasMessageContaining("127.0.0.1:" + taken.getLocalPort());
        }
    }

    @Test
    void missingX509PopBundleIsNamed() {
        Path missing = dir.resolve("no-such-ca.pem");
        ServerConfig cfg =
                ServerFixture.config(dir, Clock.systemUTC())
                        .x509pop(new ServerConfig.X509PopConfig(java.util.List.of(missing)))
                        .build();
        assertThatThrownBy(() -> IdentityServer.start(cfg))
                .isInstanceOf(ServerStartException.class)
                .hasMessageContaining(missing.toString());
    }
}
