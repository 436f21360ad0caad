package io.mithril.cli.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.cli.Main;
import io.mithril.controlplane.AdminServer;
import io.mithril.controlplane.ControlPlaneStatus;
import io.mithril.controlplane.ProxyStatus;
import io.mithril.server.IdentityServer;
import io.mithril.server.config.ServerConfigParser;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code mithril doctor} against real identity servers started from server.conf files, real Unix
 * sockets and real files: each failure it names is produced here (a key file chmod 0644, a socket
 * directory writable by others, a missing socket, two clusters of one trust domain with different
 * roots, a CA seen expired or from a clock behind the server's).
 */
class DoctorCommandTest {

    @TempDir Path dir;
    final List<AutoCloseable> started = new ArrayList<>();

    record Result(int exit, String out, String err) {}

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : started) {
            c.close();
        }
    }

    Result doctor(Clock clock, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        CommandLine sub = cl.getSubcommands().get("doctor");
        if (clock != null) {
            ((DoctorCommand) sub.getCommand()).clock = clock;
        }
        String[] all = Stream.concat(Stream.of("doctor"), Stream.of(args)).toArray(String[]::new);
        return new Result(cl.execute(all), out.toString(), err.toString());
    }

    /** A server.conf for trust domain {@code td} under dir/name, and the server started from it. */
    Path server(String name, String td) throws Exception {
        Path base = dir.resolve(name);
        Path conf = base.resolve("server.conf");
        Files.createDirectories(base);
        Files.writeString(
                conf,
                """
                server {
                    bind_address = "127.0.0.1"
                    bind_port = "0"
                    socket_path = "%s/private/api.sock"
                    trust_domain = "%s"
                    data_dir = "%s/data"
                    ca_ttl = "1h"
                }
                plugins {
                    DataStore "sql" {
                        plugin_data {
                            database_type = "sqlite3"
                            connection_string = "%s/data/datastore.sqlite3"
                        }
                    }
                    NodeAttestor "join_token" {
                        plugin_data {
                        }
                    }
                    KeyManager "disk" {
                        plugin_data {
                            keys_path = "%s/data/keys.json"
                        }
                    }
                }
                """
                        .formatted(base, td, base, base, base));
        started.add(IdentityServer.start(ServerConfigParser.parseFile(conf)));
        return conf;
    }

    @Test
    void aHealthyServerPassesAndAKeyFileReadableByOthersFails() throws Exception {
        Path conf = server("cluster1", "example.org");
        Result good = doctor(null, "-config", conf.toString());
        assertThat(good.exit()).as(good.out() + good.err()).isZero();
        assertThat(good.out())
                .contains(
                        "ok    server ("
                                + conf
                                + ") admin socket "
                                + dir.resolve("cluster1/private/api.sock"))
                .contains("ok    server (" + conf + ") data_dir ")
                .contains("ok    reach identity server cluster1 at ")
                .contains("ok    bundle of trust domain example.org: the same root(s) at cluster1")
                .containsPattern("ok    X.509 CA \\(active\\) of cluster1: valid until .*")
                .containsPattern("all \\d+ checks ok");

        Path keys = dir.resolve("cluster1/data/keys.json");
        assertThat(keys).exists();
        Files.setPosixFilePermissions(keys, PosixFilePermissions.fromString("rw-r--r--"));
        Result bad = doctor(null, "-config", conf.toString());
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.out())
                .contains(
                        "FAIL  server ("
                                + conf
                                + ") data_dir "
                                + dir.resolve("cluster1/data")
                                + ": "
                                + keys
                                + " is mode 0644: chmod 600 "
                                + keys)
                .containsPattern("1 of \\d+ checks failed");
    }

    /**
     * Entries are matched against the processes running here with the agent's own unix attestor:
     * this test's JVM matches its uid and its user plus executable path; a uid nobody runs as
     * fails; k8s selectors are counted as not checked.
     */
    @Test
    void anEntryNoRunningProcessMatchesFails() throws Exception {
        server("cluster1", "example.org");
        String socket = dir.resolve("cluster1/private/api.sock").toString();
        long uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        String user = System.getProperty("user.name");
        String java = Files.readSymbolicLink(Path.of("/proc/self/exe")).toString();
        int unused = 64_999;
        assertThat(Files.readString(Path.of("/etc/passwd"))).doesNotContain(":" + unused + ":");
        entry(socket, "spiffe://example.org/here", "unix:uid:" + uid);
        entry(
                socket,
                "spiffe://example.org/here-by-path",
                "unix:user:" + user,
                "unix:path:" + java);
        entry(socket, "spiffe://example.org/k8s", "k8s:ns:default");

        Result good = doctor(null, "-serverSocket", "cluster1=" + socket, "-hostWorkloads");
        assertThat(good.out())
                .contains(
                        "ok    running workloads: 2 entries with unix selectors each match a process on this host;"
                                + " 1 not checked here")
                .doesNotContain("FAIL  running workload");
        // Without -hostWorkloads (a server socket alone: its agents may be anywhere), no such
        // check.
        assertThat(doctor(null, "-serverSocket", "cluster1=" + socket).out())
                .doesNotContain("running workload");

        entry(socket, "spiffe://example.org/nobody", "unix:uid:" + unused);
        // Every selector must match one process: this user runs processes, none in group 64999.
        entry(socket, "spiffe://example.org/typo", "unix:user:" + user, "unix:gid:" + unused);
        Result bad = doctor(null, "-serverSocket", "cluster1=" + socket, "-hostWorkloads");
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.out())
                .containsPattern(
                        "FAIL  running workload of cluster1 entry \\S+ \\(spiffe://example.org/nobody\\): no process on"
                                + " this host has unix:uid:"
                                + unused
                                + ": is the workload running \\(as that user\\), or are the entry's selectors right\\?")
                .containsPattern(
                        "FAIL  running workload of cluster1 entry \\S+ \\(spiffe://example.org/typo\\): no process on this host has"
                                + " unix:gid:"
                                + unused
                                + ", unix:user:"
                                + user
                                + ":");
    }

    private void entry(String socket, String spiffeId, String... selectors) {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "server",
                                "entry",
                                "create",
                                "-socketPath",
                                socket,
                                "-parentID",
                                "spiffe://example.org/node",
                                "-spiffeID",
                                spiffeId));
        for (String sel : selectors) {
            args.addAll(List.of("-selector", sel));
        }
        CommandLine cl = Main.newCommandLine();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(new StringWriter(), true));
        cl.setErr(new PrintWriter(err, true));
        assertThat(cl.execute(args.toArray(String[]::new))).as(err.toString()).isZero();
    }

    @Test
    void aSocketDirectoryWritableByOthersAndAMissingSocketFail() throws Exception {
        Path conf = server("cluster1", "example.org");
        Files.setPosixFilePermissions(
                dir.resolve("cluster1/private"), PosixFilePermissions.fromString("rwxrwxrwx"));
        Result r = doctor(null, "-config", conf.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out())
                .containsPattern(
                        "FAIL  server \\("
                                + java.util.regex.Pattern.quote(conf.toString())
                                + "\\) admin socket .*private/api.sock: .*private.*writable.*chmod go-w");

        // An agent whose Workload API socket is not there (the agent is not running), and a file
        // where its socket should be.
        Path agentDir = dir.resolve("agent");
        Files.createDirectories(agentDir.resolve("data"));
        Path agentConf = agentDir.resolve("agent.conf");
        Files.writeString(
                agentConf,
                """
                agent {
                    data_dir = "%s/data"
                    server_address = "127.0.0.1"
                    server_port = "8081"
                    socket_path = "%s/public/api.sock"
                    trust_domain = "example.org"
                    insecure_bootstrap = true
                }
                plugins {
                    NodeAttestor "join_token" {
                        plugin_data {
                        }
                    }
                    KeyManager "disk" {
                        plugin_data {
                            directory = "%s/data"
                        }
                    }
                    WorkloadAttestor "unix" {
                        plugin_data {
                        }
                    }
                }
                """
                        .formatted(agentDir, agentDir, agentDir));
        Result missing = doctor(null, "-config", agentConf.toString());
        assertThat(missing.exit()).as(missing.out() + missing.err()).isEqualTo(1);
        assertThat(missing.out())
                .contains(
                        "FAIL  agent ("
                                + agentConf
                                + ") Workload API socket "
                                + agentDir.resolve("public/api.sock")
                                + ": missing: is the component running with this socket_path?");
        Files.createDirectories(agentDir.resolve("public"));
        Files.writeString(agentDir.resolve("public/api.sock"), "not a socket");
        assertThat(doctor(null, "-config", agentConf.toString()).out())
                .contains("api.sock: not a socket");

        // A real listening socket in a directory of the right mode passes.
        Files.delete(agentDir.resolve("public/api.sock"));
        try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(agentDir.resolve("public/api.sock")));
            Files.setPosixFilePermissions(
                    agentDir.resolve("public"), PosixFilePermissions.fromString("rwxr-xr-x"));
            Result ok = doctor(null, "-config", agentConf.toString());
            assertThat(ok.out()).contains("ok    agent (" + agentConf + ") Workload API socket ");
            assertThat(ok.exit()).as(ok.out()).isZero();
        }
    }

    @Test
    void clustersOfOneTrustDomainWithDifferentRootsFail() throws Exception {
        Path one = server("cluster1", "example.org");
        Path two = server("cluster2", "example.org");
        Result r = doctor(null, "-config", one.toString(), "-config", two.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out())
                .containsPattern(
                        "FAIL  bundle of trust domain example.org: clusters of one trust domain have different roots"
                                + " \\(cluster[12]: [0-9a-f]{16}; cluster[12]: [0-9a-f]{16}\\): give them the same UpstreamAuthority")
                .contains("cluster1: ")
                .contains("cluster2: ");
        // Two trust domains, each consistent, are fine.
        Path other = server("cluster3", "domain.test");
        Result fine = doctor(null, "-config", one.toString(), "-config", other.toString());
        assertThat(fine.exit()).as(fine.out()).isZero();
    }

    @Test
    void anAgentThatStoppedSyncingFails() throws Exception {
        Path conf = server("cluster1", "example.org");
        IdentityServer server = (IdentityServer) started.get(started.size() - 1);
        Files.writeString(dir.resolve("bundle.pem"), server.bundle().toPem());
        String token =
                server.generateJoinToken(
                        Duration.ofMinutes(5),
                        io.mithril.spiffe.id.SpiffeId.parse("spiffe://example.org/node"));
        io.mithril.agent.Agent agent =
                io.mithril.agent.Agent.start(
                        io.mithril.agent.config.AgentConfig.of(
                                        io.mithril.spiffe.id.TrustDomain.parse("example.org"),
                                        dir.resolve("agent/data"),
                                        "127.0.0.1",
                                        server.agentApiAddress().getPort(),
                                        dir.resolve("agent/api.sock"),
                                        dir.resolve("bundle.pem"),
                                        token)
                                .withSyncInterval(Duration.ofMillis(200)));
        String socket = "cluster1=" + dir.resolve("cluster1/private/api.sock");
        // A running agent syncs every 200 ms here: its last sync is seconds old.
        Result fresh = null;
        for (int i = 0;
                i < 50 && (fresh == null || !fresh.out().contains("ok    sync of agent"));
                i++) {
            Thread.sleep(100);
            fresh = doctor(null, "-serverSocket", socket);
        }
        assertThat(fresh.out())
                .containsPattern(
                        "ok    sync of agent spiffe://example.org/spire/agent/join_token/\\S+ \\(cluster1\\): last synced \\ds ago");
        // Stopped, and seen two minutes later: its last sync is older than -syncWithin (1m).
        agent.close();
        Clock later = Clock.fixed(Instant.now().plus(Duration.ofMinutes(2)), ZoneOffset.UTC);
        Result stale = doctor(later, "-serverSocket", socket);
        assertThat(stale.exit()).isEqualTo(1);
        assertThat(stale.out())
                .containsPattern(
                        "FAIL  sync of agent \\S+ \\(cluster1\\): last synced at \\S+, 1\\d\\ds ago:"
                                + " is the agent running and reaching its server\\?");
        assertThat(doctor(later, "-serverSocket", socket, "-syncWithin", "5m").out())
                .contains("ok    sync of agent");
        // The server restarted, the agent still down: no sync since.
        server.close();
        started.remove(server);
        started.add(IdentityServer.start(ServerConfigParser.parseFile(conf)));
        assertThat(doctor(null, "-serverSocket", socket).out())
                .containsPattern(
                        "FAIL  sync of agent \\S+ \\(cluster1\\): no sync since its server started");
    }

    @Test
    void aCaNearExpiryAndAClockBehindTheServersFail() throws Exception {
        Path conf = server("cluster1", "example.org");
        // The server's real CA (ca_ttl 1h), seen 55 minutes later: less than a sixth of its life
        // left.
        Clock later = Clock.fixed(Instant.now().plus(Duration.ofMinutes(55)), ZoneOffset.UTC);
        Result near =
                doctor(
                        later,
                        "-serverSocket",
                        "cluster1=" + dir.resolve("cluster1/private/api.sock"));
        assertThat(near.exit()).isEqualTo(1);
        assertThat(near.out())
                .containsPattern(
                        "FAIL  X.509 CA \\(active\\) of cluster1: expires at .*, in \\d+s"
                                + " \\(less than a sixth of its life left\\): the server has not rotated its CA");
        Clock after = Clock.fixed(Instant.now().plus(Duration.ofHours(2)), ZoneOffset.UTC);
        assertThat(
                        doctor(
                                        after,
                                        "-serverSocket",
                                        "cluster1=" + dir.resolve("cluster1/private/api.sock"))
                                .out())
                .containsPattern("FAIL  X.509 CA \\(active\\) of cluster1: expired at ");
        // A machine whose clock is 10 minutes behind the server's sees notBefore in its future.
        Clock behind = Clock.fixed(Instant.now().minus(Duration.ofMinutes(10)), ZoneOffset.UTC);
        Result skew =
                doctor(
                        behind,
                        "-serverSocket",
                        "cluster1=" + dir.resolve("cluster1/private/api.sock"));
        assertThat(skew.exit()).isEqualTo(1);
        assertThat(skew.out())
                .containsPattern(
                        "FAIL  clock of X.509 CA \\(active\\) of cluster1: notBefore .* is \\d+s after this"
                                + " machine's clock: the server's clock is ahead: sync it \\(NTP\\)");
    }

    @Test
    void proxiesNackedOrStaleAtTheControlPlaneFail() throws Exception {
        // The control plane's real admin endpoint, serving the status of three proxies: one SYNCED,
        // one that NACKed its last listeners, one that has not answered the last push.
        Instant t = Instant.now();
        ProxyStatus synced =
                new ProxyStatus(
                        "router~10.0.0.1~gw-1.istio-system~istio-system.svc.cluster.local",
                        "gw-1.istio-system",
                        "spiffe://example.org/ns/istio-system/sa/gw",
                        "gateway",
                        "istio-system",
                        Map.of(),
                        "127.0.0.1:1",
                        t,
                        Map.of("LDS", "v2", "CDS", "v2"),
                        Map.of("LDS", "v2", "CDS", "v2"),
                        Map.of());
        ProxyStatus nacked =
                new ProxyStatus(
                        "sidecar~10.0.0.2~reviews-1.default~default.svc.cluster.local",
                        "reviews-1.default",
                        "spiffe://example.org/ns/default/sa/reviews",
                        "sidecar",
                        "default",
                        Map.of(),
                        "127.0.0.1:2",
                        t,
                        Map.of("LDS", "v2"),
                        Map.of("LDS", "v1"),
                        Map.of("LDS", "version v2: listener 0.0.0.0_9080: cannot bind"));
        ProxyStatus stale =
                new ProxyStatus(
                        "sidecar~10.0.0.3~ratings-1.default~default.svc.cluster.local",
                        "ratings-1.default",
                        "spiffe://example.org/ns/default/sa/ratings",
                        "sidecar",
                        "default",
                        Map.of(),
                        "127.0.0.1:3",
                        t,
                        Map.of("LDS", "v2"),
                        Map.of("LDS", "v1"),
                        Map.of());
        List<ProxyStatus> proxies = new ArrayList<>(List.of(synced));
        try (AdminServer admin =
                AdminServer.start(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        () ->
                                new ControlPlaneStatus(
                                        "spiffe://example.org/ns/istio-system/sa/istiod",
                                        dir.toString(),
                                        "v2",
                                        t,
                                        3,
                                        List.of(),
                                        null,
                                        List.copyOf(proxies)))) {
            String address = "127.0.0.1:" + admin.port();
            Result good = doctor(null, "-controlPlaneAdmin", address, "-noProxyDiscovery");
            assertThat(good.out())
                    .contains("ok    reach control plane at " + address)
                    .contains("ok    proxies in sync with the control plane: 1 SYNCED");
            proxies.add(nacked);
            proxies.add(stale);
            Result bad = doctor(null, "-controlPlaneAdmin", address, "-noProxyDiscovery");
            assertThat(bad.exit()).isEqualTo(1);
            assertThat(bad.out())
                    .contains(
                            "FAIL  proxy reviews-1.default sync: NACKED: it rejected the control plane's last configuration")
                    .contains(
                            "FAIL  proxy ratings-1.default sync: STALE: it has not acknowledged the control plane's last configuration")
                    .contains("ok    proxies in sync with the control plane: 1 SYNCED");
        }
    }

    @Test
    void aDemoDirectorysConfigsAreReadWithDemoDirExpanded() throws Exception {
        // The layout `mithril demo` writes: DIR/config/clusterN/server.conf with ${DEMO_DIR} paths.
        Path conf = server("cluster1", "example.org");
        String text = Files.readString(conf).replace(dir.toString(), "${DEMO_DIR}");
        Files.createDirectories(dir.resolve("config/cluster1"));
        Files.writeString(dir.resolve("config/cluster1/server.conf"), text);
        Files.createDirectories(dir.resolve("cluster2"));
        Result r = doctor(null, "--dir", dir.toString());
        Path demoConf = dir.resolve("config/cluster1/server.conf");
        assertThat(r.out())
                .contains(
                        "ok    server ("
                                + demoConf
                                + ") admin socket "
                                + dir.resolve("cluster1/private/api.sock"))
                .contains(
                        "ok    server (" + demoConf + ") data_dir " + dir.resolve("cluster1/data"));
        // Cluster 2's server (cluster2/server/private/api.sock) is not running here: named.
        assertThat(r.out())
                .contains(
                        "FAIL  reach identity server cluster2 at "
                                + dir.resolve("cluster2/server/private/api.sock"));
        assertThat(r.exit()).isEqualTo(1);
    }

    @Test
    void badInputIsNamed() {
        Result none = doctor(null);
        assertThat(none.exit()).isNotZero();
        assertThat(none.err()).contains("nothing to check");
        Result notDemo = doctor(null, "--dir", dir.toString());
        assertThat(notDemo.exit()).isNotZero();
        assertThat(notDemo.err()).contains("is not the state directory of a demo");
        Result unreachable = doctor(null, "-serverSocket", "c=" + dir.resolve("nope.sock"));
        assertThat(unreachable.exit()).isEqualTo(1);
        assertThat(unreachable.out())
                .contains("FAIL  reach identity server c at " + dir.resolve("nope.sock"));
    }
}
