package io.mithril.cli.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mithril server run -config F} as a real process: starts from a SPIRE config, answers,
 * stops on SIGTERM.
 */
class ServerRunProcessTest {

    @TempDir Path dir;

    static ProcessBuilder mithril(Path dir, String... args) {
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-cp",
                                shippedClassPath(),
                                "io.mithril.cli.Main"));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
    }

    /**
     * This test's class path without test classes and test jars: the child runs the CLI as shipped,
     * with its own logging set-up (LogConfigurator), not a logback-test.xml another module's tests
     * bring.
     */
    static String shippedClassPath() {
        String cp =
                System.getProperty(
                        "surefire.test.class.path", System.getProperty("java.class.path"));
        return java.util.Arrays.stream(cp.split(java.io.File.pathSeparator))
                .filter(
                        e ->
                                !e.endsWith("test-classes")
                                        && !e.endsWith("test-classes/")
                                        && !e.endsWith("-tests.jar"))
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
    }

    /**
     * A SPIRE server.conf for a server in {@code dir} (given as {@code $D}, so run with {@code
     * -expandEnv}): data in data/, admin socket private/api.sock, agent API on an ephemeral port,
     * join_token attestation, log_level DEBUG.
     */
    static Path writeServerConf(Path dir) throws java.io.IOException {
        Path conf = dir.resolve("server.conf");
        Files.writeString(
                conf,
                """
                server {
                    bind_address = "127.0.0.1"
                    bind_port = "0"
                    socket_path = "${D}/private/api.sock"
                    trust_domain = "example.org"
                    data_dir = "${D}/data"
                    log_level = "DEBUG"
                    ca_key_type = "rsa-2048"
                }
                plugins {
                    DataStore "sql" { plugin_data { database_type = "sqlite3" connection_string = "${D}/data/datastore.sqlite3" } }
                    KeyManager "disk" { plugin_data = { keys_path = "${D}/data/keys.json" } }
                    NodeAttestor "join_token" { plugin_data {} }
                }
                """);
        return conf;
    }

    @Test
    void runStartsFromASpireConfigAndStopsOnSigterm() throws Exception {
        Path conf = writeServerConf(dir);
        ProcessBuilder pb = mithril(dir, "server", "run", "-config", conf.toString(), "-expandEnv");
        pb.environment().put("D", dir.toString());
        pb.redirectOutput(dir.resolve("out.log").toFile());
        Process p = pb.start();
        try {
            Path socket = dir.resolve("private/api.sock");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            ServerCliTest.Result health = null;
            while (System.nanoTime() < deadline && p.isAlive()) {
                if (Files.exists(socket)) {
                    Process h =
                            mithril(dir, "server", "healthcheck", "-socketPath", socket.toString())
                                    .start();
                    String out = new String(h.getInputStream().readAllBytes());
                    if (h.waitFor() == 0) {
                        health = new ServerCliTest.Result(0, out, "");
                        break;
                    }
                }
                Thread.sleep(200);
            }
            assertThat(health).as(Files.readString(dir.resolve("out.log"))).isNotNull();
            assertThat(health.out()).contains("Server is healthy.");
            assertThat(Files.getPosixFilePermissions(dir.resolve("data/keys.json")))
                    .containsExactlyInAnyOrder(
                            java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                            java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
        } finally {
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(Files.readString(dir.resolve("out.log")))
                .contains("Server started")
                .contains("Server stopped");
        assertThat(dir.resolve("private/api.sock")).doesNotExist();
    }

    @Test
    void badConfigExitsNonZeroNamingFileAndLine() throws Exception {
        Path conf = dir.resolve("server.conf");
        Files.writeString(
                conf,
                "server {\n  trust_domain = \"example.org\"\n  data_dir = \"d\"\n  bind_prot = 1\n}\nplugins {}\n");
        Process p = mithril(dir, "server", "run", "-config", conf.toString()).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(1);
        assertThat(out).contains("Error: " + conf + ":4:3: unknown key \"bind_prot\"");
    }
}
