package io.mithril.cli.server;

import io.mithril.api.admin.CreateJoinTokenRequest;
import io.mithril.api.admin.JoinToken;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mithril server token generate [-spiffeID X] [-ttl 600]}: prints {@code Token: <uuid>}. */
@Command(
        name = "token",
        mixinStandardHelpOptions = true,
        description = "Manages join tokens.",
        subcommands = TokenCommand.Generate.class)
final class TokenCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(
            name = "generate",
            mixinStandardHelpOptions = true,
            description = "Generates a join token.")
    static final class Generate implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-spiffeID", "--spiffeID"},
                paramLabel = "ID",
                description =
                        "Additional SPIFFE ID to assign the token owner (registered as a node alias entry).")
        String spiffeId;

        @Option(
                names = {"-ttl", "--ttl"},
                paramLabel = "SECONDS",
                description = "Token TTL in seconds (default: ${DEFAULT-VALUE}).")
        int ttl = 600;

        @Option(
                names = {"-output", "--output"},
                paramLabel = "pretty|json",
                description = "Output format.")
        String output = "pretty";

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            if (ttl <= 0) {
                throw new io.mithril.cli.Cli.UserException(
                        "-ttl must be a positive number of seconds (found " + ttl + ")");
            }
            CreateJoinTokenRequest.Builder req = CreateJoinTokenRequest.newBuilder().setTtl(ttl);
            if (spiffeId != null) {
                req.setAgentId(spiffeId);
            }
            JoinToken t = admin.call(c -> c.admin().createJoinToken(req.build()));
            if (output.equals("json")) {
                spec.commandLine().getOut().println(EntryPrinter.json(t));
            } else {
                spec.commandLine().getOut().println("Token: " + t.getValue());
            }
            return 0;
        }
    }
}
