package io.mithril.cli;

/**
 * Entry points under SPIRE's command names, for the container image's {@code
 * /opt/spire/bin/spire-server} and {@code /opt/spire/bin/spire-agent}: each runs {@code mithril
 * server ...} or {@code mithril agent ...} with the arguments it was given, so a manifest written
 * for SPIRE's images ({@code spire-agent api fetch -write /certs}) runs unchanged. Java has no
 * argv[0]; the image names a class per command instead (see mithril-image).
 */
public final class SpireCommand {

    private SpireCommand() {}

    /** {@code spire-server ARGS} is {@code mithril server ARGS}. */
    public static final class Server {
        private Server() {}

        public static void main(String[] args) {
            System.exit(Main.run(prepend("server", args)));
        }
    }

    /** {@code spire-agent ARGS} is {@code mithril agent ARGS}. */
    public static final class Agent {
        private Agent() {}

        public static void main(String[] args) {
            System.exit(Main.run(prepend("agent", args)));
        }
    }

    static String[] prepend(String command, String[] args) {
        String[] all = new String[args.length + 1];
        all[0] = command;
        System.arraycopy(args, 0, all, 1, args.length);
        return all;
    }
}
