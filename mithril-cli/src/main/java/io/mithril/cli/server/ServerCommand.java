package io.mithril.cli.server;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code mithril server ...}: what {@code spire-server} does, with its verbs and single-dash flags:
 * {@code run}, {@code validate}, {@code entry create|show|update|delete|count}, {@code token
 * generate}, {@code bundle show|list|set|delete}, {@code federation
 * create|list|show|update|delete|refresh}, {@code agent list|show|evict|ban}, {@code localauthority
 * x509|jwt show|prepare|activate|taint|revoke}, {@code upstreamauthority taint|revoke}, {@code
 * healthcheck}.
 */
@Command(
        name = "server",
        mixinStandardHelpOptions = true,
        description =
                "The identity server (SPIRE server): run it, and manage entries, join tokens, bundles and agents.",
        subcommands = {
            RunCommand.class,
            ValidateCommand.class,
            EntryCommand.class,
            TokenCommand.class,
            BundleCommand.class,
            FederationCommand.class,
            AgentCommand.class,
            LocalAuthorityCommand.class,
            UpstreamAuthorityCommand.class,
            HealthcheckCommand.class,
        })
public final class ServerCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
