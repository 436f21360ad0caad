package io.mithril.bench.scale;

import io.mithril.bench.ChildJvm;
import io.mithril.server.IdentityServer;
import java.nio.file.Path;

/**
 * The {@code scale} bench's identity server in a JVM of its own, as an operator runs one, so its
 * CPU and memory can be read from /proc and it can be killed with SIGKILL: {@code ScaleServerMain
 * <server.conf>} starts the server from the SPIRE-style configuration file, prints {@code
 * SCALE_SERVER_READY <agent API port>} and stops when its stdin closes.
 */
public final class ScaleServerMain {

    static final String READY = "SCALE_SERVER_READY ";

    private ScaleServerMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: ScaleServerMain <server.conf>");
            System.exit(2);
        }
        IdentityServer server = IdentityServer.start(Path.of(args[0]));
        ChildJvm.serveUntilStdinCloses(READY + server.agentApiAddress().getPort());
        server.close();
        System.exit(0);
    }
}
