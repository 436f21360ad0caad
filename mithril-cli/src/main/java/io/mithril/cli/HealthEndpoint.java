package io.mithril.cli;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A readiness endpoint for the kubelet's HTTP probes, apart from the admin endpoint (which shows
 * configuration and identities and stays on loopback): Istio's status port ({@code /healthz/ready}
 * on 15021) for proxies, istiod's {@code /ready} on 8080 for the control plane. It serves only the
 * given paths: {@code GET} (or {@code HEAD}) answers 200 {@code ready} when the check gives an
 * empty reason, 503 {@code not ready: <reason>} otherwise; any other path 404, any other method
 * 405. Nothing else is exposed.
 */
public final class HealthEndpoint implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(HealthEndpoint.class);

    private final HttpServer server;

    private HealthEndpoint(HttpServer server) {
        this.server = server;
    }

    /**
     * Binds the endpoint.
     *
     * @param checks by path: why the process is not ready, empty when it is
     * @throws IOException when the address cannot be bound
     */
    public static HealthEndpoint start(
            InetSocketAddress address, Map<String, Supplier<String>> checks) throws IOException {
        HttpServer server = HttpServer.create(address, 16);
        server.setExecutor(
                Executors.newSingleThreadExecutor(
                        r -> {
                            Thread t = new Thread(r, "health-endpoint");
                            t.setDaemon(true);
                            return t;
                        }));
        server.createContext(
                "/",
                ex -> {
                    try (ex) {
                        Supplier<String> check = checks.get(ex.getRequestURI().getPath());
                        boolean read =
                                ex.getRequestMethod().equals("GET")
                                        || ex.getRequestMethod().equals("HEAD");
                        String why = check == null || !read ? "" : reason(check);
                        int status = check == null ? 404 : !read ? 405 : why.isEmpty() ? 200 : 503;
                        String body =
                                switch (status) {
                                    case 404 -> "not found\n";
                                    case 405 -> "method not allowed\n";
                                    case 200 -> "ready\n";
                                    default -> "not ready: " + why + "\n";
                                };
                        if (status == 405) {
                            ex.getResponseHeaders().set("Allow", "GET, HEAD");
                        }
                        ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
                        byte[] bytes =
                                ex.getRequestMethod().equals("HEAD")
                                        ? new byte[0]
                                        : body.getBytes(StandardCharsets.UTF_8);
                        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
                        ex.getResponseBody().write(bytes);
                    }
                });
        server.start();
        log.info(
                "readiness endpoint on http://{}:{}{}",
                server.getAddress().getAddress().getHostAddress(),
                server.getAddress().getPort(),
                checks.keySet());
        return new HealthEndpoint(server);
    }

    private static String reason(Supplier<String> check) {
        try {
            String why = check.get();
            return why == null ? "" : why;
        } catch (RuntimeException e) {
            return "readiness check failed: " + e.getMessage();
        }
    }

    /** Where it is bound. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
