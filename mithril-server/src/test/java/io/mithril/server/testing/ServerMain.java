package io.mithril.server.testing;

import io.mithril.server.IdentityServer;
import java.nio.file.Path;

/** Runs a server from a config file in its own process, for tests that kill it. */
public final class ServerMain {
    private ServerMain() {}

    public static void main(String[] args) throws Exception {
        IdentityServer server = IdentityServer.start(Path.of(args[0]));
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        System.out.println("READY " + server.agentApiAddress().getPort());
        Thread.currentThread().join();
    }
}
