package io.mithril.proxy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An application behind a proxy: answers every request with what it saw (name, method, path and
 * request headers, one per line), so tests can check routing, rewrites and added headers. {@code
 * /status/NNN} answers with that status; {@code /slow} waits two seconds.
 */
final class TestBackend implements AutoCloseable {

    static {
        // The JDK server writes headers and body separately; without TCP_NODELAY, Nagle and
        // delayed ACKs add 40 ms to every keep-alive exchange.
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    final String name;
    final HttpServer server;
    final AtomicInteger requests = new AtomicInteger();

    /**
     * Requests whose body arrived whole (bodies stream: a request begins before its body is
     * complete).
     */
    final AtomicInteger wholeBodies = new AtomicInteger();

    TestBackend(String name) throws IOException {
        this.name = name;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.createContext(
                "/",
                ex -> {
                    requests.incrementAndGet();
                    String path =
                            ex.getRequestURI().getRawPath()
                                    + (ex.getRequestURI().getRawQuery() == null
                                            ? ""
                                            : "?" + ex.getRequestURI().getRawQuery());
                    int status = 200;
                    if (path.startsWith("/status/")) {
                        status = Integer.parseInt(path.substring(8, 11));
                    }
                    if (path.startsWith("/slow")) {
                        try {
                            Thread.sleep(2000);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    StringBuilder sb = new StringBuilder();
                    sb.append("backend=").append(name).append('\n');
                    sb.append("method=").append(ex.getRequestMethod()).append('\n');
                    sb.append("path=").append(path).append('\n');
                    Map<String, List<String>> sorted = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
                    sorted.putAll(ex.getRequestHeaders());
                    sorted.forEach(
                            (k, v) ->
                                    sb.append(k.toLowerCase())
                                            .append(": ")
                                            .append(String.join(",", v))
                                            .append('\n'));
                    ex.getRequestBody().readAllBytes();
                    wholeBodies.incrementAndGet();
                    byte[] body = sb.toString().getBytes(StandardCharsets.UTF_8);
                    ex.getResponseHeaders().set("Content-Type", "text/plain");
                    ex.getResponseHeaders().set("X-Backend", name);
                    ex.sendResponseHeaders(status, body.length);
                    try (OutputStream out = ex.getResponseBody()) {
                        out.write(body);
                    }
                });
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
