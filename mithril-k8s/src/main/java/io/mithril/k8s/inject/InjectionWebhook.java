package io.mithril.k8s.inject;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;

/**
 * The injection webhook's HTTPS endpoint, as istiod serves it: {@code POST /inject} (also {@code
 * /inject/...}) with an AdmissionReview, answered by {@link SidecarInjector}. Bodies over {@link
 * #MAX_BODY_BYTES} get 413, other methods 405; TLS only.
 */
public final class InjectionWebhook implements AutoCloseable {

    /** The API server sends one pod: 3 MiB is Kubernetes' own request limit. */
    public static final int MAX_BODY_BYTES = 3 * 1024 * 1024;

    private final HttpsServer server;
    private final ExecutorService executor =
            Executors.newFixedThreadPool(
                    4,
                    r -> {
                        Thread t = new Thread(r, "mithril-inject");
                        t.setDaemon(true);
                        return t;
                    });

    private InjectionWebhook(HttpsServer server) {
        this.server = server;
    }

    /**
     * Starts listening on {@code address} with the given TLS context (the webhook's serving
     * certificate).
     */
    public static InjectionWebhook start(
            InetSocketAddress address, SSLContext tls, SidecarInjector injector)
            throws IOException {
        HttpsServer server = HttpsServer.create(address, 64);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        InjectionWebhook w = new InjectionWebhook(server);
        server.setExecutor(w.executor);
        server.createContext("/inject", exchange -> w.handle(exchange, injector));
        server.start();
        return w;
    }

    private void handle(HttpExchange exchange, SidecarInjector injector) throws IOException {
        try (exchange) {
            if (!exchange.getRequestMethod().equals("POST")) {
                send(exchange, 405, "only POST".getBytes(StandardCharsets.UTF_8), "text/plain");
                return;
            }
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readNBytes(MAX_BODY_BYTES + 1);
            }
            if (body.length > MAX_BODY_BYTES) {
                send(
                        exchange,
                        413,
                        "request body over 3 MiB".getBytes(StandardCharsets.UTF_8),
                        "text/plain");
                return;
            }
            send(exchange, 200, injector.review(body), "application/json");
        }
    }

    private static void send(HttpExchange exchange, int status, byte[] body, String type)
            throws IOException {
        exchange.getResponseHeaders().add("Content-Type", type);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /** The bound port. */
    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
