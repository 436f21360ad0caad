package io.mithril.cli.server;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code mithril server validate -config server.conf [flags]}: {@code spire-server validate}. Reads
 * the configuration with {@code run}'s flags exactly as {@code run} does, starts nothing, and says
 * whether it is valid (exit 0) or why not (exit 1, with {@code file:line:col}).
 */
@Command(
        name = "validate",
        mixinStandardHelpOptions = true,
        description = "Validates a server configuration file.")
public final class ValidateCommand extends RunCommand {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        try {
            loadConfig();
        } catch (io.mithril.cli.Cli.UserException e) {
            spec.commandLine()
                    .getErr()
                    .println("SPIRE server configuration file is invalid: " + e.getMessage());
            spec.commandLine().getErr().flush();
            return 1;
        }
        spec.commandLine().getOut().println("SPIRE server configuration file is valid.");
        spec.commandLine().getOut().flush();
        return 0;
    }
}
