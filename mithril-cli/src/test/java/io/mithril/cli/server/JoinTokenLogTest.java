package io.mithril.cli.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server, {@code token generate} and the agent as real processes at DEBUG (MITHRIL_LOG_LEVEL,
 * so gRPC's and Netty's loggers are at DEBUG too): no log holds the join token, neither as text nor
 * as the hex of a transport frame dump. The token is only on {@code token generate}'s stdout.
 */
class JoinTokenLogTest {

    @TempDir Path dir;

    @Test
    void aDebugRunOfServerTokenGenerateAndAgentLogsNoJoinToken() throws Exception {
        Path conf = ServerRunProcessTest.writeServerConf(dir);
        Path serverLog = dir.resolve("server.log");
        ProcessBuilder spb =
                debug(
                        ServerRunProcessTest.mithril(
                                dir, "server", "run", "-config", conf.toString(), "-expandEnv"));
        Process server = spb.redirectOutput(serverLog.toFile()).start();
        Process agent = null;
        Path agentLog = dir.resolve("agent.log");
        try {
            Path socket = dir.resolve("private/api.sock");
            int port = awaitPort(server, serverLog);
            Path tokenOut = dir.resolve("token.out");
            Path tokenErr = dir.resolve("token.err");
            Process gen =
                    debug(
                                    ServerRunProcessTest.mithril(
                                            dir,
                                            "server",
                                            "token",
                                            "generate",
                                            "-socketPath",
                                            socket.toString(),
                                            "-spiffeID",
                                            "spiffe://example.org/node/n1"))
                            .redirectErrorStream(false)
                            .redirectOutput(tokenOut.toFile())
                            .redirectError(tokenErr.toFile())
                            .start();
            assertThat(gen.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String token = Files.readString(tokenOut).replace("Token: ", "").trim();
            assertThat(token).as(Files.readString(tokenErr)).matches("[0-9a-f-]{36}");
            Process bundle =
                    ServerRunProcessTest.mithril(
                                    dir,
                                    "server",
                                    "bundle",
                                    "show",
                                    "-socketPath",
                                    socket.toString())
                            .redirectErrorStream(false)
                            .redirectOutput(dir.resolve("bundle.pem").toFile())
                            .start();
            assertThat(bundle.waitFor(60, TimeUnit.SECONDS)).isTrue();
            Files.writeString(
                    dir.resolve("agent.conf"),
                    """
                    agent {
                        data_dir = "%1$s/agent"
                        server_address = "127.0.0.1"
                        server_port = "%2$d"
                        socket_path = "%1$s/agent-sock/api.sock"
                        trust_bundle_path = "%1$s/bundle.pem"
                        trust_domain = "example.org"
                        log_level = "DEBUG"
                    }
                    plugins {
                        NodeAttestor "join_token" { plugin_data {} }
                        KeyManager "memory" { plugin_data {} }
                        WorkloadAttestor "unix" { plugin_data {} }
                    }
                    """
                            .formatted(dir, port));
            agent =
                    debug(
                                    ServerRunProcessTest.mithril(
                                            dir,
                                            "agent",
                                            "run",
                                            "-config",
                                            dir.resolve("agent.conf").toString(),
                                            "-joinToken",
                                            token))
                            .redirectOutput(agentLog.toFile())
                            .start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(agentLog).contains("started: trust domain")
                    && System.nanoTime() < deadline) {
                assertThat(agent.isAlive()).as(Files.readString(agentLog)).isTrue();
                Thread.sleep(200);
            }

            String hex = HexFormat.of().formatHex(token.getBytes(StandardCharsets.US_ASCII));
            for (Path log : new Path[] {serverLog, agentLog, tokenErr}) {
                String text = Files.readString(log);
                assertThat(text)
                        .as(log.toString())
                        .doesNotContain(token)
                        .doesNotContainIgnoringCase(hex);
            }
            assertThat(Files.readString(serverLog))
                    .contains("DEBUG")
                    .contains("join_token/<redacted:")
                    .contains("Agent attested");
            assertThat(Files.readString(agentLog))
                    .contains("DEBUG")
                    .contains("join_token/<redacted:");
        } finally {
            if (agent != null) {
                agent.destroy();
                agent.waitFor(20, TimeUnit.SECONDS);
            }
            server.destroy();
            server.waitFor(20, TimeUnit.SECONDS);
        }
    }

    private static ProcessBuilder debug(ProcessBuilder pb) {
        pb.environment().put("MITHRIL_LOG_LEVEL", "DEBUG");
        pb.environment().put("D", pb.directory().toString());
        return pb;
    }

    private static int awaitPort(Process server, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            java.util.regex.Matcher m =
                    java.util.regex.Pattern.compile("agent_api=/?127\\.0\\.0\\.1:(\\d+)")
                            .matcher(Files.readString(log));
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            assertThat(server.isAlive()).as(Files.readString(log)).isTrue();
            Thread.sleep(200);
        }
        throw new AssertionError("server did not start: " + Files.readString(log));
    }
}
