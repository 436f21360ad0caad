package io.mithril.controlplane;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.mithril.controlplane.xds.XdsConfigDump;
import io.mithril.controlplane.xds.XdsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's local admin endpoint: plain HTTP on a loopback address (default {@code
 * 127.0.0.1:15014}, istiod's monitoring port), read by {@code mithril controlplane status}.
 *
 * <ul>
 *   <li>{@code GET /debug/syncz}: {@link ControlPlaneStatus} as JSON (what istiod's syncz debug
 *       endpoint is to {@code istioctl proxy-status}).
 *   <li>{@code GET /healthz/ready}: 200 {@code ready} once a configuration is served.
 * </ul>
 *
 * It must stay on loopback: it shows proxy identities and configuration errors, without auth.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    /** JSON with ISO-8601 instants, shared with the status command. */
    public static final ObjectMapper JSON =
            new ObjectMapper()
                    .registerModule(new JavaTimeModule())
                    .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                    .configure(
                            com.fasterxml.jackson.databind.DeserializationFeature
                                    .FAIL_ON_UNKNOWN_PROPERTIES,
                            false);

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
    public static AdminServer start(InetSocketAddress address, Supplier<ControlPlaneStatus> status)
            throws IOException {
        return start(address, status, null);
    }

    /**
     * Serves {@code status} and, when {@code xds} is not null, the xDS config dump: {@code GET
     * /debug/config_dump} lists the connected node IDs (JSON array) and {@code GET
     * /debug/config_dump?node=<ID>} gives that node's resources as Envoy's {@code /config_dump}
     * shows them (404 when no such node is connected).
     *
     * @throws IOException if the address cannot be bound
     * @throws IllegalArgumentException if {@code address} is not a loopback address
     */
    public static AdminServer start(
            InetSocketAddress address, Supplier<ControlPlaneStatus> status, XdsServer xds)
            throws IOException {
        if (address.getAddress() == null || !address.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException(
                    "admin address " + address + " is not a loopback address; use 127.0.0.1");
        }
        HttpServer server = HttpServer.create(address, 16);
        server.createContext(
                "/debug/syncz",
                ex -> {
                    if (!ex.getRequestMethod().equals("GET")) {
                        send(ex, 405, "text/plain", "use GET\n");
                        return;
                    }
                    send(
                            ex,
                            200,
                            "application/json",
                            JSON.writerWithDefaultPrettyPrinter().writeValueAsString(status.get())
                                    + "\n");
                });
        if (xds != null) {
            server.createContext("/debug/config_dump", ex -> configDump(ex, xds));
        }
        server.createContext("/healthz/ready", ex -> send(ex, 200, "text/plain", "ready\n"));
        server.createContext(
                "/", ex -> send(ex, 404, "text/plain", "not found: try /debug/syncz\n"));
        server.start();
        log.info(
                "control plane admin endpoint on http://{}:{}/debug/syncz",
                address.getAddress().getHostAddress(),
                server.getAddress().getPort());
        return new AdminServer(server);
    }

    /** The bound port. */
    public int port() {
        return server.getAddress().getPort();
    }

    private static void configDump(HttpExchange ex, XdsServer xds) throws IOException {
        if (!ex.getRequestMethod().equals("GET")) {
            send(ex, 405, "text/plain", "use GET\n");
            return;
        }
        String node = queryParam(ex.getRequestURI().getRawQuery(), "node");
        if (node == null) {
            send(
                    ex,
                    200,
                    "application/json",
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(xds.connectedNodes())
                            + "\n");
            return;
        }
        XdsServer.NodeDump dump = xds.dump(node);
        if (dump == null || dump.resources() == null) {
            send(
                    ex,
                    404,
                    "text/plain",
                    dump == null
                            ? "no xDS node " + node + " is connected\n"
                            : "node " + node + " has no configuration: " + dump.error() + "\n");
            return;
        }
        send(
                ex,
                200,
                "application/json",
                XdsConfigDump.json(XdsConfigDump.of(dump.resources(), dump.sent())) + "\n");
    }

    private static String queryParam(String rawQuery, String name) {
        if (rawQuery == null) {
            return null;
        }
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0
                    && URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8)
                            .equals(name)) {
                return URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    private static void send(HttpExchange ex, int code, String type, String body)
            throws IOException {
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
