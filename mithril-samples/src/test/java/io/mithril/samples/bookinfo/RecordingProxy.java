package io.mithril.samples.bookinfo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A tiny forward HTTP proxy for tests: it records each request line's target as received (so
 * absolute-form is visible) with its headers, and forwards requests for the authorities it was told
 * about (e.g. {@code details:9080}) to local ports. Others get 502.
 */
final class RecordingProxy implements AutoCloseable {

    record Recorded(
            String method, String requestTarget, String host, Map<String, List<String>> headers) {
        String header(String name) {
            for (Map.Entry<String, List<String>> h : headers.entrySet()) {
                if (h.getKey().equalsIgnoreCase(name)) {
                    return h.getValue().get(0);
                }
            }
            return null;
        }
    }

    private static final Set<String> HOP_BY_HOP =
            Set.of(
                    "host",
                    "connection",
                    "content-length",
                    "expect",
                    "upgrade",
                    "proxy-connection",
                    "keep-alive",
                    "transfer-encoding",
                    "te",
                    "trailer");

    final List<Recorded> requests = new CopyOnWriteArrayList<>();
    private final Map<String, Integer> routes = new ConcurrentHashMap<>();
    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final HttpClient client =
            HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(10))
                    .build();

    RecordingProxy() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setExecutor(executor);
        server.createContext("/", this::forward);
        server.start();
    }

    /**
     * Requests for {@code authority} (host:port as the client writes it) go to 127.0.0.1:{@code
     * port}.
     */
    RecordingProxy route(String authority, int port) {
        routes.put(authority, port);
        return this;
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void forward(HttpExchange ex) throws IOException {
        try (ex) {
            URI target = ex.getRequestURI();
            requests.add(
                    new Recorded(
                            ex.getRequestMethod(),
                            target.toString(),
                            ex.getRequestHeaders().getFirst("Host"),
                            Map.copyOf(ex.getRequestHeaders())));
            Integer port =
                    target.getHost() == null
                            ? null
                            : routes.get(
                                    target.getHost()
                                            + ":"
                                            + (target.getPort() < 0 ? 80 : target.getPort()));
            if (port == null) {
                ex.sendResponseHeaders(502, -1);
                return;
            }
            HttpRequest.Builder b =
                    HttpRequest.newBuilder(
                                    URI.create(
                                            "http://127.0.0.1:"
                                                    + port
                                                    + target.getRawPath()
                                                    + (target.getRawQuery() == null
                                                            ? ""
                                                            : "?" + target.getRawQuery())))
                            .method(
                                    ex.getRequestMethod(),
                                    HttpRequest.BodyPublishers.ofByteArray(
                                            ex.getRequestBody().readAllBytes()));
            ex.getRequestHeaders()
                    .forEach(
                            (k, vs) -> {
                                if (!HOP_BY_HOP.contains(k.toLowerCase(java.util.Locale.ROOT))) {
                                    vs.forEach(v -> b.header(k, v));
                                }
                            });
            HttpResponse<byte[]> res;
            try {
                res = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            } catch (IOException e) {
                ex.sendResponseHeaders(502, -1);
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ex.sendResponseHeaders(503, -1);
                return;
            }
            res.headers()
                    .map()
                    .forEach(
                            (k, vs) -> {
                                if (!HOP_BY_HOP.contains(k.toLowerCase(java.util.Locale.ROOT))
                                        && !k.startsWith(":")) {
                                    ex.getResponseHeaders().put(k, vs);
                                }
                            });
            ex.sendResponseHeaders(
                    res.statusCode(), res.body().length == 0 ? -1 : res.body().length);
            if (res.body().length > 0) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(res.body());
                }
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
