package io.mithril.cli.registrar;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code mithril registrar ...}: what SPIRE Controller Manager does for pods. */
@Command(
        name = "registrar",
        mixinStandardHelpOptions = true,
        description =
                "Keeps registration entries for Kubernetes pods from ClusterSPIFFEID resources (SPIRE Controller Manager).",
        subcommands = {RegistrarRunCommand.class})
public final class RegistrarCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
