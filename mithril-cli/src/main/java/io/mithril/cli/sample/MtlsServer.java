package io.mithril.cli.sample;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.mithril.api.workload.client.X509Context;
import io.mithril.api.workload.client.X509Source;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509Svid;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeKeyManager;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A workload outside the mesh that serves HTTPS with mutual TLS on its own X509-SVID from the
 * Workload API, as go-spiffe's {@code spiffetls} server does: its certificate is the current SVID
 * (a rotation reaches the next handshake), a client must present an X509-SVID that validates
 * against the bundle of its trust domain and whose SPIFFE ID is one of the authorized ones, else
 * the handshake fails. Every answer says who called (the SPIFFE ID the handshake verified) and,
 * when the call came through a gateway, the {@code x-forwarded-client-cert} it added.
 */
public final class MtlsServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MtlsServer.class);

    private final X509Source source;
    private final HttpsServer server;
    private final ExecutorService executor;

    private MtlsServer(X509Source source, HttpsServer server, ExecutorService executor) {
        this.source = source;
        this.server = server;
        this.executor = executor;
    }

    /**
     * Waits up to {@code timeout} for an SVID from the Workload API at {@code socket}, then serves
     * on {@code address}, admitting only clients whose SPIFFE ID is in {@code authorized}.
     */
    public static MtlsServer start(
            String socket, Duration timeout, InetSocketAddress address, List<SpiffeId> authorized)
            throws IOException {
        if (authorized.isEmpty()) {
            throw new IllegalArgumentException("at least one authorized SPIFFE ID is required");
        }
        X509Source source = X509Source.start(socket, timeout);
        try {
            SpiffeTrustManager trust =
                    new SpiffeTrustManager(
                                    td -> bundle(source.current(), td),
                                    SpiffeIdAuthorizer.oneOf(authorized))
                            .withRefusalListener(
                                    (who, reason) ->
                                            log.info(
                                                    "refused a client {}: {}",
                                                    who,
                                                    reason.getMessage()));
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(
                    new KeyManager[] {new SpiffeKeyManager(() -> svid(source.current()))},
                    new TrustManager[] {trust},
                    null);
            HttpsServer server = HttpsServer.create(address, 64);
            server.setHttpsConfigurator(
                    new HttpsConfigurator(ssl) {
                        @Override
                        public void configure(HttpsParameters params) {
                            SSLParameters p = ssl.getDefaultSSLParameters();
                            p.setNeedClientAuth(true);
                            p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
                            params.setSSLParameters(p);
                        }
                    });
            ExecutorService executor =
                    Executors.newFixedThreadPool(
                            4,
                            r -> {
                                Thread t = new Thread(r, "mtls-server");
                                t.setDaemon(true);
                                return t;
                            });
            server.setExecutor(executor);
            SpiffeId self = source.current().defaultSvid().spiffeId();
            server.createContext("/", exchange -> handle(exchange, self));
            server.start();
            return new MtlsServer(source, server, executor);
        } catch (GeneralSecurityException | IOException | RuntimeException e) {
            source.close();
            if (e instanceof IOException io) {
                throw io;
            }
            throw new IOException("mTLS server: " + e.getMessage(), e);
        }
    }

    private static X509Svid svid(X509Context ctx) {
        X509Context.Svid s = ctx.defaultSvid();
        return X509Svid.of(s.chain(), s.privateKey());
    }

    private static X509Bundle bundle(X509Context ctx, TrustDomain td) {
        List<X509Certificate> roots = ctx.bundles().get(td);
        if (roots == null) {
            throw new BundleNotFoundException(td);
        }
        return X509Bundle.of(td, roots);
    }

    private static void handle(HttpExchange exchange, SpiffeId self) throws IOException {
        String peer = "unknown";
        if (exchange instanceof com.sun.net.httpserver.HttpsExchange https) {
            SSLSession session = https.getSSLSession();
            try {
                X509Certificate leaf = (X509Certificate) session.getPeerCertificates()[0];
                peer =
                        io.mithril.pki.Certificates.spiffeId(leaf)
                                .map(SpiffeId::toString)
                                .orElse("unknown");
            } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                peer = "none";
            }
        }
        String xfcc = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
        String body =
                "external workload "
                        + self
                        + "\npeer: "
                        + peer
                        + "\nrequest: "
                        + exchange.getRequestMethod()
                        + " "
                        + exchange.getRequestURI()
                        + " host "
                        + exchange.getRequestHeaders().getFirst("Host")
                        + (xfcc == null ? "" : "\nx-forwarded-client-cert: " + xfcc)
                        + "\n";
        log.info("{} {} from {}", exchange.getRequestMethod(), exchange.getRequestURI(), peer);
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** Where it listens (the port it got, with port 0). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** The SPIFFE ID it serves with. */
    public SpiffeId spiffeId() {
        return source.current().defaultSvid().spiffeId();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        source.close();
    }
}
