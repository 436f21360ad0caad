package io.mithril.cli.agent;

import io.mithril.api.workload.client.WorkloadApiAddress;
import io.mithril.cli.Cli;
import picocli.CommandLine.Option;

/**
 * The Workload API address of an {@code agent api} or {@code agent healthcheck} command:
 * {@code -socketPath} when given, else {@code SPIFFE_ENDPOINT_SOCKET}, else the agent's default
 * socket {@value WorkloadApiAddress#DEFAULT_SOCKET_PATH}.
 */
final class SocketOption {

    @Option(names = {"-socketPath", "--socketPath"}, paramLabel = "PATH",
            description = "Path to the SPIRE Agent API socket (default: $SPIFFE_ENDPOINT_SOCKET or " + WorkloadApiAddress.DEFAULT_SOCKET_PATH + ")")
    String socketPath;

    String address() {
        try {
            if (socketPath != null && !socketPath.isEmpty()) {
                return WorkloadApiAddress.parse(socketPath.startsWith("/") || socketPath.contains(":") ? socketPath
                        : java.nio.file.Path.of(socketPath).toAbsolutePath().toString()).toString();
            }
            return WorkloadApiAddress.fromEnvironment().toString();
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
    }

    static void quietNetty() {
        // grpc-netty asks for SO_KEEPALIVE on every channel; on a Unix socket Netty warns that it
        // does not apply. That warning is noise on a command's output. Frame dumps would hold the
        // join token and SVID keys: never logged.
        if (org.slf4j.LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext ctx) {
            ctx.getLogger("io.netty.bootstrap").setLevel(ch.qos.logback.classic.Level.ERROR);
            io.mithril.cli.server.RunCommand.quietFrames(ctx);
        }
    }
}
