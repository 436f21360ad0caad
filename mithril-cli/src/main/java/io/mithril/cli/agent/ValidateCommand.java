package io.mithril.cli.agent;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code mithril agent validate -config agent.conf [flags]}: {@code spire-agent validate}. Reads
 * the configuration with {@code run}'s flags exactly as {@code run} does, starts nothing, and says
 * whether it is valid (exit 0) or why not (exit 1, with {@code file:line:col}).
 */
@Command(
        name = "validate",
        description = "Validates an agent configuration file",
        mixinStandardHelpOptions = true)
public final class ValidateCommand extends RunCommand {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        try {
            loadConfig();
        } catch (io.mithril.cli.Cli.UserException e) {
            spec.commandLine()
                    .getErr()
                    .println("SPIRE agent configuration file is invalid: " + e.getMessage());
            spec.commandLine().getErr().flush();
            return 1;
        }
        spec.commandLine().getOut().println("SPIRE agent configuration file is valid.");
        spec.commandLine().getOut().flush();
        return 0;
    }
}
