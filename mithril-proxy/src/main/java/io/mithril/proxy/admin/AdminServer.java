package io.mithril.proxy.admin;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.mithril.proxy.Proxy;
import io.mithril.proxy.Snapshot;
import io.mithril.proxy.identity.Identity;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.regex.Pattern;

/**
 * The proxy's admin endpoint (Envoy's 15000 / Istio's 15021 and 15020): {@code /ready} and {@code
 * /healthz/ready} (200 when ready, 503 with the reason otherwise), {@code /config_dump} (the
 * compiled configuration as JSON), {@code /certs} (the current SVID) and {@code /stats/prometheus}
 * or {@code /metrics} (Prometheus text) and {@code /debug/refused_handshakes} (the newest inbound
 * TLS handshakes refused, with the reason; read by {@code mithril dashboard}).
 */
public final class AdminServer implements AutoCloseable {

    private static final ObjectMapper JSON =
            new ObjectMapper()
                    .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
                    .enable(SerializationFeature.INDENT_OUTPUT)
                    .registerModule(
                            new SimpleModule()
                                    .addSerializer(Duration.class, new ToStringSerializer<>())
                                    .addSerializer(Pattern.class, new ToStringSerializer<>()));

    private static final class ToStringSerializer<T> extends JsonSerializer<T> {
        @Override
        public void serialize(T value, JsonGenerator gen, SerializerProvider serializers)
                throws IOException {
            gen.writeString(value.toString());
        }
    }

    private final HttpServer server;

    private AdminServer(HttpServer server) {
        this.server = server;
    }

    /**
     * Binds the admin endpoint.
     *
     * @throws IOException when the address cannot be bound
     */
    public static AdminServer start(InetSocketAddress address, Proxy proxy) throws IOException {
        HttpServer server = HttpServer.create(address, 64);
        server.setExecutor(
                Executors.newSingleThreadExecutor(
                        r -> {
                            Thread t = new Thread(r, "proxy-admin");
                            t.setDaemon(true);
                            return t;
                        }));
        server.createContext("/ready", ex -> ready(ex, proxy));
        server.createContext("/healthz/ready", ex -> ready(ex, proxy));
        server.createContext(
                "/config_dump",
                ex -> {
                    Snapshot s = proxy.snapshot();
                    Map<String, Object> dump = new LinkedHashMap<>();
                    dump.put("version", s == null ? 0 : s.version());
                    dump.put("config", s == null ? null : s.config());
                    dump.put("tlsErrors", s == null ? Map.of() : s.tlsErrors());
                    send(ex, 200, "application/json", JSON.writeValueAsString(dump));
                });
        server.createContext(
                "/certs",
                ex -> {
                    Snapshot s = proxy.snapshot();
                    Identity id = s == null ? null : s.identity();
                    Map<String, Object> out = new LinkedHashMap<>();
                    if (id != null) {
                        out.put("spiffeId", id.spiffeId().toString());
                        out.put("serial", id.leaf().getSerialNumber().toString(16));
                        out.put("notBefore", id.leaf().getNotBefore().toInstant().toString());
                        out.put("notAfter", id.leaf().getNotAfter().toInstant().toString());
                        out.put("issuer", id.leaf().getIssuerX500Principal().getName());
                        out.put("chainLength", id.chain().size());
                        out.put(
                                "bundles",
                                id.bundles().keySet().stream()
                                        .map(Object::toString)
                                        .sorted()
                                        .toList());
                    }
                    send(ex, 200, "application/json", JSON.writeValueAsString(out));
                });
        server.createContext(
                "/debug/refused_handshakes",
                ex ->
                        send(
                                ex,
                                200,
                                "application/json",
                                JSON.writeValueAsString(
                                        proxy.metrics().refusedHandshakes().stream()
                                                .map(
                                                        r ->
                                                                Map.of(
                                                                        "at",
                                                                        r.at().toString(),
                                                                        "listener",
                                                                        r.listener(),
                                                                        "peer",
                                                                        r.peer(),
                                                                        "reason",
                                                                        r.reason()))
                                                .toList())));
        server.createContext(
                "/stats/prometheus",
                ex ->
                        send(
                                ex,
                                200,
                                "text/plain; version=0.0.4; charset=utf-8",
                                proxy.metrics().scrape()));
        server.createContext(
                "/metrics",
                ex ->
                        send(
                                ex,
                                200,
                                "text/plain; version=0.0.4; charset=utf-8",
                                proxy.metrics().scrape()));
        server.start();
        return new AdminServer(server);
    }

    private static void ready(HttpExchange ex, Proxy proxy) throws IOException {
        String why = proxy.notReadyReason();
        if (why.isEmpty()) {
            send(ex, 200, "text/plain", "LIVE\n");
        } else {
            send(ex, 503, "text/plain", "not ready: " + why + "\n");
        }
    }

    private static void send(HttpExchange ex, int status, String type, String body)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** Where the endpoint is bound. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
