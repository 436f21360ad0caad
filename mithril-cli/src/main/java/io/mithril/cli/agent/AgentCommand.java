package io.mithril.cli.agent;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code mithril agent}: the node agent and its client commands, as {@code spire-agent} has them:
 * {@code run}, {@code validate}, {@code api fetch x509|jwt}, {@code api validate jwt}, {@code api
 * watch}, {@code healthcheck}.
 */
@Command(
        name = "agent",
        description = "The node agent (spire-agent): run it, or talk to its Workload API.",
        mixinStandardHelpOptions = true,
        subcommands = {
            RunCommand.class,
            ValidateCommand.class,
            ApiCommand.class,
            HealthcheckCommand.class,
        })
public final class AgentCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
