package io.mithril.dashboard;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509Svid;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeKeyManager;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the dashboard: the page and its scripts (from the jar; the front-end library is vendored
 * at build time), {@code GET /api/state} (the state as JSON) and {@code GET /api/stream}
 * (Server-Sent Events: the state again each time it changes). Read-only: any method but GET gets
 * 405.
 *
 * <p>On a loopback address it is plain HTTP, like the components' own admin endpoints. On any other
 * address it is HTTPS with client certificates required: the client's X509-SVID must chain to the
 * given bundle and its SPIFFE ID be one of the allowed ones, or the handshake is refused; there is
 * no way to serve a non-loopback address without that.
 */
public final class DashboardServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DashboardServer.class);
    private static final int MAX_STREAMS = 16;
    private static final Map<String, String> ASSETS =
            Map.of(
                    "/",
                    "index.html",
                    "/index.html",
                    "index.html",
                    "/app.js",
                    "app.js",
                    "/style.css",
                    "style.css",
                    "/vendor/cytoscape.min.js",
                    "vendor/cytoscape.min.js");

    /**
     * The mTLS settings for a non-loopback address: the dashboard's SVID, the bundle clients chain
     * to, who may look.
     */
    public record Mtls(Path certFile, Path keyFile, Path bundleFile, List<SpiffeId> allowed) {
        public Mtls {
            allowed = List.copyOf(allowed);
            if (allowed.isEmpty()) {
                throw new IllegalArgumentException(
                        "a non-loopback dashboard needs at least one allowed SPIFFE ID (-allowedID)");
            }
        }
    }

    private final HttpServer server;
    private final ExecutorService executor;
    private final Collector collector;
    private final Semaphore streams = new Semaphore(MAX_STREAMS);
    private final String scheme;
    private volatile boolean closed;

    private DashboardServer(
            HttpServer server, ExecutorService executor, Collector collector, String scheme) {
        this.server = server;
        this.executor = executor;
        this.collector = collector;
        this.scheme = scheme;
    }

    /**
     * Binds {@code address}. A non-loopback address needs {@code mtls}.
     *
     * @throws IllegalArgumentException for a non-loopback address without mTLS, or bad mTLS files
     * @throws IOException if the address cannot be bound
     */
    public static DashboardServer start(InetSocketAddress address, Mtls mtls, Collector collector)
            throws IOException {
        return start(address, mtls, collector, Clock.systemUTC());
    }

    /**
     * As {@link #start(InetSocketAddress, Mtls, Collector)}, with the clock that paces re-reading
     * the mTLS files.
     */
    public static DashboardServer start(
            InetSocketAddress address, Mtls mtls, Collector collector, Clock clock)
            throws IOException {
        if (address.isUnresolved()) {
            throw new IllegalArgumentException(
                    "cannot resolve the dashboard address " + address.getHostString());
        }
        boolean loopback = address.getAddress().isLoopbackAddress();
        if (!loopback && mtls == null) {
            throw new IllegalArgumentException(
                    "the dashboard address "
                            + address.getAddress().getHostAddress()
                            + " is not a loopback address: it is served only with mTLS; give -cert, -key, -bundle and -allowedID");
        }
        HttpServer server;
        if (mtls != null) {
            HttpsServer https = HttpsServer.create(address, 64);
            SSLContext ssl = sslContext(mtls, clock);
            https.setHttpsConfigurator(
                    new HttpsConfigurator(ssl) {
                        @Override
                        public void configure(HttpsParameters params) {
                            SSLParameters p = ssl.getDefaultSSLParameters();
                            p.setNeedClientAuth(true);
                            p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
                            params.setSSLParameters(p);
                        }
                    });
            server = https;
        } else {
            server = HttpServer.create(address, 64);
        }
        ExecutorService executor =
                Executors.newFixedThreadPool(
                        MAX_STREAMS + 4,
                        r -> {
                            Thread t = new Thread(r, "dashboard-http");
                            t.setDaemon(true);
                            return t;
                        });
        server.setExecutor(executor);
        DashboardServer d =
                new DashboardServer(server, executor, collector, mtls != null ? "https" : "http");
        server.createContext("/", d::handle);
        server.start();
        log.info("dashboard on {}", d.url());
        return d;
    }

    private static SSLContext sslContext(Mtls mtls, Clock clock) throws IOException {
        try {
            MtlsFiles files = new MtlsFiles(mtls, clock);
            SpiffeTrustManager trust =
                    new SpiffeTrustManager(
                                    files::bundleFor, SpiffeIdAuthorizer.oneOf(mtls.allowed()))
                            .withRefusalListener(
                                    (who, reason) ->
                                            log.info(
                                                    "dashboard refused a client {}: {}",
                                                    who,
                                                    reason.getMessage()));
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(
                    new KeyManager[] {new SpiffeKeyManager(files::svid)},
                    new TrustManager[] {trust},
                    null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("dashboard mTLS: " + e.getMessage(), e);
        }
    }

    /**
     * The dashboard's SVID and the bundle, from the files named by {@link Mtls}, following a
     * rotation as the proxies follow theirs: when any of the three files changes (modification
     * time, checked at most once a second, on a handshake), the three are read again and new
     * handshakes use them. Whatever writes them (an agent's {@code api fetch x509 -write}, a
     * helper) may be caught half-way: a set that does not load is logged and the previous one is
     * kept until the next change.
     */
    static final class MtlsFiles {
        private static final Duration CHECK = Duration.ofSeconds(1);

        private final Mtls mtls;
        private final Clock clock;
        private volatile Loaded loaded;
        private volatile Instant nextCheck;

        private record Loaded(X509Svid svid, X509Bundle bundle, List<FileTime> times) {}

        /**
         * @throws IllegalArgumentException naming the files when they cannot be used
         */
        MtlsFiles(Mtls mtls, Clock clock) {
            this.mtls = mtls;
            this.clock = clock;
            this.loaded = read();
            this.nextCheck = clock.instant().plus(CHECK);
        }

        private List<FileTime> times() throws IOException {
            return List.of(
                    Files.getLastModifiedTime(mtls.certFile()),
                    Files.getLastModifiedTime(mtls.keyFile()),
                    Files.getLastModifiedTime(mtls.bundleFile()));
        }

        private Loaded read() {
            try {
                List<FileTime> times = times();
                X509Svid svid =
                        X509Svid.parsePem(
                                Files.readAllBytes(mtls.certFile()),
                                Files.readAllBytes(mtls.keyFile()));
                X509Bundle bundle =
                        X509Bundle.parse(
                                svid.spiffeId().trustDomain(),
                                Files.readAllBytes(mtls.bundleFile()));
                return new Loaded(svid, bundle, times);
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException(
                        "dashboard mTLS ("
                                + mtls.certFile()
                                + ", "
                                + mtls.keyFile()
                                + ", "
                                + mtls.bundleFile()
                                + "): "
                                + e.getMessage(),
                        e);
            }
        }

        private Loaded current() {
            Instant now = clock.instant();
            if (now.isAfter(nextCheck)) {
                synchronized (this) {
                    if (now.isAfter(nextCheck)) {
                        nextCheck = now.plus(CHECK);
                        try {
                            if (!times().equals(loaded.times())) {
                                loaded = read();
                                log.info(
                                        "dashboard SVID reloaded from {}: {} (serial {}, until {})",
                                        mtls.certFile(),
                                        loaded.svid().spiffeId(),
                                        loaded.svid().leaf().getSerialNumber().toString(16),
                                        loaded.svid().leaf().getNotAfter().toInstant());
                            }
                        } catch (IOException | IllegalArgumentException e) {
                            log.warn(
                                    "dashboard SVID not reloaded, keeping the previous one: {}",
                                    e.getMessage());
                        }
                    }
                }
            }
            return loaded;
        }

        X509Svid svid() {
            return current().svid();
        }

        X509Bundle bundleFor(TrustDomain td) {
            X509Bundle b = current().bundle();
            if (!b.trustDomain().equals(td)) {
                throw new BundleNotFoundException(td);
            }
            return b;
        }
    }

    /** The page's address. */
    public String url() {
        InetSocketAddress a = server.getAddress();
        String host = a.getAddress().getHostAddress();
        return scheme
                + "://"
                + (host.contains(":") ? "[" + host + "]" : host)
                + ":"
                + a.getPort()
                + "/";
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                send(
                        ex,
                        405,
                        "text/plain; charset=utf-8",
                        "the dashboard is read-only: use GET\n".getBytes(StandardCharsets.UTF_8));
                return;
            }
            if (scheme.equals("http") && !loopbackHost(ex.getRequestHeaders().getFirst("Host"))) {
                // Plain HTTP is only served on loopback; a page elsewhere that rebinds its DNS name
                // to
                // 127.0.0.1 still sends its own name as Host, and must not read the mesh's state.
                send(
                        ex,
                        403,
                        "text/plain; charset=utf-8",
                        ("open the dashboard as http://127.0.0.1:" + port() + "/ (or localhost)\n")
                                .getBytes(StandardCharsets.UTF_8));
                return;
            }
            String path = ex.getRequestURI().getPath();
            switch (path) {
                case "/api/state" ->
                        send(
                                ex,
                                200,
                                "application/json",
                                collector.stateJson().getBytes(StandardCharsets.UTF_8));
                case "/api/stream" -> stream(ex);
                default -> asset(ex, path);
            }
        }
    }

    /**
     * Whether a request's Host names this loopback listener (127.0.0.1, [::1] or localhost, on its
     * port).
     */
    private boolean loopbackHost(String host) {
        if (host == null) {
            return false;
        }
        String h = host.toLowerCase(java.util.Locale.ROOT);
        return java.util.List.of("127.0.0.1", "[::1]", "localhost").stream()
                .anyMatch(n -> h.equals(n + ":" + port()));
    }

    private void asset(HttpExchange ex, String path) throws IOException {
        String name = ASSETS.get(path);
        if (name == null) {
            send(
                    ex,
                    404,
                    "text/plain; charset=utf-8",
                    ("not found: " + path + "\n").getBytes(StandardCharsets.UTF_8));
            return;
        }
        try (InputStream in = DashboardServer.class.getResourceAsStream("web/" + name)) {
            if (in == null) {
                throw new IOException("asset web/" + name + " is missing from the jar");
            }
            String type =
                    name.endsWith(".html")
                            ? "text/html; charset=utf-8"
                            : name.endsWith(".css")
                                    ? "text/css; charset=utf-8"
                                    : "text/javascript; charset=utf-8";
            send(ex, 200, type, in.readAllBytes());
        }
    }

    private void stream(HttpExchange ex) throws IOException {
        if (!streams.tryAcquire()) {
            send(
                    ex,
                    503,
                    "text/plain; charset=utf-8",
                    "too many open dashboard streams\n".getBytes(StandardCharsets.UTF_8));
            return;
        }
        LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>(8);
        Consumer<String> listener =
                s -> {
                    if (!queue.offer(s)) {
                        queue.clear();
                        queue.offer(s);
                    }
                };
        collector.subscribe(listener);
        try {
            headers(ex, "text/event-stream; charset=utf-8");
            ex.getResponseHeaders().set("Cache-Control", "no-store");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            write(out, "retry: 2000\n");
            write(out, "data: " + collector.stateJson() + "\n\n");
            while (!closed) {
                String next = queue.poll(15, TimeUnit.SECONDS);
                // A comment line every 15 s finds clients that went away.
                write(out, next == null ? ": keep-alive\n\n" : "data: " + next + "\n\n");
            }
        } catch (IOException e) {
            // the client went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            collector.unsubscribe(listener);
            streams.release();
        }
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void headers(HttpExchange ex, String type) {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        ex.getResponseHeaders()
                .set(
                        "Content-Security-Policy",
                        "default-src 'self'; style-src 'self' 'unsafe-inline'");
        ex.getResponseHeaders().set("X-Frame-Options", "DENY");
    }

    private static void send(HttpExchange ex, int code, String type, byte[] body)
            throws IOException {
        headers(ex, type);
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(code, head ? -1 : body.length == 0 ? -1 : body.length);
        if (!head) {
            ex.getResponseBody().write(body);
        }
    }

    @Override
    public void close() {
        closed = true;
        server.stop(0);
        executor.shutdownNow();
    }
}
