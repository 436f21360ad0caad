package io.mithril.interop;

import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.api.selector.Selector;
import io.mithril.bench.spire.GoHarness;
import io.mithril.mesh.model.Resource;
import io.mithril.proxy.MeshFixture;
import io.mithril.proxy.Proxy;
import io.mithril.proxy.identity.WorkloadApiIdentitySource;
import io.mithril.server.IdentityServer;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The seed's path with the reference implementations at both ends, all real: an identity server and
 * an agent (in this JVM, as the agent's integration tests run them; the Workload API on a Unix
 * socket with {@code discover_workload_path}, so each program gets the identity its executable is
 * registered for), the ISTIO_MUTUAL ingress gateway (in this JVM, its SVID from that socket), and
 * behind it the product page played by go-spiffe's {@code spiffetls} server (a real process, its
 * SVID from the same socket):
 *
 * <pre>
 *   client (gospiffe dial, or curl with spire-agent's files) -- mTLS --> gateway -- ISTIO_MUTUAL --> gospiffe serve
 * </pre>
 *
 * Registered: gospiffe -> sleep and productpage, spire-agent -> sleep, java (this JVM, the gateway)
 * -> the gateway's service account.
 */
final class InteropFixture implements AutoCloseable {

    static final TrustDomain TD = TrustDomain.parse("example.org");
    static final String SLEEP_ID = MeshFixture.SLEEP_ID;
    static final String PRODUCTPAGE_ID = MeshFixture.PRODUCTPAGE_ID;
    static final String GATEWAY_ID = MeshFixture.GATEWAY_ID;
    static final SpiffeId NODE = SpiffeId.parse("spiffe://example.org/node");

    final GoHarness go;
    final Path dir;
    final IdentityServer server;
    final Agent agent;
    final Path socket;
    final Proxy gateway;
    private final WorkloadApiIdentitySource gatewayIdentity;
    private final Process goServer;
    final int goServerPort;

    /**
     * @param sleepTtlSeconds the X.509 TTL of gospiffe's sleep entry (0: the server's default),
     *     short when a test wants to watch it rotate
     */
    InteropFixture(GoHarness go, int sleepTtlSeconds) throws Exception {
        this.go = go;
        dir = Files.createTempDirectory("mithril-interop-");
        IdentityServer s = null;
        Agent a = null;
        WorkloadApiIdentitySource gid = null;
        Proxy gw = null;
        Process srv = null;
        try {
            s =
                    IdentityServer.start(
                            ServerConfig.builder(TD, dir.resolve("server"))
                                    .bindAddress("127.0.0.1")
                                    .bindPort(0)
                                    .socketPath(dir.resolve("server/admin.sock"))
                                    .build());
            Path bundle = dir.resolve("bundle.pem");
            Files.writeString(bundle, s.bundle().toPem());
            register(s, SLEEP_ID, go.gospiffe(), sleepTtlSeconds);
            register(s, PRODUCTPAGE_ID, go.gospiffe(), 0);
            register(s, SLEEP_ID, go.spireAgent(), 0);
            // The gateway's SVID names the host clients dial, as the seed's entry does (-dns
            // app.example.org), so
            // curl and openssl verify it by name.
            s.createEntry(
                    RegistrationEntry.of(
                                    SpiffeId.parse(GATEWAY_ID),
                                    NODE,
                                    List.of(
                                            Selector.parse(
                                                    "unix:path:"
                                                            + Files.readSymbolicLink(
                                                                    Path.of("/proc/self/exe")))))
                            .withDnsNames(List.of("app.example.org")));
            socket = Files.createDirectories(dir.resolve("sock")).resolve("api.sock");
            AgentConfig base =
                    AgentConfig.of(
                                    TD,
                                    dir.resolve("agent"),
                                    "127.0.0.1",
                                    s.agentApiAddress().getPort(),
                                    socket,
                                    bundle,
                                    s.generateJoinToken(Duration.ofMinutes(10), NODE))
                            .withSyncInterval(Duration.ofMillis(200));
            a =
                    Agent.start(
                            new AgentConfig(
                                    base.trustDomain(),
                                    base.dataDir(),
                                    base.logLevel(),
                                    base.serverAddress(),
                                    base.serverPort(),
                                    base.socketPath(),
                                    base.trustBundlePath(),
                                    base.insecureBootstrap(),
                                    base.joinToken(),
                                    base.nodeAttestor(),
                                    base.keyManager(),
                                    base.keyManagerDirectory(),
                                    new AgentConfig.UnixAttestorConfig(true, 0),
                                    base.syncInterval(),
                                    base.telemetry(),
                                    base.healthChecks(),
                                    base.sds()));

            // The product page: go-spiffe's mTLS server, accepting only the gateway.
            srv =
                    new ProcessBuilder(
                                    go.gospiffe().toString(),
                                    "serve",
                                    "-socket",
                                    address(),
                                    "-id",
                                    PRODUCTPAGE_ID,
                                    "-clientID",
                                    GATEWAY_ID,
                                    "-timeout",
                                    "10m")
                            .redirectError(ProcessBuilder.Redirect.INHERIT)
                            .start();
            goServerPort = listeningPort(srv);

            gid =
                    WorkloadApiIdentitySource.start(
                            "unix://" + socket, SpiffeId.parse(GATEWAY_ID), Duration.ofSeconds(30));
            gw = MeshFixture.gateway(gid, mesh(goServerPort), settings -> settings);
        } catch (Exception | Error e) {
            closeQuietly(srv, gw, gid, a, s);
            delete(dir);
            throw e;
        }
        server = s;
        agent = a;
        gatewayIdentity = gid;
        gateway = gw;
        goServer = srv;
    }

    /**
     * The seed's Gateway, VirtualService and DestinationRule; productpage is the go-spiffe server.
     */
    static List<Resource> mesh(int productpagePort) {
        return MeshFixture.parse(
                MeshFixture.SEED,
                MeshFixture.productpageEntry(productpagePort, "bookinfo-productpage"));
    }

    private static void register(IdentityServer s, String id, Path exe, int ttl) {
        RegistrationEntry e =
                RegistrationEntry.of(
                        SpiffeId.parse(id), NODE, List.of(Selector.parse("unix:path:" + exe)));
        s.createEntry(ttl > 0 ? e.withX509SvidTtl(ttl) : e);
    }

    /** The Workload API address as go-spiffe and SPIRE take it. */
    String address() {
        return "unix://" + socket;
    }

    int gatewayPort() {
        return gateway.listenerAddress(8080).getPort();
    }

    static int listeningPort(Process p) throws Exception {
        BufferedReader r =
                new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> line =
                CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                return r.readLine();
                            } catch (IOException e) {
                                throw new IllegalStateException(e);
                            }
                        });
        String first = line.get(60, TimeUnit.SECONDS);
        if (first == null || !first.startsWith("LISTENING=")) {
            throw new IllegalStateException(
                    "gospiffe serve did not start (first line: " + first + ")");
        }
        return Integer.parseInt(first.substring(first.lastIndexOf(':') + 1));
    }

    /** The stdout lines of a running process, as they come (a daemon thread reads them). */
    static BlockingQueue<String> lines(Process p) {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader =
                new Thread(
                        () -> {
                            try (BufferedReader r =
                                    new BufferedReader(
                                            new InputStreamReader(
                                                    p.getInputStream(), StandardCharsets.UTF_8))) {
                                r.lines().forEach(lines::add);
                            } catch (IOException ignored) {
                                // the process ended
                            }
                        });
        reader.setDaemon(true);
        reader.start();
        return lines;
    }

    /** A finished program: exit code, stdout, stderr. */
    record Run(int exit, String out, String err) {
        /** The value of the first {@code KEY=value} line of stdout. */
        String get(String key) {
            return all(key).stream()
                    .findFirst()
                    .orElseThrow(
                            () ->
                                    new AssertionError(
                                            "no " + key + "= in:\n" + out + "\nstderr:\n" + err));
        }

        List<String> all(String key) {
            return out.lines()
                    .filter(l -> l.startsWith(key + "="))
                    .map(l -> l.substring(key.length() + 1))
                    .toList();
        }

        @Override
        public String toString() {
            return "exit " + exit + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    static Run run(List<String> cmd) throws Exception {
        return run(cmd, Duration.ofMinutes(2));
    }

    static Run run(List<String> cmd, Duration timeout) throws Exception {
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        CompletableFuture<byte[]> err =
                CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                return p.getErrorStream().readAllBytes();
                            } catch (IOException e) {
                                throw new IllegalStateException(e);
                            }
                        });
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        return new Run(
                p.exitValue(),
                new String(out, StandardCharsets.UTF_8),
                new String(err.get(), StandardCharsets.UTF_8));
    }

    /** gospiffe with these arguments. */
    List<String> gospiffe(String... args) {
        List<String> cmd = new ArrayList<>(List.of(go.gospiffe().toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** spire-agent with these arguments. */
    List<String> spireAgent(String... args) {
        List<String> cmd = new ArrayList<>(List.of(go.spireAgent().toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    @Override
    public void close() throws Exception {
        closeQuietly(goServer, gateway, gatewayIdentity, agent, server);
        delete(dir);
    }

    private static void closeQuietly(
            Process srv, Proxy gw, WorkloadApiIdentitySource gid, Agent a, IdentityServer s)
            throws Exception {
        if (srv != null) {
            srv.getOutputStream().close();
            if (!srv.waitFor(10, TimeUnit.SECONDS)) {
                srv.destroyForcibly();
            }
        }
        if (gw != null) {
            gw.close();
        }
        if (gid != null) {
            gid.close();
        }
        if (a != null) {
            a.close();
        }
        if (s != null) {
            s.close();
        }
    }

    static void delete(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
