package io.mithril.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code mithril} command. Subcommands follow SPIRE's and Istio's verbs and flags
 * ({@code mithril server run -config server.conf}, {@code mithril agent api fetch x509 -write DIR},
 * {@code mithril mesh validate -f FILE}); each family lives in its own package of this module.
 */
@Command(name = "mithril",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
                "Mithril for Java: a SPIFFE identity system (identity server, node agent, Workload API) joined",
                "to a service mesh (control plane, gateways, sidecars) whose proxies use those identities for mTLS.",
                "",
                "Start with: mithril demo"},
        subcommands = {
                CommandLine.HelpCommand.class,
                io.mithril.cli.server.ServerCommand.class,
                io.mithril.cli.agent.AgentCommand.class,
                io.mithril.cli.mesh.MeshCommand.class,
                io.mithril.cli.proxy.ProxyCommand.class,
                io.mithril.cli.controlplane.ControlPlaneCommand.class,
                io.mithril.cli.registrar.RegistrarCommand.class,
                io.mithril.cli.inject.InjectCommand.class,
                io.mithril.cli.sample.SampleCommand.class,
                io.mithril.cli.demo.DemoCommand.class,
                io.mithril.cli.bench.BenchCommand.class,
                io.mithril.cli.dashboard.DashboardCommand.class,
                io.mithril.cli.inspect.InspectCommand.class,
                io.mithril.cli.doctor.DoctorCommand.class,
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (for tests and embedding). */
    public static int run(String... args) {
        return newCommandLine().execute(args);
    }

    /** The configured command line, shared by {@link #main} and tests. */
    public static CommandLine newCommandLine() {
        return Cli.configure(new CommandLine(new Main()));
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
