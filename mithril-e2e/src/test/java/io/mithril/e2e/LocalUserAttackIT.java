package io.mithril.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, items 2 and 8, as an unprivileged local user attacks the running demo: a uid that is
 * none of the demo's ({@code setpriv}, running {@link LocalAttacker}) tries to hijack the Workload
 * API socket, to swap or read what sleep wrote, to read keys, datastores and logs, and to call the
 * apps and the sidecars' outbound listeners around STRICT mTLS. Every attempt must fail; the same
 * attacker reaching the sidecars' inbound ports shows that it is not simply cut off. Runs as root
 * only (the demo then gives each workload its own uid and pod).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalUserAttackIT {

    /** No process of the demo runs as this uid. */
    private static final int ATTACKER = 20999;

    private static final int PRODUCTPAGE_UID = 20211;
    private static final Path NETNS = Path.of("/run/netns");

    @TempDir static Path tmp;

    private Demo demo;
    private Path attackerClasses;
    private final long stalePid = unusedPid();

    @BeforeAll
    void startDemo() throws Exception {
        assumeTrue(Demo.isRoot(), "the attacks need a second uid (setpriv) and pods: run as root");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        attackerClasses = copyAttackerClasses();
        // What a demo killed with -9 leaves behind: the next demo removes it at start.
        Demo.exec(List.of("ip", "netns", "add", "mithril-" + stalePid + "-stale"));
        Demo.exec(List.of("ip", "link", "add", "mithril" + stalePid, "type", "bridge"));
        demo = Demo.start(tmp.resolve("demo"));
    }

    @AfterAll
    void stopDemo() throws Exception {
        if (demo != null) {
            demo.close();
        }
        Demo.exec(List.of("ip", "netns", "del", "mithril-" + stalePid + "-stale"));
        Demo.exec(List.of("ip", "link", "del", "mithril" + stalePid));
    }

    // ---- item 2: the Workload API socket, sleep's SVID, keys, datastores, logs ----

    @Test
    @Order(1)
    void anotherUidCannotRenameTheAgentSocketDirectoryNorPlantASocket() throws Exception {
        List<String> attempts = new ArrayList<>();
        for (int c : new int[] {1, 2}) {
            Path cluster = demo.dir.resolve("cluster" + c);
            Path socket = demo.agentSocket(c);
            attempts.addAll(
                    List.of(
                            "rename:" + cluster + ":" + cluster + "-moved",
                            "rename:"
                                    + cluster.resolve("agent")
                                    + ":"
                                    + cluster.resolve("agent-moved"),
                            "rename:"
                                    + socket.getParent()
                                    + ":"
                                    + cluster.resolve("agent/public-moved"),
                            "rename:" + socket + ":" + socket + ".moved",
                            "delete:" + socket,
                            "bind-unix:" + socket.resolveSibling("planted.sock"),
                            "create:" + cluster.resolve("agent/public2")));
        }
        assertAllDenied(attack(ATTACKER, attempts));
        assertThat(demo.agentSocket(1)).as("cluster 1's agent socket, still the agent's").exists();
        for (int c : new int[] {1, 2}) {
            assertThat(
                            Demo.exec(
                                            demo.mithril(
                                                    null,
                                                    "agent",
                                                    "healthcheck",
                                                    "-socketPath",
                                                    demo.agentSocket(c).toString()))
                                    .exit())
                    .as("cluster %d agent still serves its socket", c)
                    .isZero();
        }
    }

    @Test
    @Order(2)
    void anotherUidCannotSwapOrReadWhatSleepWrote() throws Exception {
        Path sleep = demo.sleepDir();
        byte[] bundle = Files.readAllBytes(sleep.resolve("bundle.0.pem"));
        List<String> attempts =
                List.of(
                        "write:" + sleep.resolve("bundle.0.pem"),
                        "write:" + sleep.resolve("svid.0.pem"),
                        "delete:" + sleep.resolve("bundle.0.pem"),
                        "create:" + sleep.resolve("bundle.1.pem"),
                        "read:" + sleep.resolve("svid.0.key"),
                        "rename:" + sleep + ":" + sleep + "-moved",
                        "list:" + sleep);
        // Neither a stranger nor another workload of the demo.
        assertAllDenied(attack(ATTACKER, attempts));
        assertAllDenied(attack(PRODUCTPAGE_UID, attempts));
        assertThat(Files.readAllBytes(sleep.resolve("bundle.0.pem")))
                .as("sleep's bundle unchanged")
                .isEqualTo(bundle);
        assertThat(mode(sleep)).as("sleep's output directory").isEqualTo("rwx------");
        assertThat(Files.getAttribute(sleep, "unix:uid"))
                .as("owner of sleep's output directory")
                .isEqualTo(Demo.SLEEP_UID);
        assertThat(Demo.exec(demo.curlWithSleepSvid("/productpage")).out())
                .isEqualTo("HTTP_CODE=200");
    }

    @Test
    @Order(3)
    void anotherUidCannotReadKeysDatastoresOrLogs() throws Exception {
        List<String> attempts = new ArrayList<>();
        attempts.add("read:" + demo.dir.resolve("upstream-ca/upstream-ca.key.pem"));
        attempts.add("list:" + demo.dir.resolve("upstream-ca"));
        attempts.add("list:" + demo.dir.resolve("logs"));
        for (int c : new int[] {1, 2}) {
            Path cluster = demo.dir.resolve("cluster" + c);
            attempts.add("read:" + cluster.resolve("server/data/datastore.sqlite3"));
            attempts.add("read:" + cluster.resolve("server/data/keys.json"));
            attempts.add("list:" + cluster.resolve("server/data"));
            attempts.add("list:" + cluster.resolve("agent/data"));
            attempts.add("read:" + cluster.resolve("agent/data/agent_svid.key"));
            attempts.add(
                    "read:" + demo.dir.resolve("config/cluster" + c + "/agent-with-token.conf"));
        }
        // The join token is in that owner-only file, never on a command line (/proc/PID/cmdline is
        // world-readable).
        demo.process
                .descendants()
                .forEach(
                        h ->
                                assertThat(h.info().commandLine().orElse(""))
                                        .as("command line of %d", h.pid())
                                        .doesNotContain("-joinToken")
                                        .doesNotContain("join_token"));
        try (Stream<Path> logs = Files.list(demo.dir.resolve("logs"))) {
            logs.forEach(l -> attempts.add("read:" + l));
        }
        assertAllDenied(attack(ATTACKER, attempts));
        assertThat(mode(demo.dir.resolve("logs"))).isEqualTo("rwx------");
        for (String d :
                List.of(
                        "upstream-ca",
                        "cluster1/server",
                        "cluster2/server",
                        "cluster1/agent/data",
                        "cluster2/agent/data")) {
            assertThat(mode(demo.dir.resolve(d))).as(d).isEqualTo("rwx------");
        }
        try (Stream<Path> logs = Files.list(demo.dir.resolve("logs"))) {
            for (Path l : (Iterable<Path>) logs::iterator) {
                assertThat(Files.getPosixFilePermissions(l))
                        .as(l.toString())
                        .doesNotContain(
                                PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);
            }
        }
    }

    // ---- item 8: pods ----

    @Test
    @Order(4)
    void appsAndSidecarOutboundPortsAreUnreachableFromTheHost() throws Exception {
        Map<String, String> pods = podAddresses();
        List<String> denied = new ArrayList<>();
        List<String> reachable = new ArrayList<>();
        int n = 0;
        for (String address : pods.values()) {
            n++;
            // The app (19080), the sidecar's outbound listener (15001) and its admin port (15000),
            // at the pod's address, at the loopback addresses the workloads had before pods, and
            // at the host's loopback.
            for (String host : List.of(address, "127.0.1." + n)) {
                for (int port : new int[] {19080, 15001, 15000}) {
                    denied.add("connect:" + host + ":" + port);
                }
            }
            reachable.add("connect:" + address + ":9080");
        }
        for (int port : new int[] {19080, 15001}) {
            denied.add("connect:127.0.0.1:" + port);
        }
        assertAllDenied(attack(ATTACKER, denied));
        List<String> out = attack(ATTACKER, reachable);
        assertThat(out)
                .as(
                        "the sidecars' inbound ports stay reachable (the attacker is not simply cut off)")
                .allMatch(l -> l.endsWith("=> ok"));
    }

    @Test
    @Order(5)
    void sidecarInboundPortAnswersOnlyMutualTls() throws Exception {
        String productpage = podAddresses().get("productpage-v1");
        String url = "https://" + productpage + ":9080/productpage";
        // No client certificate: the handshake is refused (35; 55 or 56 when the alert comes after
        // curl sent its request).
        Demo.Exec noCert =
                Demo.exec(
                        withUid(
                                ATTACKER,
                                "curl",
                                "-sS",
                                "-k",
                                "--max-time",
                                "10",
                                "-o",
                                "/dev/null",
                                url));
        assertThat(noCert.exit())
                .as("curl without a client certificate: %s", noCert.out())
                .isIn(35, 55, 56);
        // Plain HTTP to the mTLS port: no HTTP answer at all.
        Demo.Exec plain =
                Demo.exec(
                        withUid(
                                ATTACKER,
                                "curl",
                                "-sS",
                                "--max-time",
                                "10",
                                "-o",
                                "/dev/null",
                                "-w",
                                "%{http_code}",
                                "http://" + productpage + ":9080/productpage"));
        assertThat(plain.exit()).as("plain HTTP: %s", plain.out()).isNotZero();
        // With an SVID of the trust domain (sleep's), the same port serves.
        Path s = demo.sleepDir();
        Demo.Exec mtls =
                Demo.exec(
                        withUid(
                                Demo.SLEEP_UID,
                                "curl",
                                "-sS",
                                "-k",
                                "--max-time",
                                "20",
                                "-o",
                                "/dev/null",
                                "-w",
                                "HTTP_CODE=%{http_code}",
                                "--cert",
                                s.resolve("svid.0.pem").toString(),
                                "--key",
                                s.resolve("svid.0.key").toString(),
                                url));
        assertThat(mtls.out()).as("mTLS with sleep's SVID").isEqualTo("HTTP_CODE=200");
        assertThat(Demo.exec(demo.curlWithSleepSvid("/productpage")).out())
                .as("the demo's curl via the gateway")
                .isEqualTo("HTTP_CODE=200");
    }

    @Test
    @Order(6)
    void staleNamespacesWereRemovedAndThisRunsGoWithTheDemo() throws Exception {
        assertThat(NETNS.resolve("mithril-" + stalePid + "-stale"))
                .as("a stale namespace of a dead demo")
                .doesNotExist();
        assertThat(Demo.exec(List.of("ip", "link", "show", "mithril" + stalePid)).exit())
                .as("a stale bridge")
                .isNotZero();
        long pid = demo.process.pid();
        // Six bookinfo pods, and the two clusters' namespaces.
        assertThat(namespacesOf(pid))
                .as("this demo's pods")
                .filteredOn(n -> !n.matches(".*-cluster[12]"))
                .hasSize(6);
        assertThat(namespacesOf(pid))
                .as("this demo's clusters")
                .filteredOn(n -> n.matches(".*-cluster[12]"))
                .hasSize(2);
        demo.close();
        demo = null;
        assertThat(namespacesOf(pid)).as("pods left after the demo stopped").isEmpty();
        assertThat(Demo.exec(List.of("ip", "-o", "link", "show")).out())
                .as("veths and bridge left")
                .doesNotContain("mithril" + pid)
                .doesNotContain("mv" + pid + "-");
    }

    // ---- helpers ----

    private static List<String> namespacesOf(long pid) throws Exception {
        try (Stream<Path> s = Files.list(NETNS)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("mithril-" + pid + "-"))
                    .toList();
        }
    }

    /**
     * WorkloadEntry name to address, from the mesh configuration the demo's control plane serves.
     */
    private Map<String, String> podAddresses() throws Exception {
        String yaml = Files.readString(demo.dir.resolve("config/mesh/bookinfo-services.yaml"));
        Matcher m =
                Pattern.compile(
                                "kind: WorkloadEntry\\s+metadata:\\s+name: (\\S+)[\\s\\S]*?address: (\\S+)")
                        .matcher(yaml);
        Map<String, String> pods = new LinkedHashMap<>();
        while (m.find()) {
            pods.put(m.group(1), m.group(2));
        }
        assertThat(pods).as("WorkloadEntries").hasSize(6);
        assertThat(pods.values())
                .as("pod addresses (not the shared loopback: the demo made pods)")
                .noneMatch(a -> a.startsWith("127."));
        return pods;
    }

    private List<String> attack(int uid, List<String> attempts) throws Exception {
        List<String> cmd =
                withUid(
                        uid,
                        Demo.java(),
                        "-XX:TieredStopAtLevel=1",
                        "-XX:+UseSerialGC",
                        "-Xshare:auto",
                        "-cp",
                        attackerClasses.toString(),
                        LocalAttacker.class.getName());
        cmd.addAll(attempts);
        Demo.Exec r = Demo.exec(cmd);
        assertThat(r.exit()).as("attacker ran: %s", r.out()).isZero();
        List<String> lines = r.out().lines().filter(l -> l.contains(" => ")).toList();
        assertThat(lines).as("one result per attempt: %s", r.out()).hasSize(attempts.size());
        System.out.printf("as uid %d:%n  %s%n", uid, String.join("\n  ", lines));
        return lines;
    }

    private static void assertAllDenied(List<String> results) {
        assertThat(results).as("attempts of another uid").allMatch(l -> l.contains("=> denied: "));
    }

    private static List<String> withUid(int uid, String... cmd) {
        List<String> c =
                new ArrayList<>(
                        List.of(
                                "setpriv",
                                "--reuid=" + uid,
                                "--regid=" + uid,
                                "--clear-groups",
                                "--"));
        c.addAll(List.of(cmd));
        return c;
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    /** The attacker's class, where any uid can read it (the build's directories may not be). */
    private static Path copyAttackerClasses() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("attacker"));
        String rel = LocalAttacker.class.getName().replace('.', '/') + ".class";
        Path src =
                Path.of(
                                LocalAttacker.class
                                        .getProtectionDomain()
                                        .getCodeSource()
                                        .getLocation()
                                        .toURI())
                        .resolve(rel);
        Path dst = root.resolve(rel);
        Files.createDirectories(dst.getParent());
        Files.copy(src, dst);
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Files.setPosixFilePermissions(
                        p,
                        PosixFilePermissions.fromString(
                                Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        return root;
    }

    private static long unusedPid() {
        long pid = 4_000_000L;
        while (ProcessHandle.of(pid).isPresent()) {
            pid++;
        }
        return pid;
    }
}
