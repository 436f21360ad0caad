package io.mithril.cli.server;

import io.grpc.health.v1.HealthCheckResponse;
import io.mithril.cli.Cli;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code mithril server healthcheck}: asks the server's grpc.health.v1 service over the admin
 * socket.
 */
@Command(
        name = "healthcheck",
        mixinStandardHelpOptions = true,
        description = "Determines server health status.")
final class HealthcheckCommand implements Callable<Integer> {

    @Mixin AdminOptions admin;

    @Option(
            names = {"-shallow", "--shallow"},
            description = "Accepted for SPIRE compatibility (the check is always the same).")
    boolean shallow;

    @Option(
            names = {"-verbose", "--verbose"},
            description = "Print verbose information.")
    boolean verbose;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        HealthCheckResponse.ServingStatus status;
        try {
            status = admin.call(c -> c.health());
        } catch (Cli.UserException e) {
            spec.commandLine().getErr().println("Server is unhealthy: " + e.getMessage());
            return 1;
        }
        if (status != HealthCheckResponse.ServingStatus.SERVING) {
            spec.commandLine().getErr().println("Server is unhealthy: status " + status);
            return 1;
        }
        if (verbose) {
            spec.commandLine()
                    .getOut()
                    .println("Checking server health at " + admin.socketPath + "...");
        }
        spec.commandLine().getOut().println("Server is healthy.");
        return 0;
    }
}
