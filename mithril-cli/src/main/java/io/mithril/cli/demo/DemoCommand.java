package io.mithril.cli.demo;

import io.mithril.cli.Cli;
import io.mithril.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mithril demo}: the seed scenario end to end, for real, on this machine.
 *
 * <p>Two "clusters" (each an identity server, a node agent and workloads, all separate processes)
 * share the trust domain example.org because both identity servers have their intermediate CA
 * signed by the same upstream CA on disk. Cluster 2 runs bookinfo behind an ingress gateway
 * (Gateway ISTIO_MUTUAL on 8080, published on 127.0.0.1:8000 as the seed's port-forward does);
 * cluster 1 runs {@code sleep}, whose SVID is fetched with {@code agent api fetch x509 -write} and
 * used by the real curl and openssl.
 *
 * <p>As root each cluster runs in a network namespace of its own, otherwise everything on loopback
 * with free ports: {@link Network} is what a scenario asks for addresses, ports and namespaces.
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Run the seed scenario end to end: two clusters, one upstream CA on disk, bookinfo behind an mTLS gateway.",
            "",
            "Two identity servers and agents share trust domain example.org; cluster 2 runs the control plane,",
            "the ingress gateway and bookinfo with sidecars; sleep in cluster 1 fetches its SVID and calls the",
            "product page over mTLS with the real curl; openssl s_client shows the chain."
        })
public final class DemoCommand implements Callable<Integer> {

    static final String TRUST_DOMAIN = "example.org";

    @Option(
            names = {"--dir", "-dir"},
            paramLabel = "DIR",
            description = "State directory (default: a new temporary directory, printed at start).")
    Path dir;

    @Option(
            names = {"--keep-running", "-keepRunning"},
            description =
                    "Leave both clusters up after the checks, print the commands to try, and stop on Ctrl-C.")
    boolean keepRunning;

    @Option(
            names = {"--gateway-port", "-gatewayPort"},
            paramLabel = "PORT",
            description =
                    "Port on 127.0.0.1 where cluster 2's ingress gateway is published (default: 8000, or a free"
                            + " port when 8000 is taken; every other port of the demo is chosen the same way).")
    Integer gatewayPort;

    @Option(
            names = {"--no-class-sharing", "-noClassSharing"},
            description =
                    "Do not use (or train) the class data sharing archives that speed up the child JVMs' start.")
    boolean noClassSharing;

    @Option(
            names = {"--loopback", "--no-pods", "-noPods"},
            description =
                    "As root, still run everything in the host's network namespace on loopback, as for"
                            + " other users (no cluster namespaces, no pods): any local user can then call"
                            + " the apps and the sidecars' outbound listeners directly.")
    boolean loopback;

    @CommandLine.Parameters(
            arity = "0..1",
            paramLabel = "SCENARIO",
            defaultValue = "seed",
            description =
                    "seed (default: two clusters, one upstream CA on disk), federation (two trust domains"
                            + " federated through their bundle endpoints; see docs/federation.md), external"
                            + " (a workload outside the mesh through the egress gateway; docs/external.md)"
                            + " or nested (both clusters' servers under a root server; see docs/nested.md).")
    String scenario;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    /** One workload of the scenario: who it is, where it runs and which uid tells it apart. */
    record Workload(
            String name,
            int cluster,
            String serviceAccountId,
            int uid,
            String app,
            String version,
            String address,
            List<String> dnsNames) {}

    private Supervisor supervisor;
    private ClassSharing classSharing = ClassSharing.off();
    private Steps steps;
    private Path home;
    private final Map<String, String> env = new LinkedHashMap<>();
    private volatile Network network;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (!List.of("seed", "federation", "external", "nested").contains(scenario)) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "unknown scenario \"" + scenario + "\": seed, federation, external or nested");
        }
        gatewayPortGiven = gatewayPort != null;
        home = MithrilHome.locate();
        if (dir == null) {
            dir = Files.createTempDirectory("mithril-demo-");
        }
        dir = dir.toAbsolutePath().normalize();
        Files.createDirectories(dir);
        StateDir.requireSafe(dir);
        // Under root the workloads run under their own uids and must reach the agent sockets
        // below it; what is private lies in 0700 directories (see StateDir).
        StateDir.dir(dir, isRoot() ? StateDir.PUBLIC : StateDir.PRIVATE);
        env.put("DEMO_DIR", dir.toString());
        out.println(
                scenario.equals("federation")
                        ? "Mithril demo federation: trust domains domain.test and example.org,"
                                + " each its own CA, federated through their bundle endpoints"
                        : scenario.equals("external")
                                ? "Mithril demo external: a workload outside the mesh (x509pop agent),"
                                        + " reached through the egress gateway"
                                : scenario.equals("nested")
                                        ? "Mithril demo nested: two clusters whose identity servers are nested under"
                                                + " a root identity server, trust domain "
                                                + TRUST_DOMAIN
                                        : "Mithril demo: two clusters, one upstream CA on disk, trust domain "
                                                + TRUST_DOMAIN);
        out.println("state directory: " + dir + " (logs in " + dir.resolve("logs") + ")");
        out.flush();

        steps = new Steps(out);
        if (!noClassSharing) {
            classSharing = ClassSharing.forClassPath(childClassPath(), cdsStore(), dir);
        }
        // Once every child has stopped, a training run turns the class lists into archives.
        List<String> stored = new java.util.concurrent.CopyOnWriteArrayList<>();
        supervisor =
                new Supervisor(
                        dir.resolve("logs"),
                        () -> Duration.ofSeconds(5),
                        () -> {
                            // Every process has exited: the forwarder stops and the namespaces,
                            // empty now, go (also on Ctrl-C).
                            Network n = network;
                            if (n != null) {
                                n.close();
                            }
                            if (classSharing.training()) {
                                out.println(
                                        "building class data sharing archives (once; later runs start faster) ...");
                                out.flush();
                                stored.addAll(
                                        classSharing.commit(
                                                javaCommand(),
                                                childClassPath(),
                                                dir.resolve("logs")));
                            }
                        });
        try {
            FederationScenario federation =
                    scenario.equals("federation") ? new FederationScenario(this) : null;
            ExternalScenario external =
                    scenario.equals("external") ? new ExternalScenario(this) : null;
            NestedScenario nested = scenario.equals("nested") ? new NestedScenario(this) : null;
            Scenario seed =
                    federation == null && external == null && nested == null
                            ? new Scenario(this)
                            : null;
            if (federation != null) {
                federation.run();
            } else if (external != null) {
                external.run();
            } else if (nested != null) {
                nested.run();
            } else {
                seed.run();
            }
            if (keepRunning) {
                if (federation != null) {
                    federation.printTryIt(out);
                } else if (external != null) {
                    external.printTryIt(out);
                } else if (nested != null) {
                    nested.printTryIt(out);
                } else {
                    seed.printTryIt(out);
                }
                io.mithril.cli.dashboard.DemoDashboard.start(
                        dir, out); // issue 20: stops with this process
                new CountDownLatch(1)
                        .await(); // until SIGTERM/Ctrl-C; the supervisor's hook stops everything
            }
            return 0;
        } catch (Steps.StepFailed e) {
            out.println();
            out.println("demo FAILED: " + e.getMessage());
            out.println("logs: " + dir.resolve("logs"));
            return 1;
        } finally {
            out.println("stopping " + supervisor.processes().size() + " processes ...");
            out.flush();
            supervisor.close();
            if (!stored.isEmpty()) {
                out.println("class data sharing archives stored for " + String.join(", ", stored));
                out.flush();
            }
        }
    }

    // ---- accessors for the scenario ----

    Supervisor supervisor() {
        return supervisor;
    }

    Steps steps() {
        return steps;
    }

    Path dir() {
        return dir;
    }

    Path home() {
        return home;
    }

    Map<String, String> env() {
        return env;
    }

    /** The gateway's port: the one given, else (once the scenario has chosen it) the chosen one. */
    int gatewayPort() {
        return gatewayPort == null ? DEFAULT_GATEWAY_PORT : gatewayPort;
    }

    /** Whether the user chose the gateway's port (--gateway-port). */
    boolean gatewayPortGiven() {
        return gatewayPortGiven;
    }

    /** Sets the gateway's port the scenario chose (the default when free, else a free one). */
    void gatewayPort(int port) {
        gatewayPort = port;
    }

    static final int DEFAULT_GATEWAY_PORT = 8000;
    private boolean gatewayPortGiven;

    /** Whether clusters and workloads should get network namespaces (root, and not --loopback). */
    boolean wantsNamespaces() {
        return isRoot() && !loopback;
    }

    /** The demo's network, once opened; closed with the processes when the demo stops. */
    void network(Network n) {
        network = n;
    }

    /** The launcher users type ({@code <home>/mithril}), for the commands the demo prints. */
    String launcher() {
        return home.resolve("mithril").toString();
    }

    /**
     * The command line that runs {@code mithril args...} in a new JVM, optionally as another uid.
     */
    /** {@code mithril agent api fetch x509 -socketPath SOCKET -write DIR}, run as {@code uid}. */
    List<String> fetchX509(Integer uid, Path socket, Path into) {
        return mithril(
                uid,
                "agent",
                "api",
                "fetch",
                "x509",
                "-socketPath",
                socket.toString(),
                "-write",
                into.toString());
    }

    List<String> mithril(Integer uid, String... args) {
        List<String> cmd = new ArrayList<>();
        if (uid != null && isRoot()) {
            cmd.addAll(
                    List.of("setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups", "--"));
        }
        cmd.add(javaCommand());
        // Twenty small JVMs share two cores: a small heap that grows on demand, the C1 compiler
        // only and a small code cache keep start-up and resident memory low. The young generation
        // is capped at 8 MB (it was a third of the heap, ~20 MB committed per process at idle while
        // the live set is ~20 MB in all) and the old one grows only as far as its live data needs.
        // These are the demo's children only; `mithril proxy` run by hand keeps the launcher's
        // options.
        cmd.addAll(
                List.of(
                        "-XX:+UseSerialGC",
                        "-Xms8m",
                        "-Xmx160m",
                        "-XX:NewSize=4m",
                        "-XX:MaxNewSize=8m",
                        "-XX:MinHeapFreeRatio=10",
                        "-XX:MaxHeapFreeRatio=30",
                        "-Xss512k",
                        "-XX:TieredStopAtLevel=1",
                        "-XX:ReservedCodeCacheSize=32m",
                        "-Xshare:auto",
                        // Netty 4.2 starts JFR's event machinery when nothing records: ~1 MB of
                        // heap and metaspace per process (docs/proxy.md).
                        "-Dio.netty.jfr.enabled=false",
                        // Debian's JDK 17 maps class data sharing archives at a random address
                        // and relocates every pointer in them, which writes to each page: the
                        // archives' ~80 MB then became private memory in every child instead of
                        // pages shared by all of them. Mapping at the archive's own base address
                        // gives up address randomisation for the archived class metadata (not
                        // for heap, stacks or code) in the demo's children only.
                        "-XX:+UnlockDiagnosticVMOptions",
                        "-XX:ArchiveRelocationMode=0"));
        // MITHRIL_DEMO_JAVA_OPTS: more options for every child (last, so they win), e.g. to
        // measure.
        String extra = System.getenv("MITHRIL_DEMO_JAVA_OPTS");
        if (extra != null && !extra.isBlank()) {
            cmd.addAll(List.of(extra.strip().split("\\s+")));
        }
        int runAs = uid != null && isRoot() ? uid : UID;
        cmd.addAll(classSharing.options(ClassSharing.role(List.of(args)), runAs));
        // A crashing child leaves its report with the logs (its own directory for a workload,
        // which may not write the demo's logs), not in the user's working directory.
        cmd.add("-XX:ErrorFile=" + crashDir(runAs).resolve("hs_err_pid%p.log"));
        cmd.add("-Dmithril.home=" + home);
        cmd.add("-cp");
        cmd.add(childClassPath());
        cmd.add(Main.class.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    private Path crashDir(int uid) {
        if (uid == UID) {
            return dir.resolve("logs");
        }
        Path d = dir.resolve("crash/" + uid);
        try {
            StateDir.dir(d.getParent(), StateDir.PUBLIC);
            StateDir.ownedDir(d, StateDir.PRIVATE, uid);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return d;
    }

    private String childClassPath;

    /** The java launcher of this JVM, used for every child. */
    static String javaCommand() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    /**
     * The class path for child JVMs. Under root the workloads run as other uids, which may not read
     * the build's directories (a checkout under /root, jars in /root/.m2): the class path is then
     * copied once into the state directory, readable by all.
     */
    synchronized String childClassPath() {
        if (childClassPath == null) {
            String cp = System.getProperty("java.class.path");
            // Used in place when every uid can read it: a stable class path lets the class
            // sharing archives of one run serve the next.
            childClassPath =
                    isRoot() && !Distribution.readableByAll(cp)
                            ? Distribution.copy(cp, dir.resolve("dist"))
                            : cp;
        }
        return childClassPath;
    }

    /**
     * Where class sharing archives are kept between runs: next to the distribution's jar
     * (target/cds, rebuilt jars get a new fingerprint) when that is writable, else in the state
     * directory (reused with the same --dir).
     */
    private Path cdsStore() {
        String first = childClassPath().split(java.io.File.pathSeparator)[0];
        Path parent = Path.of(first).toAbsolutePath().getParent();
        if (first.endsWith(".jar") && parent != null && Files.isWritable(parent)) {
            return parent.resolve("cds");
        }
        return dir.resolve("cds");
    }

    /** The outcome of a mithril command run in this JVM. */
    record CliResult(int exit, String out, String err) {
        String all() {
            return out + err;
        }
    }

    /**
     * Runs a mithril command in this process (admin calls such as {@code server entry create}),
     * capturing what it prints. Steps run one at a time, so swapping System.out is safe here.
     */
    static synchronized CliResult cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ByteArrayOutputStream sysOut = new ByteArrayOutputStream();
        ByteArrayOutputStream sysErr = new ByteArrayOutputStream();
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        int exit;
        try {
            System.setOut(new PrintStream(sysOut, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(sysErr, true, StandardCharsets.UTF_8));
            CommandLine cl = Main.newCommandLine(args);
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(err, true));
            exit = cl.execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new CliResult(
                exit,
                out + sysOut.toString(StandardCharsets.UTF_8),
                err + sysErr.toString(StandardCharsets.UTF_8));
    }

    /** Runs a mithril command in-process and fails with its output unless it exits 0. */
    static CliResult cliOk(String... args) {
        CliResult r = cli(args);
        if (r.exit() != 0) {
            throw new Cli.UserException(
                    "`mithril "
                            + String.join(" ", args)
                            + "` exited "
                            + r.exit()
                            + ": "
                            + r.all().strip());
        }
        return r;
    }

    /** This process's real uid, from the kernel (/proc/self), or -1 where that is unknown. */
    static final int UID = uidOfThisProcess();

    /** Whether the demo runs as root (uid 0), and so can run each workload under its own uid. */
    static boolean isRoot() {
        return UID == 0;
    }

    private static int uidOfThisProcess() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return -1;
        }
    }

    /** The first group of {@code regex} in {@code text}, or a failure quoting the text. */
    static String find(String regex, String text, String what) {
        Matcher m = Pattern.compile(regex).matcher(text);
        if (!m.find()) {
            throw new Cli.UserException("cannot find " + what + " in: " + text.strip());
        }
        return m.group(1);
    }

    /**
     * A copy of an agent's config, next to it, holding its join token ({@code join_token} in the
     * {@code agent} block, as SPIRE reads it), owner-only: a token on the command line would be
     * readable by every local user in {@code /proc/PID/cmdline} until it is used.
     */
    static Path agentConfWithToken(Path agentConf, String token) throws IOException {
        if (!token.matches("[A-Za-z0-9-]+")) {
            throw new Cli.UserException("unexpected join token format from server token generate");
        }
        String text = Files.readString(agentConf);
        Matcher m = Pattern.compile("(?m)^agent\\s*\\{\\s*$").matcher(text);
        if (!m.find()) {
            throw new Cli.UserException(agentConf + ": no agent { block to add the join token to");
        }
        Path withToken = agentConf.resolveSibling("agent-with-token.conf");
        io.mithril.pki.Pem.writeSecret(
                withToken,
                text.substring(0, m.end())
                        + "\n    join_token = \""
                        + token
                        + "\""
                        + text.substring(m.end()));
        return withToken;
    }

    /**
     * {@code text} with {@code from} replaced by {@code to}; {@code from} must occur exactly once
     * (in {@code file}, named in the error).
     */
    static String replaceOnce(String text, String from, String to, Path file) throws IOException {
        int i = text.indexOf(from);
        if (i < 0 || text.indexOf(from, i + 1) >= 0) {
            throw new IOException(file + " should hold `" + from.strip() + "` exactly once");
        }
        return text.replace(from, to);
    }

    /** Copies the example files (configs and mesh YAML) into the state directory. */
    void copyExamples(Path target) throws IOException {
        Path src = home.resolve("examples/two-clusters");
        if (!Files.isDirectory(src)) {
            throw new IOException("examples not found at " + src + " (is mithril.home right?)");
        }
        try (Stream<Path> files = Files.walk(src)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path t = target.resolve(src.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(f, t, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    static String subjectOf(X509Certificate c) {
        return c.getSubjectX500Principal().getName();
    }
}
