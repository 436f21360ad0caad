package io.mithril.cli.server;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mithril.cli.Cli;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.config.ServerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;
import picocli.CommandLine.Option;

/** {@code -socketPath}: where the server's admin API listens (SPIRE's flag). */
final class AdminOptions {

    @Option(
            names = {"-socketPath", "--socketPath"},
            paramLabel = "PATH",
            description = "Path to the server's admin API socket (default: ${DEFAULT-VALUE}).")
    Path socketPath = ServerConfig.DEFAULT_SOCKET_PATH;

    /** Runs one admin call, turning transport failures into an operator-readable error. */
    <T> T call(Function<AdminClient, T> work) {
        RunCommand.quietLibraries();
        if (!Files.exists(socketPath)) {
            throw new Cli.UserException(
                    "cannot reach the server's admin socket "
                            + socketPath
                            + ": no such file (is the server running? set -socketPath)");
        }
        try (AdminClient c = AdminClient.connect(socketPath)) {
            return work.apply(c);
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.UNAVAILABLE) {
                throw new Cli.UserException(
                        "cannot reach the server's admin socket "
                                + socketPath
                                + ": "
                                + e.getStatus().getDescription()
                                + " (is the server running? set -socketPath)",
                        e);
            }
            throw new Cli.UserException(
                    e.getStatus().getDescription() == null
                            ? e.getStatus().getCode().toString()
                            : e.getStatus().getDescription(),
                    e);
        }
    }
}
