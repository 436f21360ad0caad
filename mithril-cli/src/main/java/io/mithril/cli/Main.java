package io.mithril.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code mithril} command. Subcommands follow SPIRE's and Istio's verbs and flags ({@code
 * mithril server run -config server.conf}, {@code mithril agent api fetch x509 -write DIR}, {@code
 * mithril mesh validate -f FILE}); each family lives in its own package of this module.
 */
@Command(
        name = "mithril",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Mithril for Java: a SPIFFE identity system (identity server, node agent, Workload API) joined",
            "to a service mesh (control plane, gateways, sidecars) whose proxies use those identities for mTLS.",
            "",
            "Start with: mithril demo"
        },
        subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    /**
     * The command families, in help order. They are added when the command line is built, and only
     * the one named by the first argument when there is one: picocli builds a command's whole tree
     * by reflection (every subcommand class and every type its methods name, down to the protobuf
     * messages), which cost each process about half a second of CPU at start.
     */
    static final java.util.List<Class<?>> FAMILIES =
            java.util.List.of(
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
                    io.mithril.cli.doctor.DoctorCommand.class);

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (for tests and embedding). */
    public static int run(String... args) {
        return newCommandLine(args).execute(args);
    }

    /** The configured command line with every command family, shared by {@link #main} and tests. */
    public static CommandLine newCommandLine() {
        return newCommandLine(new String[0]);
    }

    /**
     * The configured command line for {@code args}: when the first argument names a command family,
     * only that family is built; for {@code --version} none is; otherwise (help, other options, an
     * unknown or mistyped name, whose error suggests the right ones) every family is.
     */
    public static CommandLine newCommandLine(String... args) {
        CommandLine cl = new CommandLine(new Main());
        String first = args.length > 0 ? args[0] : null;
        Class<?> only = null;
        for (Class<?> family : FAMILIES) {
            if (first != null && names(family).contains(first)) {
                only = family;
            }
        }
        boolean versionOnly = args.length == 1 && (first.equals("-V") || first.equals("--version"));
        for (Class<?> family :
                only != null
                        ? java.util.List.of(only)
                        : versionOnly ? java.util.List.<Class<?>>of() : FAMILIES) {
            cl.addSubcommand(family);
        }
        return Cli.configure(cl);
    }

    private static java.util.List<String> names(Class<?> family) {
        Command c = family.getAnnotation(Command.class);
        java.util.List<String> names = new java.util.ArrayList<>(java.util.List.of(c.aliases()));
        names.add(c.name());
        return names;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
