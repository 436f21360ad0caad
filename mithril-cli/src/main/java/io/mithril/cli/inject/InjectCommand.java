package io.mithril.cli.inject;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code mithril inject ...}: Istio's sidecar injection for Kubernetes. */
@Command(
        name = "inject",
        mixinStandardHelpOptions = true,
        description =
                "Sidecar injection: the mutating admission webhook that adds the sidecar to pods.",
        subcommands = {InjectWebhookCommand.class})
public final class InjectCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
