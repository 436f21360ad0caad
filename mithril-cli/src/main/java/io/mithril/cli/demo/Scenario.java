package io.mithril.cli.demo;

import static io.mithril.cli.demo.DemoCommand.cliOk;
import static io.mithril.cli.demo.DemoCommand.find;

import io.mithril.cli.Cli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The seed scenario, step by step. Each step prints one line with its result and time; the first
 * failure stops the run (the supervisor then stops every process).
 */
final class Scenario {

    private static final String TD = DemoCommand.TRUST_DOMAIN;
    private static final String ISTIOD = "spiffe://" + TD + "/ns/istio-system/sa/istiod";
    private static final String LOOPBACK = Network.LOOPBACK;

    /**
     * The loopback block of the workloads' "pod IPs" in examples/two-clusters (used without pods).
     */
    private static final String EXAMPLE_BLOCK = Network.EXAMPLE_BLOCK;

    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final DemoCommand demo;
    private final Steps steps;
    private final Path dir;
    private final Path config;
    private final List<DemoCommand.Workload> workloads;
    private final int self = DemoCommand.UID;

    /**
     * Where the clusters run: their own network namespaces (root) or the host's loopback (see
     * {@link Network}).
     */
    private Network net;

    /**
     * The workloads' pods (namespaces mode), or null: every workload then shares the host's network
     * namespace.
     */
    private Pods pods;

    private final Map<Integer, Integer> serverPort = new java.util.HashMap<>();
    private int controlPlanePort;
    private int controlPlaneAdminPort;
    private int gatewayAdminPort;

    /** Without pods, the workloads' loopback block: the examples' 127.0.1 where free. */
    private String block = EXAMPLE_BLOCK;

    /**
     * What a scenario built on the seed's changes (see {@link NestedScenario}), or null for the
     * seed itself.
     */
    interface Variant {
        /** Picks the variant's own ports, before they are written down. */
        void choosePorts(Ports ports) throws IOException;

        /** Replaces the step that makes the upstream CA on disk: its title and its action. */
        String upstreamTitle();

        String upstream() throws Exception;

        /** Adjusts the copied configuration of the two clusters. */
        void configure(Path config) throws IOException;

        /** Steps before the clusters' identity servers start. */
        void beforeServers() throws Exception;

        /** Steps after the seed's checks passed. */
        void afterChecks() throws Exception;
    }

    private final Variant variant;

    Scenario(DemoCommand demo) {
        this(demo, null);
    }

    Scenario(DemoCommand demo, Variant variant) {
        this.variant = variant;
        this.demo = demo;
        this.steps = demo.steps();
        this.dir = demo.dir();
        this.config = dir.resolve("config");
        this.workloads = plan();
    }

    /**
     * Who runs where. Under root each workload has its own uid, so the agent tells them apart by
     * the kernel-verified uid of the caller (unix:uid selectors), as services on one machine are.
     * Otherwise all run as this user: every entry then selects the same uid, each workload is
     * entitled to every identity, and each proxy picks its own by SPIFFE ID.
     */
    private List<DemoCommand.Workload> plan() {
        List<DemoCommand.Workload> w = new ArrayList<>();
        w.add(
                new DemoCommand.Workload(
                        "sleep",
                        1,
                        "spiffe://" + TD + "/ns/default/sa/sleep",
                        uid(20101),
                        "sleep",
                        null,
                        null,
                        List.of()));
        w.add(
                new DemoCommand.Workload(
                        "ingressgateway",
                        2,
                        "spiffe://"
                                + TD
                                + "/ns/istio-system/sa/istio-ingressgateway-service-account",
                        uid(20201),
                        null,
                        null,
                        "127.0.0.1",
                        List.of("app.example.org")));
        w.add(
                new DemoCommand.Workload(
                        "istiod", 2, ISTIOD, uid(20202), null, null, "127.0.0.1", List.of()));
        w.add(
                new DemoCommand.Workload(
                        "productpage",
                        2,
                        "spiffe://" + TD + "/ns/default/sa/bookinfo-productpage",
                        uid(20211),
                        "productpage",
                        "v1",
                        "127.0.1.1",
                        List.of()));
        w.add(
                new DemoCommand.Workload(
                        "details",
                        2,
                        "spiffe://" + TD + "/ns/default/sa/bookinfo-details",
                        uid(20212),
                        "details",
                        "v1",
                        "127.0.1.2",
                        List.of()));
        w.add(
                new DemoCommand.Workload(
                        "reviews-v1",
                        2,
                        "spiffe://" + TD + "/ns/default/sa/bookinfo-reviews",
                        uid(20213),
                        "reviews",
                        "v1",
                        "127.0.1.3",
                        List.of()));
        w.add(
                new DemoCommand.Workload(
                        "reviews-v2",
                        2,
                        "spiffe://" + TD + "/ns/default/sa/bookinfo-reviews",
                        uid(20213),
                        "reviews",
                        "v2",
                        "127.0.1.4",
                        List.of()));
        w.add(
                new DemoCommand.Workload(
                        "reviews-v3",
                        2,
                        "spiffe://" + TD + "/ns/default/sa/bookinfo-reviews",
                        uid(20213),
                        "reviews",
                        "v3",
                        "127.0.1.5",
                        List.of()));
        w.add(
                new DemoCommand.Workload(
                        "ratings",
                        2,
                        "spiffe://" + TD + "/ns/default/sa/bookinfo-ratings",
                        uid(20214),
                        "ratings",
                        "v1",
                        "127.0.1.6",
                        List.of()));
        return w;
    }

    private int uid(int wanted) {
        return DemoCommand.isRoot() ? wanted : self;
    }

    void run() throws Exception {
        steps.run("preflight: curl and openssl", this::preflight);
        steps.run("state directory: owners and modes", this::layout);
        steps.run(
                "network: a namespace per cluster and per bookinfo workload (root), else loopback",
                this::openNetwork);
        steps.run(
                "ports: the examples' ones (in the namespaces, or where free)", this::choosePorts);
        if (variant == null) {
            steps.run("upstream CA on disk (shared by both clusters)", this::upstreamCa);
        } else {
            steps.run(variant.upstreamTitle(), variant::upstream);
        }
        steps.run(
                "configuration files",
                () -> {
                    demo.copyExamples(config);
                    placeOnPorts();
                    placeWorkloads();
                    if (variant != null) {
                        variant.configure(config);
                    }
                    return config.toString();
                });
        if (variant != null) {
            variant.beforeServers();
        }
        // Independent processes start together and each step then waits for what it needs: on
        // two cores the JVMs' start-up overlaps the waits (polling every 20-200 ms).
        steps.run("identity servers of cluster 2 and cluster 1", this::startServers);
        for (int c : new int[] {2, 1}) {
            steps.run("cluster " + c + ": registration entries", () -> registerEntries(c));
        }
        steps.run("node agents of cluster 2 and cluster 1 (join tokens)", this::startAgents);
        steps.run("cluster 2: control plane (istiod) with its own SVID", this::awaitControlPlane);
        steps.run(
                "cluster 2: bookinfo apps with sidecars, ingress gateway",
                this::awaitCluster2Workloads);
        steps.run(
                "cluster 1: sleep fetches its SVID (api fetch x509 -write)", this::awaitSleepSvid);
        steps.run("sleep -> cluster 2 ingress: curl /productpage over mTLS", this::curlProductPage);
        steps.run("openssl s_client -showcerts: the gateway's chain", this::showCerts);
        steps.run(
                "negative checks: no client cert, foreign CA, unrouted path", this::negativeChecks);
        if (variant != null) {
            variant.afterChecks();
        }
        summary();
    }

    // ---- steps ----

    private String preflight() {
        List<String> missing = new ArrayList<>();
        for (String tool : List.of("curl", "openssl")) {
            if (!Checks.onPath(tool)) {
                missing.add(tool);
            }
        }
        if (DemoCommand.isRoot() && !Checks.onPath("setpriv")) {
            missing.add("setpriv (util-linux)");
        }
        if (!missing.isEmpty()) {
            throw new Cli.UserException(
                    "missing "
                            + String.join(", ", missing)
                            + ": install them (apt-get install curl openssl util-linux)");
        }
        return DemoCommand.isRoot()
                ? "running as root: each workload gets its own uid"
                : "not root: all workloads share uid "
                        + self
                        + ", proxies pick their identity by SPIFFE ID";
    }

    /**
     * Owners and modes (see {@link StateDir}): what sockets and written SVIDs sit in is the demo's
     * or the workload's own and writable by no one else; keys, datastores and logs are readable by
     * the demo's uid only.
     */
    private String layout() throws IOException {
        StateDir.dir(dir.resolve("upstream-ca"), StateDir.PRIVATE);
        StateDir.dir(config, StateDir.PUBLIC);
        for (int c : new int[] {1, 2}) {
            Path cluster = StateDir.dir(dir.resolve("cluster" + c), StateDir.PUBLIC);
            StateDir.dir(cluster.resolve("server"), StateDir.PRIVATE);
            StateDir.dir(cluster.resolve("server/private"), StateDir.PRIVATE);
            StateDir.dir(cluster.resolve("server/data"), StateDir.PRIVATE);
            StateDir.dir(cluster.resolve("agent"), StateDir.PUBLIC);
            StateDir.dir(agentSocket(c).getParent(), StateDir.PUBLIC);
            StateDir.dir(cluster.resolve("agent/data"), StateDir.PRIVATE);
        }
        // sleep's output directory: its own, as `agent api fetch x509 -write` requires.
        StateDir.ownedDir(sleepDir(), StateDir.PRIVATE, workload("sleep").uid());
        return "sockets' and SVIDs' directories "
                + StateDir.PUBLIC
                + " or the workload's own "
                + StateDir.PRIVATE
                + "; keys, datastores, logs "
                + StateDir.PRIVATE;
    }

    private String openNetwork() throws Exception {
        List<String> names =
                workloads.stream().filter(this::inPod).map(DemoCommand.Workload::name).toList();
        // A variant (nested) adds processes on the host's loopback (the root server and its
        // agents) that namespaced clusters could not reach: it runs on loopback.
        net =
                variant == null
                        ? Network.open(demo, 2, names)
                        : Network.loopback(
                                demo, 2, variant.getClass().getSimpleName() + " runs on loopback");
        pods = net.pods();
        return net.modeLine()
                + (pods == null
                        ? "; apps and sidecars' outbound ports are open to every local user"
                        : "");
    }

    /**
     * Every port the demo listens on (see {@link Network}): the examples' ones in the clusters'
     * namespaces, or on loopback where free (two demos, or a busy host, do not collide); the
     * gateway is published on the host on the port given with --gateway-port, if any. Recorded in
     * {@value Ports#FILE}.
     */
    private String choosePorts() throws IOException {
        serverPort.put(1, net.port("cluster1.server", 1, 8081));
        serverPort.put(2, net.port("cluster2.server", 2, 8082));
        controlPlanePort = net.port("controlplane", 2, 15012);
        controlPlaneAdminPort = net.localPort("controlplane.admin", 2, 15014);
        gatewayAdminPort = net.localPort("gateway.admin", 2, 15000);
        net.publishGateway(2, GATEWAY_LISTENER);
        if (variant != null) {
            variant.choosePorts(net.ports());
        }
        if (pods == null) {
            block = net.workloadBlock((int) workloads.stream().filter(this::inPod).count());
        }
        net.write(dir);
        return net.describePorts();
    }

    /** The Gateway's port in examples/two-clusters/mesh/bookinfo-gateway.yaml. */
    private static final int GATEWAY_LISTENER = 8080;

    /** The copied configuration listens and connects on this run's ports. */
    private void placeOnPorts() throws IOException {
        for (int c : new int[] {1, 2}) {
            int port = serverPort.get(c);
            Path server = serverConf(c);
            String text =
                    replaceOnce(
                            Files.readString(server),
                            "bind_port = \"" + (8080 + c) + "\"",
                            "bind_port = \"" + port + "\"",
                            server);
            Files.writeString(
                    server,
                    replaceOnce(
                            text,
                            "bind_address = \"127.0.0.1\"",
                            "bind_address = \"" + net.address(c) + "\"",
                            server));
            Path agent = config.resolve("cluster" + c + "/agent.conf");
            text =
                    replaceOnce(
                            Files.readString(agent),
                            "server_port = \"" + (8080 + c) + "\"",
                            "server_port = \"" + port + "\"",
                            agent);
            Files.writeString(
                    agent,
                    replaceOnce(
                            text,
                            "server_address = \"127.0.0.1\"",
                            "server_address = \"" + net.address(c) + "\"",
                            agent));
        }
        Path cp = config.resolve("cluster2/controlplane.conf");
        String text =
                replaceOnce(
                        Files.readString(cp),
                        "bind_port = \"15012\"",
                        "bind_port = \"" + controlPlanePort + "\"",
                        cp);
        text =
                replaceOnce(
                        text,
                        "admin_port = \"15014\"",
                        "admin_port = \"" + controlPlaneAdminPort + "\"",
                        cp);
        // On cluster 2's address: the gateway and the pods reach it there, and so does the host.
        // Its admin endpoint (no authentication) stays on loopback, in cluster 2's namespace.
        text =
                replaceOnce(
                        text,
                        "bind_address = \"127.0.0.1\"",
                        "bind_address = \"" + net.address(2) + "\"",
                        cp);
        Files.writeString(cp, text);
    }

    private boolean inPod(DemoCommand.Workload w) {
        return w.cluster() == 2 && w.app() != null;
    }

    /**
     * Where peers reach a workload (its WorkloadEntry address): the pod's, else its loopback
     * address.
     */
    private String podAddress(DemoCommand.Workload w) {
        return pods != null && inPod(w) ? pods.address(w.name()) : loopback(w);
    }

    /**
     * Where a workload's app, outbound listener and admin port listen: the pod's loopback, else its
     * address.
     */
    private String localAddress(DemoCommand.Workload w) {
        return pods != null && inPod(w) ? LOOPBACK : loopback(w);
    }

    /**
     * A workload's loopback address without pods: the examples' 127.0.1.N moved to this run's
     * block.
     */
    private String loopback(DemoCommand.Workload w) {
        String a = w.address();
        return a != null && a.startsWith(EXAMPLE_BLOCK + ".")
                ? block + a.substring(EXAMPLE_BLOCK.length())
                : a;
    }

    /** Where the control plane listens: cluster 2's address. */
    private String controlPlaneHost() {
        return net.address(2);
    }

    private String controlPlane() {
        return controlPlaneHost() + ":" + controlPlanePort;
    }

    /** The command line of a workload's process, inside its pod when it has one. */
    private List<String> inPodOf(DemoCommand.Workload w, List<String> cmd) {
        return pods != null && inPod(w) ? pods.enter(w.name(), cmd) : cmd;
    }

    /**
     * The copied mesh YAML places each workload at its pod's address, or without pods at its
     * address in this run's loopback block (the examples keep 127.0.1.N).
     */
    private void placeWorkloads() throws IOException {
        Path services = config.resolve("mesh/bookinfo-services.yaml");
        String yaml = Files.readString(services);
        for (DemoCommand.Workload w : workloads) {
            if (inPod(w) && !podAddress(w).equals(w.address())) {
                yaml =
                        replaceOnce(
                                yaml,
                                "address: " + w.address() + "\n",
                                "address: " + podAddress(w) + "\n",
                                services);
            }
        }
        Files.writeString(services, yaml);
    }

    private static String replaceOnce(String text, String from, String to, Path file)
            throws IOException {
        return DemoCommand.replaceOnce(text, from, to, file);
    }

    private String upstreamCa() throws Exception {
        Path ca = dir.resolve("upstream-ca");
        Path cert = ca.resolve("upstream-ca.pem");
        Path key = ca.resolve("upstream-ca.key.pem");
        if (Files.exists(cert) && Files.exists(key)) {
            return "reusing " + cert;
        }
        Files.createDirectories(ca);
        // The documented command (examples/two-clusters/README.md): a self-signed EC P-256 CA.
        Checks.Exec r =
                Checks.exec(
                        List.of(
                                "openssl",
                                "req",
                                "-x509",
                                "-newkey",
                                "ec",
                                "-pkeyopt",
                                "ec_paramgen_curve:prime256v1",
                                "-nodes",
                                "-sha256",
                                "-days",
                                "365",
                                "-subj",
                                "/C=US/O=SPIFFE/CN=Upstream CA",
                                "-addext",
                                "basicConstraints=critical,CA:TRUE",
                                "-addext",
                                "keyUsage=critical,keyCertSign,cRLSign",
                                "-keyout",
                                key.toString(),
                                "-out",
                                cert.toString()),
                        Duration.ofSeconds(30));
        if (r.exit() != 0) {
            throw new IOException("openssl req failed: " + r.err().strip());
        }
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        return cert.toString();
    }

    private Path serverConf(int c) {
        return config.resolve("cluster" + c + "/server.conf");
    }

    Path adminSocket(int c) {
        return dir.resolve("cluster" + c + "/server/private/api.sock");
    }

    Path agentSocket(int c) {
        return dir.resolve("cluster" + c + "/agent/public/api.sock");
    }

    private String nodeAlias(int c) {
        return "spiffe://" + TD + "/cluster" + c + "/node";
    }

    private final Map<Integer, Supervisor.Managed> servers = new java.util.HashMap<>();

    private String startServers() throws Exception {
        for (int c : new int[] {2, 1}) {
            servers.put(
                    c,
                    demo.supervisor()
                            .start(
                                    "cluster" + c + "-server",
                                    net.enter(
                                            c,
                                            demo.mithril(
                                                    null,
                                                    "server",
                                                    "run",
                                                    "-config",
                                                    serverConf(c).toString(),
                                                    "-expandEnv")),
                                    demo.env()));
        }
        // The bookinfo apps need nothing else: their JVMs start while the servers do.
        startApps();
        for (int c : new int[] {2, 1}) {
            Checks.await(
                    "cluster " + c + " server healthcheck",
                    START_TIMEOUT,
                    servers.get(c),
                    () ->
                            Files.exists(adminSocket(c))
                                    && DemoCommand.cli(
                                                            "server",
                                                            "healthcheck",
                                                            "-socketPath",
                                                            adminSocket(c).toString())
                                                    .exit()
                                            == 0);
        }
        return net.address(2)
                + ":"
                + serverPort.get(2)
                + " and "
                + net.address(1)
                + ":"
                + serverPort.get(1)
                + ", admin sockets "
                + adminSocket(2)
                + ", "
                + adminSocket(1);
    }

    private final Map<Integer, Supervisor.Managed> agents = new java.util.HashMap<>();

    private String startAgents() throws Exception {
        for (int c : new int[] {2, 1}) {
            String out =
                    cliOk(
                                    "server",
                                    "token",
                                    "generate",
                                    "-socketPath",
                                    adminSocket(c).toString(),
                                    "-spiffeID",
                                    nodeAlias(c),
                                    "-ttl",
                                    "600")
                            .out();
            String token = find("Token:\\s*(\\S+)", out, "the join token");
            Path conf =
                    DemoCommand.agentConfWithToken(
                            config.resolve("cluster" + c + "/agent.conf"), token);
            agents.put(
                    c,
                    demo.supervisor()
                            .start(
                                    "cluster" + c + "-agent",
                                    net.enter(
                                            c,
                                            demo.mithril(
                                                    null,
                                                    "agent",
                                                    "run",
                                                    "-config",
                                                    conf.toString(),
                                                    "-expandEnv")),
                                    demo.env()));
        }
        // The entries are registered already, so each agent's first sync (before it serves)
        // brings every SVID. The control plane, the proxies and sleep wait for their agent's
        // socket themselves (with a short backoff); their JVMs start meanwhile.
        startControlPlane();
        startProxies();
        startSleep();
        for (int c : new int[] {1, 2}) {
            Checks.await(
                    "cluster " + c + " agent healthcheck",
                    START_TIMEOUT,
                    agents.get(c),
                    () ->
                            Files.exists(agentSocket(c))
                                    && DemoCommand.cli(
                                                            "agent",
                                                            "healthcheck",
                                                            "-socketPath",
                                                            agentSocket(c).toString())
                                                    .exit()
                                            == 0);
            if (c == 1) {
                fetchSleepSvidInBackground();
            }
        }
        return "attested with join tokens as " + nodeAlias(2) + " and " + nodeAlias(1);
    }

    private String registerEntries(int c) {
        int n = 0;
        List<String> done = new ArrayList<>();
        for (DemoCommand.Workload w : workloads) {
            if (w.cluster() != c || done.contains(w.serviceAccountId())) {
                continue;
            }
            done.add(w.serviceAccountId());
            List<String> args =
                    new ArrayList<>(
                            List.of(
                                    "server",
                                    "entry",
                                    "create",
                                    "-socketPath",
                                    adminSocket(c).toString(),
                                    "-parentID",
                                    nodeAlias(c),
                                    "-spiffeID",
                                    w.serviceAccountId(),
                                    "-selector",
                                    "unix:uid:" + w.uid()));
            for (String dns : w.dnsNames()) {
                args.add("-dns");
                args.add(dns);
            }
            cliOk(args.toArray(String[]::new));
            n++;
        }
        return n + " entries";
    }

    DemoCommand.Workload workload(String name) {
        return workloads.stream().filter(w -> w.name().equals(name)).findFirst().orElseThrow();
    }

    private Supervisor.Managed controlPlane;

    private void startControlPlane() throws IOException {
        DemoCommand.Workload istiod = workload("istiod");
        controlPlane =
                demo.supervisor()
                        .start(
                                "istiod",
                                net.enter(
                                        2,
                                        demo.mithril(
                                                istiod.uid(),
                                                "controlplane",
                                                "run",
                                                "-config",
                                                config.resolve("cluster2/controlplane.conf")
                                                        .toString(),
                                                "-expandEnv",
                                                // It starts with the agents: on a loaded machine
                                                // their attestation can outlast the default 30 s.
                                                "-svidTimeout",
                                                START_TIMEOUT.toSeconds() * 2 + "s")),
                                demo.env());
    }

    private String awaitControlPlane() throws Exception {
        Checks.await(
                "the control plane on " + controlPlane(),
                START_TIMEOUT,
                controlPlane,
                () -> Checks.listening(controlPlaneHost(), controlPlanePort));
        return workload("istiod").serviceAccountId() + " on " + controlPlane();
    }

    private final List<Supervisor.Managed> apps = new ArrayList<>();
    private final Map<String, Supervisor.Managed> appProcesses = new java.util.HashMap<>();
    private Supervisor.Managed gateway;

    private void startApps() throws IOException {
        for (DemoCommand.Workload w : workloads) {
            if (w.cluster() != 2 || w.app() == null) {
                continue;
            }
            List<String> appArgs =
                    new ArrayList<>(
                            List.of(
                                    "sample",
                                    w.app(),
                                    "-address",
                                    localAddress(w),
                                    "-port",
                                    "19080"));
            if (w.app().equals("reviews")) {
                appArgs.addAll(List.of("-version", w.version()));
            }
            Map<String, String> appEnv = new java.util.HashMap<>(demo.env());
            appEnv.put("http_proxy", "http://" + localAddress(w) + ":15001");
            Supervisor.Managed app =
                    demo.supervisor()
                            .start(
                                    w.name(),
                                    inPodOf(
                                            w,
                                            demo.mithril(w.uid(), appArgs.toArray(String[]::new))),
                                    appEnv);
            apps.add(app);
            appProcesses.put(w.name(), app);
        }
    }

    private void startProxies() throws IOException {
        String socket = agentSocket(2).toString();
        DemoCommand.Workload gw = workload("ingressgateway");
        gateway =
                demo.supervisor()
                        .start(
                                "ingressgateway",
                                net.enter(
                                        2,
                                        demo.mithril(
                                                gw.uid(),
                                                "proxy",
                                                "gateway",
                                                "-socketPath",
                                                socket,
                                                "-controlPlane",
                                                controlPlane(),
                                                "-controlPlaneID",
                                                ISTIOD,
                                                "-spiffeID",
                                                gw.serviceAccountId(),
                                                "-namespace",
                                                "istio-system",
                                                "-label",
                                                "istio=ingressgateway",
                                                "-publish",
                                                net.gatewayListen() + "=" + GATEWAY_LISTENER,
                                                "-admin",
                                                LOOPBACK + ":" + gatewayAdminPort)),
                                demo.env());
        for (DemoCommand.Workload w : workloads) {
            if (w.cluster() != 2 || w.app() == null) {
                continue;
            }
            // Only the inbound (mTLS) port listens on the pod's address; the rest on its loopback.
            apps.add(
                    demo.supervisor()
                            .start(
                                    w.name() + "-sidecar",
                                    inPodOf(
                                            w,
                                            demo.mithril(
                                                    w.uid(),
                                                    "proxy",
                                                    "sidecar",
                                                    "-socketPath",
                                                    socket,
                                                    "-controlPlane",
                                                    controlPlane(),
                                                    "-controlPlaneID",
                                                    ISTIOD,
                                                    "-spiffeID",
                                                    w.serviceAccountId(),
                                                    "-namespace",
                                                    "default",
                                                    "-label",
                                                    "app=" + w.app(),
                                                    "-label",
                                                    "version=" + w.version(),
                                                    "-inbound",
                                                    podAddress(w)
                                                            + ":9080="
                                                            + localAddress(w)
                                                            + ":19080",
                                                    "-outbound",
                                                    localAddress(w) + ":15001",
                                                    "-admin",
                                                    localAddress(w) + ":15000")),
                                    demo.env()));
        }
    }

    private String awaitCluster2Workloads() throws Exception {
        for (DemoCommand.Workload w : workloads) {
            if (w.cluster() == 2 && w.app() != null) {
                Supervisor.Managed app = appProcesses.get(w.name());
                // In a pod the app is out of the host's reach: the kernel's table of its namespace
                // tells.
                Checks.await(
                        w.name() + " app on " + localAddress(w) + ":19080",
                        START_TIMEOUT,
                        null,
                        () ->
                                pods != null
                                        ? Pods.listeningIn(app.process().pid(), 19080)
                                        : Checks.listening(loopback(w), 19080));
                Checks.await(
                        w.name() + " sidecar inbound on " + podAddress(w) + ":9080",
                        START_TIMEOUT,
                        null,
                        () -> Checks.listening(podAddress(w), 9080));
            }
        }
        for (Supervisor.Managed m : apps) {
            if (!m.alive()) {
                throw new IOException(
                        m.name()
                                + " exited; last lines of "
                                + m.log()
                                + ":\n"
                                + Supervisor.tail(m.log(), 15));
            }
        }
        net.awaitGateway(gateway, START_TIMEOUT);
        return apps.size() + 1 + " processes";
    }

    private Path sleepDir() {
        return dir.resolve("cluster1/sleep");
    }

    private void startSleep() throws IOException {
        DemoCommand.Workload sleep = workload("sleep");
        demo.supervisor().start("sleep", demo.mithril(sleep.uid(), "sample", "sleep"), demo.env());
    }

    private final java.util.concurrent.CompletableFuture<Checks.Exec> sleepFetch =
            new java.util.concurrent.CompletableFuture<>();

    /** Runs the fetch as soon as cluster 1's agent serves, while cluster 2's workloads start. */
    private void fetchSleepSvidInBackground() {
        List<String> cmd = demo.fetchX509(workload("sleep").uid(), agentSocket(1), sleepDir());
        Thread t =
                new Thread(
                        () -> {
                            try {
                                // Run as the sleep workload, exactly as the seed's init container
                                // does.
                                sleepFetch.complete(Checks.exec(cmd, Duration.ofSeconds(60)));
                            } catch (Exception e) {
                                sleepFetch.completeExceptionally(e);
                            }
                        },
                        "sleep-fetch");
        t.setDaemon(true);
        t.start();
    }

    private String awaitSleepSvid() throws Exception {
        DemoCommand.Workload sleep = workload("sleep");
        Checks.Exec r;
        try {
            r = sleepFetch.get(90, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException(
                    "api fetch x509 failed: " + e.getCause().getMessage(), e.getCause());
        }
        if (r.exit() != 0) {
            throw new IOException(
                    "api fetch x509 failed (exit "
                            + r.exit()
                            + "): "
                            + (r.out() + r.err()).strip());
        }
        String id = find("SPIFFE ID:\\s*(\\S+)", r.out(), "the SPIFFE ID in the fetch output");
        if (!id.equals(sleep.serviceAccountId())) {
            throw new IOException("sleep got " + id + ", expected " + sleep.serviceAccountId());
        }
        return id + " -> " + sleepDir().resolve("svid.0.pem");
    }

    private List<String> curl(boolean withCert, String path, String... extra) {
        Path s = sleepDir();
        List<String> cmd = asSleep();
        cmd.addAll(
                List.of(
                        "curl",
                        "-sS",
                        "-w",
                        "\nHTTP_CODE=%{http_code}\n",
                        "--max-time",
                        "20",
                        "--cacert",
                        s.resolve("bundle.0.pem").toString(),
                        "--resolve",
                        "app.example.org:" + demo.gatewayPort() + ":127.0.0.1"));
        if (withCert) {
            cmd.addAll(
                    List.of(
                            "--cert",
                            s.resolve("svid.0.pem").toString(),
                            "--key",
                            s.resolve("svid.0.key").toString()));
        }
        cmd.addAll(List.of(extra));
        cmd.add("https://app.example.org:" + demo.gatewayPort() + path);
        return cmd;
    }

    /**
     * The prefix that runs a command as the sleep workload (its uid), as the seed's kubectl exec
     * does.
     */
    List<String> asSleep() {
        List<String> cmd = new ArrayList<>();
        if (DemoCommand.isRoot()) {
            int uid = workload("sleep").uid();
            cmd.addAll(
                    List.of("setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups", "--"));
        }
        return cmd;
    }

    private double firstCurlAt = -1;

    /** CPU seconds (user + system) the children and this process had used at the first curl. */
    private double[] cpuAtFirstCurl = {0, 0};

    /**
     * CPU time of every child (and its descendants) and of this process: on a loaded machine a
     * steadier measure of the demo's start-up cost than the time on the clock.
     */
    private double[] cpuSeconds() {
        double children = 0;
        for (Supervisor.Managed m : demo.supervisor().processes()) {
            children += Checks.cpuSeconds(m.process().toHandle());
        }
        double self =
                ProcessHandle.current()
                        .info()
                        .totalCpuDuration()
                        .map(d -> d.toMillis() / 1000.0)
                        .orElse(0.0);
        return new double[] {children, self};
    }

    private String curlProductPage() throws Exception {
        Checks.Exec r = null;
        // The gateway and sidecars may still be taking their SVIDs: retry briefly.
        for (int attempt = 0; attempt < 50; attempt++) {
            r = Checks.exec(curl(true, "/productpage"), Duration.ofSeconds(30));
            if (r.exit() == 0 && r.out().contains("HTTP_CODE=200")) {
                break;
            }
            Thread.sleep(200);
        }
        if (r.exit() != 0 || !r.out().contains("HTTP_CODE=200")) {
            throw new IOException(
                    "curl exit " + r.exit() + ": " + (r.err() + Checks.tail(r.out())).strip());
        }
        firstCurlAt = steps.elapsed();
        cpuAtFirstCurl = cpuSeconds();
        String body = r.out();
        for (String expected : List.of("The Comedy of Errors", "Reviewer1", "Reviewer2")) {
            if (!body.contains(expected)) {
                throw new IOException(
                        "HTTP 200 but the page lacks \"" + expected + "\": " + Checks.tail(body));
            }
        }
        return "HTTP 200, \"The Comedy of Errors\" with reviews, " + body.length() + " bytes";
    }

    private String showCerts() throws Exception {
        Path s = sleepDir();
        List<String> openssl = asSleep();
        openssl.addAll(
                Checks.gatewayShowCerts(
                        demo.gatewayPort(), s.resolve("svid.0.pem"), s.resolve("svid.0.key")));
        openssl.addAll(List.of("-CAfile", s.resolve("bundle.0.pem").toString()));
        Checks.Exec r = Checks.exec(openssl, Duration.ofSeconds(30));
        List<X509Certificate> chain = Checks.certificates(r.out());
        if (chain.size() < 2) {
            throw new IOException(
                    "expected the gateway's SVID and cluster 2's intermediate, got "
                            + chain.size()
                            + " certificates: "
                            + (r.out() + r.err()).strip());
        }
        if (!r.out().contains("Verify return code: 0 (ok)")) {
            throw new IOException(
                    "openssl could not verify the chain: "
                            + find("(Verify return code: .*)", r.out(), "the verify result"));
        }
        X509Certificate root =
                Checks.certificates(Files.readString(s.resolve("bundle.0.pem"))).get(0);
        List<X509Certificate> sleepChain =
                Checks.certificates(Files.readString(s.resolve("svid.0.pem")));
        X509Certificate gwLeaf = chain.get(0);
        X509Certificate gwIntermediate = chain.get(1);
        X509Certificate sleepIntermediate = sleepChain.get(1);
        String gwId = workload("ingressgateway").serviceAccountId();
        if (!Checks.uris(gwLeaf).equals(List.of(gwId))) {
            throw new IOException(
                    "gateway SVID has URI SANs " + Checks.uris(gwLeaf) + ", expected " + gwId);
        }
        if (!Checks.signedBy(gwLeaf, gwIntermediate) || !Checks.signedBy(gwIntermediate, root)) {
            throw new IOException("gateway chain does not lead to the upstream root");
        }
        if (!Checks.signedBy(sleepIntermediate, root) || sleepIntermediate.equals(gwIntermediate)) {
            throw new IOException(
                    "sleep's intermediate should be a different one, signed by the same root");
        }
        Files.writeString(dir.resolve("showcerts.txt"), r.out());
        return String.format(
                "%n           gateway SVID %s%n           <- cluster 2 intermediate (serial %s)%n"
                        + "           <- %s; sleep's SVID is under cluster 1's intermediate (serial %s), same root",
                gwId,
                gwIntermediate.getSerialNumber().toString(16),
                DemoCommand.subjectOf(root),
                sleepIntermediate.getSerialNumber().toString(16));
    }

    private String negativeChecks() throws Exception {
        Checks.Exec noCert = Checks.exec(curl(false, "/productpage"), Duration.ofSeconds(30));
        Checks.requireHandshakeRefused("a client without a certificate", noCert);
        // The throwaway key and its directory belong to the sleep workload that uses them.
        Path foreign = StateDir.ownedDir(dir.resolve("foreign-ca"), StateDir.PRIVATE, self);
        Checks.Exec ca =
                Checks.exec(
                        List.of(
                                "openssl",
                                "req",
                                "-x509",
                                "-newkey",
                                "ec",
                                "-pkeyopt",
                                "ec_paramgen_curve:prime256v1",
                                "-nodes",
                                "-days",
                                "1",
                                "-subj",
                                "/CN=Foreign CA",
                                "-addext",
                                "subjectAltName=URI:spiffe://" + TD + "/ns/default/sa/sleep",
                                "-keyout",
                                foreign.resolve("key.pem").toString(),
                                "-out",
                                foreign.resolve("cert.pem").toString()),
                        Duration.ofSeconds(30));
        if (ca.exit() != 0) {
            throw new IOException("openssl req (foreign cert) failed: " + ca.err().strip());
        }
        for (String f : List.of("key.pem", "cert.pem")) {
            StateDir.chown(foreign.resolve(f), workload("sleep").uid());
        }
        StateDir.chown(foreign, workload("sleep").uid());
        List<String> cmd =
                curl(
                        false,
                        "/productpage",
                        "--cert",
                        foreign.resolve("cert.pem").toString(),
                        "--key",
                        foreign.resolve("key.pem").toString());
        Checks.Exec foreignCert = Checks.exec(cmd, Duration.ofSeconds(30));
        Checks.requireHandshakeRefused("a certificate from a foreign CA", foreignCert);
        Checks.Exec unrouted = Checks.exec(curl(true, "/no-such-route"), Duration.ofSeconds(30));
        if (!unrouted.out().contains("HTTP_CODE=404")) {
            throw new IOException(
                    "an unrouted path should get 404, got: "
                            + (unrouted.out() + unrouted.err()).strip());
        }
        return "no cert: refused (curl exit "
                + noCert.exit()
                + "); foreign CA: refused (curl exit "
                + foreignCert.exit()
                + "); /no-such-route: 404";
    }

    private void summary() {
        long rss = 0;
        long pss = 0;
        for (Supervisor.Managed m : demo.supervisor().processes()) {
            rss += Checks.rssKiB(m.process().toHandle());
            pss += Checks.pssKiB(m.process().toHandle());
        }
        System.out.flush();
        java.io.PrintWriter out = demo.spec.commandLine().getOut();
        out.println();
        out.printf(
                "Summary: the %s scenario works end to end.%n",
                variant == null ? "seed" : "nested");
        out.printf(
                "  first successful curl at %.1fs after start; %d processes, %.0f MiB resident in total"
                        + " (%.0f MiB proportional: shared pages counted once)%n",
                firstCurlAt, demo.supervisor().processes().size(), rss / 1024.0, pss / 1024.0);
        out.printf(
                "  CPU used by then: %.1f s by the processes, %.1f s by the demo itself%n",
                cpuAtFirstCurl[0], cpuAtFirstCurl[1]);
        out.flush();
    }

    /** What to paste with {@code --keep-running}, for this run's mode, addresses and ports. */
    void printTryIt(java.io.PrintWriter out) {
        Path s = sleepDir();
        int port = demo.gatewayPort();
        TryIt t = new TryIt(out, demo, net);
        t.heading("Both clusters are up. Try (Ctrl-C here stops everything):");
        t.comment(
                "sleep (cluster 1) calls the product page through cluster 2's ingress gateway,"
                        + " published on 127.0.0.1:"
                        + port
                        + (net.namespaces() ? " (forwarded to " + net.gatewayListen() + ")" : ""));
        String as =
                DemoCommand.isRoot()
                        ? "setpriv --reuid="
                                + workload("sleep").uid()
                                + " --regid="
                                + workload("sleep").uid()
                                + " --clear-groups -- "
                        : "";
        t.command(
                as
                        + "curl --cert "
                        + s
                        + "/svid.0.pem --key "
                        + s
                        + "/svid.0.key --cacert "
                        + s
                        + "/bundle.0.pem \\");
        t.command(
                "     --resolve app.example.org:"
                        + port
                        + ":127.0.0.1 https://app.example.org:"
                        + port
                        + "/productpage");
        t.command(
                as
                        + "openssl s_client -showcerts -connect 127.0.0.1:"
                        + port
                        + " -servername app.example.org \\");
        t.command(
                "     -cert "
                        + s
                        + "/svid.0.pem -key "
                        + s
                        + "/svid.0.key -CAfile "
                        + s
                        + "/bundle.0.pem </dev/null");
        for (int c : new int[] {1, 2}) {
            t.cluster(
                    c,
                    "cluster " + c,
                    net.address(c) + ":" + serverPort.get(c),
                    adminSocket(c),
                    agentSocket(c));
        }
        t.comment("cluster 2's control plane (istiod) and the proxies' admin endpoints:");
        t.controlPlane(2, LOOPBACK + ":" + controlPlaneAdminPort);
        t.proxyAdmin("the ingress gateway", net.netns(2), LOOPBACK + ":" + gatewayAdminPort);
        DemoCommand.Workload productpage = workload("productpage");
        t.proxyAdmin(
                "productpage's sidecar",
                pods == null ? null : pods.netns(productpage.name()),
                localAddress(productpage) + ":15000");
        t.flush();
    }
}
