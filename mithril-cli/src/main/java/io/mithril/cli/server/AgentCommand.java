package io.mithril.cli.server;

import io.mithril.api.admin.BanAgentRequest;
import io.mithril.api.admin.DeleteAgentRequest;
import io.mithril.api.admin.GetAgentRequest;
import io.mithril.api.admin.ListAgentsRequest;
import io.mithril.api.types.Agent;
import io.mithril.api.types.Selector;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mithril server agent list|show|evict|ban}, as spire-server's. */
@Command(
        name = "agent",
        mixinStandardHelpOptions = true,
        description = "Manages attested agents.",
        subcommands = {
            AgentCommand.ListCmd.class,
            AgentCommand.Show.class,
            AgentCommand.Evict.class,
            AgentCommand.Ban.class
        })
final class AgentCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static void print(PrintWriter out, Agent a) {
        EntryPrinter.line(out, "SPIFFE ID", a.getSpiffeId());
        EntryPrinter.line(out, "Attestation type", a.getAttestationType());
        EntryPrinter.line(
                out, "Expiration time", Instant.ofEpochSecond(a.getX509SvidExpiresAt()).toString());
        EntryPrinter.line(out, "Serial number", a.getX509SvidSerial());
        EntryPrinter.line(out, "Banned", Boolean.toString(a.getBanned()));
        EntryPrinter.line(out, "Can re-attest", Boolean.toString(a.getCanReattest()));
        EntryPrinter.line(
                out,
                "Last sync",
                a.getLastSync() == 0
                        ? "none since the server started"
                        : Instant.ofEpochSecond(a.getLastSync()).toString());
        for (Selector s : a.getSelectorsList()) {
            EntryPrinter.line(out, "Selectors", s.getType() + ":" + s.getValue());
        }
        out.println();
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists attested agents.")
    static final class ListCmd implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            List<Agent> agents =
                    admin.call(c -> c.admin().listAgents(ListAgentsRequest.getDefaultInstance()))
                            .getAgentsList();
            PrintWriter out = spec.commandLine().getOut();
            if (agents.isEmpty()) {
                out.println("No attested agents found");
                return 0;
            }
            out.println(
                    "Found "
                            + agents.size()
                            + " attested "
                            + (agents.size() == 1 ? "agent" : "agents")
                            + ":");
            out.println();
            agents.forEach(a -> print(out, a));
            return 0;
        }
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Shows an attested agent.")
    static final class Show implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-spiffeID", "--spiffeID"},
                paramLabel = "ID",
                required = true,
                description = "The SPIFFE ID of the agent.")
        String spiffeId;

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Agent a =
                    admin.call(
                            c ->
                                    c.admin()
                                            .getAgent(
                                                    GetAgentRequest.newBuilder()
                                                            .setId(spiffeId)
                                                            .build()));
            spec.commandLine().getOut().println("Found an attested agent given its SPIFFE ID");
            spec.commandLine().getOut().println();
            print(spec.commandLine().getOut(), a);
            return 0;
        }
    }

    @Command(
            name = "evict",
            mixinStandardHelpOptions = true,
            description = "Evicts an attested agent (it must attest again).")
    static final class Evict implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-spiffeID", "--spiffeID"},
                paramLabel = "ID",
                required = true,
                description = "The SPIFFE ID of the agent to evict.")
        String spiffeId;

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            admin.call(
                    c ->
                            c.admin()
                                    .deleteAgent(
                                            DeleteAgentRequest.newBuilder()
                                                    .setId(spiffeId)
                                                    .build()));
            spec.commandLine().getOut().println("Agent evicted successfully");
            return 0;
        }
    }

    @Command(
            name = "ban",
            mixinStandardHelpOptions = true,
            description = "Bans an attested agent (it may not attest again until evicted).")
    static final class Ban implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-spiffeID", "--spiffeID"},
                paramLabel = "ID",
                required = true,
                description = "The SPIFFE ID of the agent to ban.")
        String spiffeId;

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            admin.call(
                    c -> c.admin().banAgent(BanAgentRequest.newBuilder().setId(spiffeId).build()));
            spec.commandLine().getOut().println("Agent banned successfully");
            return 0;
        }
    }
}
