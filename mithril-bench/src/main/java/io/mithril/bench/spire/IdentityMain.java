package io.mithril.bench.spire;

import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfigParser;
import io.mithril.bench.ChildJvm;
import io.mithril.pki.Pem;
import io.mithril.server.IdentityServer;
import io.mithril.spiffe.id.SpiffeId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A Mithril identity server or agent in a JVM of its own (started by {@link ChildJvm}, so its
 * resident memory is its own), from the same kind of SPIRE {@code server.conf} / {@code agent.conf}
 * the SPIRE side of the bench runs with.
 *
 * <pre>
 *   server CONF BUNDLE_OUT TOKEN_OUT NODE_ID   writes the trust bundle and a join token, prints SERVER_READY 0
 *   agent CONF                                 prints AGENT_READY 0
 * </pre>
 *
 * Both stop when stdin closes.
 */
public final class IdentityMain {

    private IdentityMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 5 && args[0].equals("server")) {
            try (IdentityServer server = IdentityServer.start(Path.of(args[1]))) {
                Files.writeString(Path.of(args[2]), server.bundle().toPem());
                // The token attests a node: readable by this user only, as every secret.
                Pem.writeSecret(
                        Path.of(args[3]),
                        server.generateJoinToken(Duration.ofMinutes(30), SpiffeId.parse(args[4])));
                ChildJvm.serveUntilStdinCloses("SERVER_READY 0");
            }
        } else if (args.length == 2 && args[0].equals("agent")) {
            try (Agent agent = Agent.start(AgentConfigParser.parseFile(Path.of(args[1])))) {
                ChildJvm.serveUntilStdinCloses("AGENT_READY 0");
            }
        } else {
            System.err.println(
                    "usage: IdentityMain server CONF BUNDLE_OUT TOKEN_OUT NODE_ID | agent CONF");
            System.exit(2);
        }
    }
}
