package io.mithril.server.federation;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.mithril.server.ca.TrustBundle;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SPIFFE bundle endpoint (SPIRE's {@code federation.bundle_endpoint}): an HTTPS server whose
 * {@code GET /} answers the server's current trust bundle in the SPIFFE bundle format, with {@code
 * spiffe_sequence} and the configured {@code spiffe_refresh_hint}. TLS presents what the profile
 * says: the server's own X509-SVID ({@code https_spiffe}) or a web certificate ({@code https_web});
 * no client certificate is asked for (the bundle is public).
 */
public final class BundleEndpointServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BundleEndpointServer.class);

    private final HttpsServer server;
    private final ExecutorService executor;

    private BundleEndpointServer(HttpsServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * Starts listening.
     *
     * @param keyManager presents the endpoint's certificate on each handshake
     * @param bundle the current bundle, read on every request
     * @throws IOException when the address cannot be bound
     */
    public static BundleEndpointServer start(
            InetSocketAddress bind,
            KeyManager keyManager,
            Duration refreshHint,
            Supplier<TrustBundle> bundle)
            throws IOException {
        SSLContext ssl;
        try {
            ssl = SSLContext.getInstance("TLS");
            ssl.init(new KeyManager[] {keyManager}, null, null);
        } catch (GeneralSecurityException e) {
            throw new IOException("bundle endpoint TLS: " + e.getMessage(), e);
        }
        HttpsServer server = HttpsServer.create(bind, 16);
        server.setHttpsConfigurator(new HttpsConfigurator(ssl));
        ExecutorService executor =
                Executors.newFixedThreadPool(
                        2,
                        r -> {
                            Thread t = new Thread(r, "mithril-bundle-endpoint");
                            t.setDaemon(true);
                            return t;
                        });
        server.setExecutor(executor);
        server.createContext("/", exchange -> handle(exchange, refreshHint, bundle));
        server.start();
        return new BundleEndpointServer(server, executor);
    }

    private static void handle(
            HttpExchange exchange, Duration refreshHint, Supplier<TrustBundle> bundle)
            throws IOException {
        try (exchange) {
            if (!exchange.getRequestMethod().equals("GET")) {
                exchange.getResponseHeaders().set("Allow", "GET");
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            if (!exchange.getRequestURI().getPath().equals("/")) {
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            byte[] body;
            try {
                body =
                        bundle.get()
                                .toSpiffeBundle()
                                .withRefreshHint(refreshHint)
                                .toJson()
                                .getBytes(StandardCharsets.UTF_8);
            } catch (RuntimeException e) {
                log.error("Bundle endpoint: cannot render the bundle: {}", e.toString());
                exchange.sendResponseHeaders(500, -1);
                return;
            }
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** The bound address (the real port when port 0 was asked for). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
