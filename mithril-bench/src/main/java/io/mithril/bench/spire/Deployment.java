package io.mithril.bench.spire;

import io.mithril.api.admin.BatchCreateEntryRequest;
import io.mithril.api.admin.BatchCreateEntryResponse;
import io.mithril.api.types.Entry;
import io.mithril.api.types.Selector;
import io.mithril.bench.ChildJvm;
import io.mithril.pki.Pem;
import io.mithril.server.api.admin.AdminClient;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An identity server and a node agent, each a process of its own, started from the same {@code
 * server.conf} and {@code agent.conf} text (SPIRE's keys; the agent syncs every {@value
 * #SYNC_INTERVAL} through {@code agent.experimental.sync_interval}, the server reloads its entry
 * cache as often through {@code server.experimental.cache_reload_interval}), the Workload API on a
 * Unix socket. {@link #mithril} runs this project's server and agent in JVMs of their own ({@link
 * IdentityMain}), {@link #spire} SPIRE's {@code spire-server} and {@code spire-agent}.
 */
public abstract class Deployment implements AutoCloseable {

    public static final String SYNC_INTERVAL = "200ms";
    static final String TD = "example.org";
    static final String NODE = "spiffe://example.org/bench/node";

    protected final Path dir;
    protected final int port;

    private Deployment(Path dir) throws IOException {
        this.dir = Files.createDirectories(dir);
        try (ServerSocket s = new ServerSocket(0)) {
            this.port = s.getLocalPort();
        }
    }

    /** "Mithril" or "SPIRE". */
    public abstract String name();

    /** The Workload API address, {@code unix:///...}. */
    public String address() {
        return "unix://" + dir.resolve("agent/public/api.sock");
    }

    Path adminSocket() {
        return dir.resolve("server/private/api.sock");
    }

    /**
     * Creates a registration entry for this uid under the node, through the admin API (Mithril) or
     * {@code spire-server entry create} (SPIRE).
     */
    public abstract void createEntry(String spiffeId, int uid) throws Exception;

    /**
     * Creates {@code n} entries {@code prefix0..prefix(n-1)} for this uid in one batch (admin API;
     * SPIRE: {@code entry create -data}).
     */
    public abstract void createEntries(String prefix, int n, int uid) throws Exception;

    public abstract long serverRssKb();

    public abstract long agentRssKb();

    String serverConf() {
        return """
                server {
                    bind_address = "127.0.0.1"
                    bind_port = "%d"
                    socket_path = "%s"
                    trust_domain = "%s"
                    data_dir = "%s"
                    log_level = "WARN"
                    experimental {
                        cache_reload_interval = "%s"
                    }
                }
                plugins {
                    DataStore "sql" {
                        plugin_data {
                            database_type = "sqlite3"
                            connection_string = "%s"
                        }
                    }
                    KeyManager "memory" {
                        plugin_data {}
                    }
                    NodeAttestor "join_token" {
                        plugin_data {}
                    }
                }
                """
                .formatted(
                        port,
                        adminSocket(),
                        TD,
                        dir.resolve("server/data"),
                        SYNC_INTERVAL,
                        dir.resolve("server/data/datastore.sqlite3"));
    }

    String agentConf(String joinToken) {
        return """
                agent {
                    data_dir = "%s"
                    log_level = "WARN"
                    server_address = "127.0.0.1"
                    server_port = "%d"
                    socket_path = "%s"
                    trust_bundle_path = "%s"
                    trust_domain = "%s"
                    join_token = "%s"
                    experimental {
                        sync_interval = "%s"
                    }
                }
                plugins {
                    NodeAttestor "join_token" {
                        plugin_data {}
                    }
                    KeyManager "memory" {
                        plugin_data {}
                    }
                    WorkloadAttestor "unix" {
                        plugin_data {}
                    }
                }
                """
                .formatted(
                        dir.resolve("agent/data"),
                        port,
                        dir.resolve("agent/public/api.sock"),
                        dir.resolve("bundle.pem"),
                        TD,
                        joinToken,
                        SYNC_INTERVAL);
    }

    Path write(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    /**
     * As {@link #write}, for a file that holds a secret (agent.conf holds the join token): mode
     * 0600.
     */
    Path writeSecret(String name, String text) {
        Path p = dir.resolve(name);
        Pem.writeSecret(p, text);
        return p;
    }

    void prepareDirs() throws IOException {
        for (String d : List.of("server/data", "server/private", "agent/data", "agent/public")) {
            Files.createDirectories(dir.resolve(d));
        }
    }

    /** This project's server and agent, each in a JVM of its own. */
    public static Deployment mithril(Path dir) throws Exception {
        return new Mithril(dir);
    }

    /** SPIRE's spire-server and spire-agent from the Go harness. */
    public static Deployment spire(Path dir, GoHarness go) throws Exception {
        return new Spire(dir, go);
    }

    private static final class Mithril extends Deployment {
        private final ChildJvm server;
        private final ChildJvm agent;

        Mithril(Path dir) throws Exception {
            super(dir);
            prepareDirs();
            Path conf = write("server.conf", serverConf());
            server =
                    ChildJvm.start(
                            "the Mithril server",
                            IdentityMain.class,
                            dir.resolve("server.log"),
                            "server",
                            conf.toString(),
                            dir.resolve("bundle.pem").toString(),
                            dir.resolve("token").toString(),
                            NODE);
            ChildJvm a = null;
            try {
                server.awaitReady("SERVER_READY");
                Path agentConf =
                        writeSecret(
                                "agent.conf",
                                agentConf(Files.readString(dir.resolve("token")).trim()));
                a =
                        ChildJvm.start(
                                "the Mithril agent",
                                IdentityMain.class,
                                dir.resolve("agent.log"),
                                "agent",
                                agentConf.toString());
                a.awaitReady("AGENT_READY");
            } catch (Exception e) {
                if (a != null) {
                    a.close();
                }
                server.close();
                throw e;
            }
            agent = a;
        }

        @Override
        public String name() {
            return "Mithril";
        }

        @Override
        public void createEntry(String spiffeId, int uid) {
            create(List.of(spiffeId), uid);
        }

        @Override
        public void createEntries(String prefix, int n, int uid) {
            create(java.util.stream.IntStream.range(0, n).mapToObj(i -> prefix + i).toList(), uid);
        }

        private void create(List<String> ids, int uid) {
            BatchCreateEntryRequest.Builder req = BatchCreateEntryRequest.newBuilder();
            for (String id : ids) {
                req.addEntries(
                        Entry.newBuilder()
                                .setSpiffeId(id)
                                .setParentId(NODE)
                                .addSelectors(
                                        Selector.newBuilder()
                                                .setType("unix")
                                                .setValue("uid:" + uid)));
            }
            try (AdminClient admin = AdminClient.connect(adminSocket())) {
                BatchCreateEntryResponse r = admin.admin().batchCreateEntry(req.build());
                if (r.getResultsCount() != ids.size()
                        || r.getResultsList().stream()
                                .anyMatch(x -> x.getStatus().getCode() != 0)) {
                    throw new IllegalStateException(
                            "Mithril: creating " + ids.size() + " entries failed: " + r);
                }
            }
        }

        @Override
        public long serverRssKb() {
            return server.rssKb();
        }

        @Override
        public long agentRssKb() {
            return agent.rssKb();
        }

        @Override
        public void close() {
            agent.close();
            server.close();
        }
    }

    private static final class Spire extends Deployment {
        private final GoHarness go;
        private final Process server;
        private final Process agent;

        Spire(Path dir, GoHarness go) throws Exception {
            super(dir);
            this.go = go;
            prepareDirs();
            Path conf = write("server.conf", serverConf());
            server =
                    new ProcessBuilder(
                                    go.spireServer().toString(), "run", "-config", conf.toString())
                            .redirectErrorStream(true)
                            .redirectOutput(dir.resolve("server.log").toFile())
                            .start();
            Process a = null;
            try {
                awaitHealthy(
                        List.of(
                                go.spireServer().toString(),
                                "healthcheck",
                                "-socketPath",
                                adminSocket().toString()),
                        server,
                        "server");
                String token =
                        cli(
                                        go.spireServer().toString(),
                                        "token",
                                        "generate",
                                        "-spiffeID",
                                        NODE,
                                        "-ttl",
                                        "1800",
                                        "-socketPath",
                                        adminSocket().toString())
                                .replace("Token:", "")
                                .trim();
                Files.writeString(
                        dir.resolve("bundle.pem"),
                        cli(
                                go.spireServer().toString(),
                                "bundle",
                                "show",
                                "-socketPath",
                                adminSocket().toString()));
                Path agentConf = writeSecret("agent.conf", agentConf(token));
                a =
                        new ProcessBuilder(
                                        go.spireAgent().toString(),
                                        "run",
                                        "-config",
                                        agentConf.toString())
                                .redirectErrorStream(true)
                                .redirectOutput(dir.resolve("agent.log").toFile())
                                .start();
                awaitHealthy(
                        List.of(
                                go.spireAgent().toString(),
                                "healthcheck",
                                "-socketPath",
                                dir.resolve("agent/public/api.sock").toString()),
                        a,
                        "agent");
            } catch (Exception e) {
                stop(a);
                stop(server);
                throw e;
            }
            agent = a;
        }

        private void awaitHealthy(List<String> check, Process p, String what) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                if (!p.isAlive()) {
                    throw new IOException(
                            "spire-"
                                    + what
                                    + " exited ("
                                    + p.exitValue()
                                    + "); see "
                                    + dir.resolve(what + ".log")
                                    + ":\n"
                                    + Files.readString(dir.resolve(what + ".log")));
                }
                Process c =
                        new ProcessBuilder(check)
                                .redirectErrorStream(true)
                                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                                .start();
                if (c.waitFor(10, TimeUnit.SECONDS) && c.exitValue() == 0) {
                    return;
                }
                Thread.sleep(200);
            }
            throw new IOException(
                    "spire-"
                            + what
                            + " was not healthy within 60 s; see "
                            + dir.resolve(what + ".log"));
        }

        private static String cli(String... cmd) throws Exception {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed: " + out);
            }
            return out;
        }

        @Override
        public String name() {
            return "SPIRE";
        }

        @Override
        public void createEntry(String spiffeId, int uid) throws Exception {
            cli(
                    go.spireServer().toString(),
                    "entry",
                    "create",
                    "-parentID",
                    NODE,
                    "-spiffeID",
                    spiffeId,
                    "-selector",
                    "unix:uid:" + uid,
                    "-socketPath",
                    adminSocket().toString());
        }

        @Override
        public void createEntries(String prefix, int n, int uid) throws Exception {
            Path data =
                    write(
                            "entries-" + System.nanoTime() + ".json",
                            registrationJson(prefix, n, i -> uid));
            cli(
                    go.spireServer().toString(),
                    "entry",
                    "create",
                    "-data",
                    data.toString(),
                    "-socketPath",
                    adminSocket().toString());
        }

        @Override
        public long serverRssKb() {
            return ChildJvm.rssKb(server.pid());
        }

        @Override
        public long agentRssKb() {
            return ChildJvm.rssKb(agent.pid());
        }

        private static void stop(Process p) throws InterruptedException {
            if (p == null) {
                return;
            }
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }

        @Override
        public void close() throws Exception {
            stop(agent);
            stop(server);
        }
    }

    /**
     * SPIRE's registration JSON ({@code entry create -data}): entries {@code prefix0..}, under the
     * node, selector {@code unix:uid:uid(i)}.
     */
    static String registrationJson(String prefix, int n, java.util.function.IntUnaryOperator uid) {
        StringBuilder json = new StringBuilder("{\"entries\": [");
        for (int i = 0; i < n; i++) {
            json.append(i == 0 ? "" : ",")
                    .append("{\"spiffe_id\": \"")
                    .append(prefix)
                    .append(i)
                    .append("\", \"parent_id\": \"")
                    .append(NODE)
                    .append("\", \"selectors\": [{\"type\": \"unix\", \"value\": \"uid:")
                    .append(uid.applyAsInt(i))
                    .append("\"}]}");
        }
        return json.append("]}").toString();
    }

    /**
     * Reads the next line of a gospiffe program; fails unless it starts with {@code prefix} within
     * {@code seconds}.
     */
    static String expect(java.io.BufferedReader r, String prefix, Deployment d, int seconds)
            throws Exception {
        String line =
                java.util.concurrent.CompletableFuture.supplyAsync(
                                () -> {
                                    try {
                                        return r.readLine();
                                    } catch (IOException e) {
                                        return null;
                                    }
                                })
                        .get(seconds, TimeUnit.SECONDS);
        if (line == null || !line.startsWith(prefix)) {
            throw new IOException(
                    "gospiffe on the " + d.name() + " agent: expected " + prefix + ", got " + line);
        }
        return line;
    }

    /** Runs {@code cmd} and returns its stdout lines; fails with its output on a non-zero exit. */
    public static List<String> run(List<String> cmd, long timeoutSeconds) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", cmd));
        }
        if (p.exitValue() != 0) {
            throw new IOException(
                    String.join(" ", cmd) + " failed (exit " + p.exitValue() + "): " + out);
        }
        return new ArrayList<>(out.lines().toList());
    }
}
