package io.mithril.cli.agent;

import io.mithril.agent.fs.TrustedDirectory;
import io.mithril.api.workload.client.WorkloadApiAddress;
import io.mithril.cli.Cli;
import picocli.CommandLine.Option;

/**
 * The Workload API address of an {@code agent api} or {@code agent healthcheck} command: {@code
 * -socketPath} when given, else {@code SPIFFE_ENDPOINT_SOCKET}, else the agent's default socket
 * {@value WorkloadApiAddress#DEFAULT_SOCKET_PATH}.
 */
public final class SocketOption {

    @Option(
            names = {"-socketPath", "--socketPath"},
            paramLabel = "PATH",
            description =
                    "Path to the SPIRE Agent API socket (default: $SPIFFE_ENDPOINT_SOCKET or "
                            + WorkloadApiAddress.DEFAULT_SOCKET_PATH
                            + ")")
    String socketPath;

    /**
     * The address; for a Unix socket, its directory must not be writable by other users (nor any
     * ancestor, but for sticky ones like /tmp), or another user could have put their own socket
     * there. Owners are not checked: the client cannot know the agent's uid.
     */
    public String address() {
        String address;
        try {
            if (socketPath != null && !socketPath.isEmpty()) {
                address =
                        WorkloadApiAddress.parse(
                                        socketPath.startsWith("/") || socketPath.contains(":")
                                                ? socketPath
                                                : java.nio.file.Path.of(socketPath)
                                                        .toAbsolutePath()
                                                        .toString())
                                .toString();
            } else {
                address = WorkloadApiAddress.fromEnvironment().toString();
            }
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
        if (address.startsWith("unix://")) {
            try {
                TrustedDirectory.checkModes(
                        java.nio.file.Path.of(address.substring("unix://".length())).getParent(),
                        "Workload API socket directory");
            } catch (java.io.IOException e) {
                throw new Cli.UserException(
                        "refusing the Workload API socket " + address + ": " + e.getMessage(), e);
            }
        }
        return address;
    }

    static void quietNetty() {
        // grpc-netty asks for SO_KEEPALIVE on every channel; on a Unix socket Netty warns that it
        // does not apply. That warning is noise on a command's output. Frame dumps would hold the
        // join token and SVID keys: never logged.
        if (org.slf4j.LoggerFactory.getILoggerFactory()
                instanceof ch.qos.logback.classic.LoggerContext ctx) {
            ctx.getLogger("io.netty.bootstrap").setLevel(ch.qos.logback.classic.Level.ERROR);
            io.mithril.cli.server.RunCommand.quietFrames(ctx);
        }
    }
}
