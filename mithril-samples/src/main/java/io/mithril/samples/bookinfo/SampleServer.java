package io.mithril.samples.bookinfo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP plumbing every bookinfo service shares: the JDK's HTTP/1.1 server, one handler for all
 * paths, HEAD answered like GET without a body (so {@code curl -I} works), and a handler failure
 * turned into a 500 reply instead of a dropped connection.
 *
 * <p>Construct, {@link #start()}, and {@link #close()} when done; {@link #port()} is the bound port
 * (useful with port 0).
 */
public abstract class SampleServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SampleServer.class);
    private static final int MAX_BODY = 1 << 20;

    private final String name;
    private final HttpServer server;
    private final ExecutorService executor;

    /** Binds {@code listen} at once so a busy port fails here, naming the address. */
    protected SampleServer(String name, InetSocketAddress listen) throws IOException {
        this.name = name;
        try {
            this.server = HttpServer.create(listen, 128);
        } catch (IOException e) {
            throw new IOException(name + ": cannot listen on " + listen + ": " + e.getMessage(), e);
        }
        AtomicInteger n = new AtomicInteger();
        this.executor =
                Executors.newFixedThreadPool(
                        16,
                        r -> {
                            Thread t = new Thread(r, name + "-http-" + n.incrementAndGet());
                            t.setDaemon(true);
                            return t;
                        });
        server.setExecutor(executor);
        server.createContext("/", this::dispatch);
    }

    /** Starts serving; returns this. */
    public SampleServer start() {
        server.start();
        log.info(
                "{} listening on {}:{}",
                name,
                server.getAddress().getAddress().getHostAddress(),
                port());
        return this;
    }

    /** The bound address (the real port when constructed with port 0). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public String name() {
        return name;
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        log.info("{} stopped", name);
    }

    /** Answers one request; exceptions become a 500. */
    protected abstract Reply handle(Request request) throws Exception;

    private void dispatch(HttpExchange exchange) throws IOException {
        try (exchange) {
            Reply reply;
            byte[] body = readBody(exchange.getRequestBody());
            if (body == null) {
                reply = Reply.text(413, "Request body larger than " + MAX_BODY + " bytes\n");
            } else {
                Request request =
                        new Request(
                                exchange.getRequestMethod(),
                                exchange.getRequestURI().getRawPath(),
                                exchange.getRequestURI().getRawQuery(),
                                exchange.getRequestHeaders(),
                                body);
                try {
                    reply = handle(request);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    reply = Reply.text(503, "Service shutting down\n");
                } catch (Exception | Error e) {
                    if (e instanceof VirtualMachineError vme) {
                        throw vme;
                    }
                    log.error("{}: {} {} failed", name, request.method(), request.path(), e);
                    reply = Reply.text(500, "Internal Server Error\n");
                }
            }
            write(exchange, reply);
        }
    }

    private static byte[] readBody(InputStream in) throws IOException {
        byte[] body = in.readNBytes(MAX_BODY + 1);
        return body.length > MAX_BODY ? null : body;
    }

    private static void write(HttpExchange exchange, Reply reply) throws IOException {
        var headers = exchange.getResponseHeaders();
        headers.set("Content-Type", reply.contentType());
        for (Map.Entry<String, List<String>> h : reply.headers().entrySet()) {
            headers.put(h.getKey(), h.getValue());
        }
        if (exchange.getRequestMethod().equalsIgnoreCase("HEAD")) {
            // HEAD: the headers GET would send, no body (the JDK server will not send one).
            headers.set("Content-Length", Integer.toString(reply.body().length));
            exchange.sendResponseHeaders(reply.status(), -1);
            return;
        }
        exchange.sendResponseHeaders(
                reply.status(), reply.body().length == 0 ? -1 : reply.body().length);
        if (reply.body().length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(reply.body());
            }
        }
    }

    /** True for GET and HEAD, the methods the read-only endpoints accept. */
    protected static boolean isRead(Request request) {
        return request.method().equals("GET") || request.method().equals("HEAD");
    }
}
