package io.mithril.controlplane;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's local admin endpoint: plain HTTP on a loopback address (default
 * {@code 127.0.0.1:15014}, istiod's monitoring port), read by {@code mithril controlplane status}.
 *
 * <ul>
 *   <li>{@code GET /debug/syncz}: {@link ControlPlaneStatus} as JSON (what istiod's syncz debug
 *       endpoint is to {@code istioctl proxy-status}).</li>
 *   <li>{@code GET /healthz/ready}: 200 {@code ready} once a configuration is served.</li>
 * </ul>
 *
 * It must stay on loopback: it shows proxy identities and configuration errors, without auth.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    /** JSON with ISO-8601 instants, shared with the status command. */
    public static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final HttpServer server;

    private AdminServer(HttpServer server) {
        this.server = server;
    }

    /**
     * Serves {@code status} on {@code address}.
     *
     * @throws IOException if the address cannot be bound
     * @throws IllegalArgumentException if {@code address} is not a loopback address
     */
    public static AdminServer start(InetSocketAddress address, Supplier<ControlPlaneStatus> status) throws IOException {
        if (address.getAddress() == null || !address.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("admin address " + address + " is not a loopback address; use 127.0.0.1");
        }
        HttpServer server = HttpServer.create(address, 16);
        server.createContext("/debug/syncz", ex -> {
            if (!ex.getRequestMethod().equals("GET")) {
                send(ex, 405, "text/plain", "use GET\n");
                return;
            }
            send(ex, 200, "application/json", JSON.writerWithDefaultPrettyPrinter().writeValueAsString(status.get()) + "\n");
        });
        server.createContext("/healthz/ready", ex -> send(ex, 200, "text/plain", "ready\n"));
        server.createContext("/", ex -> send(ex, 404, "text/plain", "not found: try /debug/syncz\n"));
        server.start();
        log.info("control plane admin endpoint on http://{}:{}/debug/syncz", address.getAddress().getHostAddress(),
                server.getAddress().getPort());
        return new AdminServer(server);
    }

    /** The bound port. */
    public int port() {
        return server.getAddress().getPort();
    }

    private static void send(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(code, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
