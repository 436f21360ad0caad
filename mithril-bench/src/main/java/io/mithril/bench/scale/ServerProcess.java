package io.mithril.bench.scale;

import io.mithril.api.types.Bundle;
import io.mithril.bench.ChildJvm;
import io.mithril.server.api.admin.AdminClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One identity server of the {@code scale} bench: a {@code server.conf} as an operator writes it
 * (PostgreSQL datastore, join_token attestor, disk key manager, disk upstream CA shared by every
 * server, Prometheus telemetry) and {@link ScaleServerMain} in a JVM of its own started from it.
 * Can be killed with SIGKILL and started again from the same file.
 */
final class ServerProcess implements AutoCloseable {

    private final String name;
    private final Path dir;
    private final Path conf;
    private final int agentPort;
    private final int metricsPort;
    private ChildJvm jvm;

    private ServerProcess(String name, Path dir, Path conf, int agentPort, int metricsPort) {
        this.name = name;
        this.dir = dir;
        this.conf = conf;
        this.agentPort = agentPort;
        this.metricsPort = metricsPort;
    }

    /** The {@code server.conf} text. */
    static String serverConf(
            Path dir,
            int agentPort,
            int metricsPort,
            String databaseUrl,
            Path upstreamCert,
            Path upstreamKey,
            Duration svidTtl) {
        return "server {\n"
                + "    bind_address = \"127.0.0.1\"\n"
                + "    bind_port = \""
                + agentPort
                + "\"\n"
                + "    socket_path = \""
                + dir.resolve("private/api.sock")
                + "\"\n"
                + "    trust_domain = \"example.org\"\n"
                + "    data_dir = \""
                + dir.resolve("data")
                + "\"\n"
                + "    log_level = \"INFO\"\n"
                // Every simulated agent connects from 127.0.0.1: SPIRE's per-IP limits (one
                // attestation a second) would measure the limiter, not the server.
                + "    ratelimit {\n        attestation = false\n        signing = false\n    }\n"
                + "    ca_ttl = \"24h\"\n"
                + "    default_x509_svid_ttl = \""
                + svidTtl.toSeconds()
                + "s\"\n"
                + "    agent_ttl = \""
                + agentTtl(svidTtl).toSeconds()
                + "s\"\n"
                + "}\n\n"
                + "plugins {\n"
                + "    DataStore \"sql\" {\n"
                + "        plugin_data {\n"
                + "            database_type = \"postgres\"\n"
                + "            connection_string = \""
                + databaseUrl
                + "\"\n"
                + "        }\n"
                + "    }\n"
                + "    NodeAttestor \"join_token\" {\n"
                + "        plugin_data {\n"
                + "        }\n"
                + "    }\n"
                + "    KeyManager \"disk\" {\n"
                + "        plugin_data {\n"
                + "            keys_path = \""
                + dir.resolve("data/keys.json")
                + "\"\n"
                + "        }\n"
                + "    }\n"
                + "    UpstreamAuthority \"disk\" {\n"
                + "        plugin_data {\n"
                + "            key_file_path = \""
                + upstreamKey
                + "\"\n"
                + "            cert_file_path = \""
                + upstreamCert
                + "\"\n"
                + "        }\n"
                + "    }\n"
                + "}\n\n"
                + "telemetry {\n"
                + "    Prometheus {\n"
                + "        host = \"127.0.0.1\"\n"
                + "        port = "
                + metricsPort
                + "\n"
                + "    }\n"
                + "}\n";
    }

    /**
     * The agent SVID TTL for an X.509-SVID TTL: the same, but at least ten minutes, so that the
     * first agents of a burst still hold a valid SVID when the last one has attested and the fleet
     * starts syncing (5,000 agents on a loaded machine: minutes), and an agent whose syncs back off
     * for six intervals still renews in time (a join-token agent whose SVID expired cannot attest
     * again). Agents renew at half life, so renewals still fall in a long run's window.
     */
    static Duration agentTtl(Duration svidTtl) {
        return svidTtl.compareTo(MIN_AGENT_TTL) < 0 ? MIN_AGENT_TTL : svidTtl;
    }

    static final Duration MIN_AGENT_TTL = Duration.ofMinutes(10);

    /** Writes {@code <dir>/server.conf} and starts the server from it. */
    static ServerProcess start(
            String name,
            Path dir,
            String databaseUrl,
            Path upstreamCert,
            Path upstreamKey,
            Duration svidTtl)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path conf = dir.resolve("server.conf");
        int agentPort = freePort();
        int metricsPort = freePort();
        Files.writeString(
                conf,
                serverConf(
                        dir,
                        agentPort,
                        metricsPort,
                        databaseUrl,
                        upstreamCert,
                        upstreamKey,
                        svidTtl));
        ServerProcess p = new ServerProcess(name, dir, conf, agentPort, metricsPort);
        p.startAgain();
        return p;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * Starts the server (again, after {@link #kill()}) from the same configuration; returns once it
     * serves.
     */
    void startAgain() throws IOException, InterruptedException {
        jvm =
                ChildJvm.startServer(
                        name, ScaleServerMain.class, dir.resolve("server.log"), conf.toString());
        int port = jvm.awaitReady(ScaleServerMain.READY);
        if (port != agentPort) {
            throw new IOException(
                    name
                            + " serves the agent API on port "
                            + port
                            + ", its server.conf says "
                            + agentPort);
        }
    }

    String name() {
        return name;
    }

    InetSocketAddress agentApi() {
        return new InetSocketAddress("127.0.0.1", agentPort);
    }

    Path adminSocket() {
        return dir.resolve("private/api.sock");
    }

    long pid() {
        return jvm.pid();
    }

    long cpuTicks() throws IOException {
        return jvm.cpuTicks();
    }

    long rssKb() {
        return jvm.rssKb();
    }

    /** The server's bundle, through its admin API. */
    Bundle bundle() {
        try (AdminClient admin = AdminClient.connect(adminSocket())) {
            return admin.admin()
                    .getBundle(io.mithril.api.admin.GetBundleRequest.getDefaultInstance());
        }
    }

    /**
     * {@code mithril_server_svids_signed_total{kind="x509"}} from the server's Prometheus endpoint.
     */
    long x509SvidsSigned() throws IOException, InterruptedException {
        return (long) metric(scrape(), "mithril_server_svids_signed_total{kind=\"x509\"}");
    }

    /** {@code mithril_server_authorized_entries_cache_rebuilds_total}: index builds so far. */
    long indexRebuilds() throws IOException, InterruptedException {
        return (long) metric(scrape(), "mithril_server_authorized_entries_cache_rebuilds_total");
    }

    String scrape() throws IOException, InterruptedException {
        HttpResponse<String> r =
                HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(
                                                URI.create(
                                                        "http://127.0.0.1:"
                                                                + metricsPort
                                                                + "/metrics"))
                                        .timeout(Duration.ofSeconds(10))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (r.statusCode() != 200) {
            throw new IOException(name + ": metrics endpoint answered " + r.statusCode());
        }
        return r.body();
    }

    /**
     * The value of the sample {@code series} (name and labels exactly as exposed) in a Prometheus
     * text exposition; 0 when the series is absent (a counter not incremented yet).
     */
    static double metric(String exposition, String series) {
        for (String line : exposition.split("\n")) {
            if (line.startsWith(series + " ")) {
                String[] f = line.substring(series.length()).trim().split("\\s+");
                return Double.parseDouble(f[0]);
            }
        }
        return 0;
    }

    /** SIGKILL, as a crashed machine: no shutdown hook runs, open connections are reset. */
    void kill() throws InterruptedException {
        ProcessHandle h = ProcessHandle.of(jvm.pid()).orElse(null);
        if (h != null) {
            h.destroyForcibly();
            h.onExit().join();
        }
    }

    @Override
    public void close() {
        if (jvm != null) {
            jvm.close();
        }
    }
}
