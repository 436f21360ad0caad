package io.mithril.e2e;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A running {@code mithril demo --keep-running} (the packaged distribution in its own JVM) and
 * helpers to run more processes beside it: the packaged CLI, commands as a workload's uid. {@link
 * #close()} stops the demo (SIGTERM: its supervisor stops every child) and whatever else was
 * started here.
 */
final class Demo implements AutoCloseable {

    static final String TD = "example.org";
    static final int SLEEP_UID = 20101;

    final Path dir;
    final int gatewayPort;
    final Process process;
    final Path output;
    private final List<Process> extra = new ArrayList<>();

    private Demo(Path dir, int gatewayPort, Process process, Path output) {
        this.dir = dir;
        this.gatewayPort = gatewayPort;
        this.process = process;
        this.output = output;
    }

    static Demo start(Path dir) throws Exception {
        return start(dir, projectRoot());
    }

    /**
     * Starts the demo with the examples of {@code home} (a copy with other settings, e.g. short
     * TTLs).
     */
    static Demo start(Path dir, Path home) throws Exception {
        // The demo picks free ports itself (demo-ports.properties); the gateway's is given here and
        // may be taken between freePort() and the demo's bind: then wait and try again.
        long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(6);
        while (true) {
            try {
                return startOnce(dir, home);
            } catch (PortsBusy e) {
                if (System.nanoTime() > until) {
                    throw new IllegalStateException(e.getMessage());
                }
                Thread.sleep(10_000);
            }
        }
    }

    private static final class PortsBusy extends Exception {
        PortsBusy(String output) {
            super("the demo's ports stayed busy; output:\n" + output);
        }
    }

    private static Demo startOnce(Path dir, Path home) throws Exception {
        int port = freePort();
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                java(),
                                "-Dmithril.home=" + home,
                                "-jar",
                                jar().toString(),
                                "demo",
                                "--dir",
                                dir.toString(),
                                "--gateway-port",
                                Integer.toString(port),
                                "--keep-running"));
        Path out = dir.resolveSibling(dir.getFileName() + "-demo-output.txt");
        Process p =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(out.toFile())
                        .start();
        Demo demo = new Demo(dir, port, p, out);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
        while (System.nanoTime() < deadline) {
            String text = Files.readString(out);
            if (text.contains("Both clusters are up")) {
                return demo;
            }
            if (!p.isAlive()) {
                break;
            }
            Thread.sleep(500);
        }
        String text = Files.readString(out);
        demo.close();
        if (text.contains("ports already in use") || text.contains("Address already in use")) {
            throw new PortsBusy(text);
        }
        throw new IllegalStateException("the demo did not come up; output:\n" + text);
    }

    static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static Path jar() {
        return projectRoot().resolve("mithril-cli/target/mithril-cli.jar");
    }

    static Path projectRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("examples/two-clusters"))) {
            p = p.getParent();
        }
        return p;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * A host:port the demo chose, by its key in {@code demo-ports.properties} (cluster1.server,
     * cluster2.server, controlplane, controlplane.admin, gateway, gateway.admin).
     */
    String hostPort(String key) throws IOException {
        java.util.Properties p = new java.util.Properties();
        try (var in = Files.newBufferedReader(dir.resolve("demo-ports.properties"))) {
            p.load(in);
        }
        String v = p.getProperty(key);
        if (v == null) {
            throw new IllegalStateException(
                    "no " + key + " in " + dir.resolve("demo-ports.properties"));
        }
        return v;
    }

    Path adminSocket(int cluster) {
        return dir.resolve("cluster" + cluster + "/server/private/api.sock");
    }

    Path agentSocket(int cluster) {
        return dir.resolve("cluster" + cluster + "/agent/public/api.sock");
    }

    Path sleepDir() {
        return dir.resolve("cluster1/sleep");
    }

    /**
     * The packaged CLI as a command line, optionally as another uid (from the demo's world-readable
     * copy when it made one).
     */
    List<String> mithril(Integer uid, String... args) {
        List<String> cmd = new ArrayList<>();
        // The demo copies the distribution into dist/ only when other uids cannot read the build's.
        if (uid != null && isRoot() && java.nio.file.Files.isDirectory(dir.resolve("dist"))) {
            cmd.addAll(
                    List.of("setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups", "--"));
            cmd.addAll(
                    List.of(
                            java(),
                            "-XX:TieredStopAtLevel=1",
                            "-XX:+UseSerialGC",
                            "-Dmithril.home=" + projectRoot(),
                            "-cp",
                            dir.resolve("dist/mithril-cli.jar")
                                    + ":"
                                    + dir.resolve("dist/lib")
                                    + "/*",
                            "io.mithril.cli.Main"));
        } else {
            if (uid != null && isRoot()) {
                cmd.addAll(
                        List.of(
                                "setpriv",
                                "--reuid=" + uid,
                                "--regid=" + uid,
                                "--clear-groups",
                                "--"));
            }
            cmd.addAll(
                    List.of(
                            java(),
                            "-XX:TieredStopAtLevel=1",
                            "-XX:+UseSerialGC",
                            "-Dmithril.home=" + projectRoot(),
                            "-jar",
                            jar().toString()));
        }
        cmd.addAll(List.of(args));
        return cmd;
    }

    /**
     * Prefix that runs a command as the given uid (nothing when not root: all workloads share our
     * uid).
     */
    static List<String> as(int uid) {
        return isRoot()
                ? new ArrayList<>(
                        List.of(
                                "setpriv",
                                "--reuid=" + uid,
                                "--regid=" + uid,
                                "--clear-groups",
                                "--"))
                : new ArrayList<>();
    }

    /**
     * The network namespaces of this demo's pods, {@code mithril-<demo pid>-<workload>}; empty when
     * it runs without pods.
     */
    List<String> podNamespaces() throws java.io.IOException {
        return namespaces().stream().filter(n -> !n.matches(".*-cluster\\d+")).toList();
    }

    /**
     * Every network namespace of this demo: its clusters' ({@code mithril-<demo pid>-clusterN}) and
     * its pods'; empty in loopback mode.
     */
    List<String> namespaces() throws java.io.IOException {
        return namespacesOf(process.pid());
    }

    /** The network namespaces of the demo with process id {@code pid}, sorted. */
    static List<String> namespacesOf(long pid) throws java.io.IOException {
        Path netns = Path.of("/run/netns");
        if (!Files.isDirectory(netns)) {
            return List.of();
        }
        String prefix = "mithril-" + pid + "-";
        try (java.util.stream.Stream<Path> s = Files.list(netns)) {
            return s.map(f -> f.getFileName().toString())
                    .filter(n -> n.startsWith(prefix))
                    .sorted()
                    .toList();
        }
    }

    /**
     * {@code cmd} run where cluster {@code cluster}'s processes run: inside its network namespace
     * when the demo made one (as the demo starts them), else unchanged.
     */
    List<String> inCluster(int cluster, List<String> cmd) throws IOException {
        java.util.Properties p = new java.util.Properties();
        try (var in = Files.newBufferedReader(dir.resolve("demo-ports.properties"))) {
            p.load(in);
        }
        String netns = p.getProperty("cluster" + cluster + ".netns");
        if (netns == null) {
            return cmd;
        }
        List<String> all = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + netns, "--"));
        all.addAll(cmd);
        return all;
    }

    /** How a demo run to its end went. */
    record Finished(boolean inTime, int exit, String output) {}

    /**
     * Runs {@code mithril demo ARGS --dir DIR} from the packaged distribution to its end (at most
     * {@code limit}; then it and its children are killed), its output in DIR/demo-output.txt.
     */
    static Finished runToEnd(Path dir, Duration limit, String... args) throws Exception {
        assertJar();
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                java(),
                                "-Dmithril.home=" + projectRoot(),
                                "-jar",
                                jar().toString(),
                                "demo"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--dir", dir.toString()));
        Files.createDirectories(dir);
        Path log = dir.resolve("demo-output.txt");
        Process demo =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
        boolean finished = demo.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
        if (!finished) {
            demo.descendants().forEach(ProcessHandle::destroyForcibly);
            demo.destroyForcibly();
        }
        return new Finished(finished, finished ? demo.exitValue() : -1, Files.readString(log));
    }

    private static void assertJar() {
        if (!Files.isRegularFile(jar())) {
            throw new AssertionError(
                    "no "
                            + jar()
                            + ": the distribution (mvn verify packages mithril-cli before this"
                            + " test)");
        }
    }

    /** Processes whose arguments name {@code dir}: what a stopped demo must not leave behind. */
    static List<String> leftBehind(Path dir) {
        return ProcessHandle.allProcesses()
                .filter(
                        p ->
                                p.info()
                                        .arguments()
                                        .map(a -> String.join(" ", a).contains(dir.toString()))
                                        .orElse(false))
                .map(p -> p.pid() + " " + p.info().commandLine().orElse("?"))
                .toList();
    }

    /** The line where the demo says which network mode it used. */
    static String modeLine(String output) {
        return output.lines()
                .filter(l -> l.contains("network mode: "))
                .findFirst()
                .map(l -> l.substring(l.indexOf("network mode: ")))
                .orElseThrow(() -> new AssertionError("no \"network mode:\" line in:\n" + output));
    }

    /**
     * curl through the gateway as sleep, with sleep's SVID unless other cert/key files are given.
     */
    List<String> curl(String path, Path cert, Path key) {
        List<String> cmd = as(SLEEP_UID);
        cmd.addAll(
                List.of(
                        "curl",
                        "-sS",
                        "-o",
                        "/dev/null",
                        "-w",
                        "HTTP_CODE=%{http_code}",
                        "--max-time",
                        "20",
                        "--cacert",
                        sleepDir().resolve("bundle.0.pem").toString(),
                        "--resolve",
                        "app.example.org:" + gatewayPort + ":127.0.0.1"));
        if (cert != null) {
            cmd.addAll(List.of("--cert", cert.toString(), "--key", key.toString()));
        }
        cmd.add("https://app.example.org:" + gatewayPort + path);
        return cmd;
    }

    List<String> curlWithSleepSvid(String path) {
        return curl(path, sleepDir().resolve("svid.0.pem"), sleepDir().resolve("svid.0.key"));
    }

    /** Starts a long-running process that {@link #close()} stops; output goes to logs/NAME.log. */
    Process background(String name, List<String> cmd) throws IOException {
        ProcessBuilder pb =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(
                                ProcessBuilder.Redirect.appendTo(
                                        dir.resolve("logs/" + name + ".log").toFile()));
        pb.environment().put("DEMO_DIR", dir.toString());
        Process p = pb.start();
        extra.add(p);
        return p;
    }

    /** A process of the demo whose command line contains every fragment. */
    ProcessHandle child(String... fragments) {
        return process.descendants()
                .filter(
                        h ->
                                h.info()
                                        .commandLine()
                                        .map(c -> List.of(fragments).stream().allMatch(c::contains))
                                        .orElse(false))
                .findFirst()
                .orElseThrow(
                        () ->
                                new IllegalStateException(
                                        "no demo process with " + List.of(fragments)));
    }

    record Exec(int exit, String out) {}

    static Exec exec(List<String> cmd) throws Exception {
        return exec(cmd, Map.of());
    }

    static Exec exec(List<String> cmd, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(2, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("timed out: " + cmd);
        }
        return new Exec(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    static void await(String what, Duration timeout, Check check) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (check.ok()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(500);
        }
    }

    interface Check {
        boolean ok() throws Exception;
    }

    @Override
    public void close() throws Exception {
        for (Process p : extra) {
            p.destroy();
        }
        for (Process p : extra) {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        List<ProcessHandle> children = new java.util.ArrayList<>(process.descendants().toList());
        process.destroy();
        if (!process.waitFor(90, TimeUnit.SECONDS)) {
            // Children it started while stopping (the class data sharing dumps of a first run on a
            // busy machine) would outlive it: take them along.
            children.addAll(process.descendants().toList());
            process.destroyForcibly();
        }
        for (ProcessHandle h : children) {
            h.destroyForcibly();
        }
        for (ProcessHandle h : children) {
            h.onExit().get(30, TimeUnit.SECONDS); // their ports are free when close() returns
        }
    }
}
