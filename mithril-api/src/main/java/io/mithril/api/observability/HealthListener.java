package io.mithril.api.observability;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/**
 * SPIRE's {@code health_checks} HTTP listener, for the server and the agent: {@code live_path}
 * answers 200 {@code {"live":true}} while the process serves (500 otherwise), {@code ready_path}
 * 200 {@code {"ready":true}} when it can do its job (500 otherwise), as Kubernetes probes expect.
 */
public final class HealthListener implements AutoCloseable {

    private final HttpServer server;

    private HealthListener(HttpServer server) {
        this.server = server;
    }

    /**
     * Binds and starts the listener.
     *
     * @throws IOException when the address cannot be bound
     */
    public static HealthListener start(
            HealthChecksConfig h, BooleanSupplier live, BooleanSupplier ready) throws IOException {
        HttpServer server =
                HttpServer.create(new InetSocketAddress(h.bindAddress(), h.bindPort()), 0);
        server.createContext(
                h.livePath(),
                ex -> {
                    boolean ok = live.getAsBoolean();
                    byte[] body = ("{\"live\":" + ok + "}").getBytes(StandardCharsets.UTF_8);
                    ex.sendResponseHeaders(ok ? 200 : 500, body.length);
                    ex.getResponseBody().write(body);
                    ex.close();
                });
        server.createContext(
                h.readyPath(),
                ex -> {
                    boolean ok = live.getAsBoolean() && ready.getAsBoolean();
                    byte[] body = ("{\"ready\":" + ok + "}").getBytes(StandardCharsets.UTF_8);
                    ex.sendResponseHeaders(ok ? 200 : 500, body.length);
                    ex.getResponseBody().write(body);
                    ex.close();
                });
        server.start();
        return new HealthListener(server);
    }

    /** The bound port (useful with {@code bind_port = 0}). */
    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
