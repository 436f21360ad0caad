package io.mithril.cli.demo;

import static io.mithril.cli.demo.DemoCommand.cliOk;
import static io.mithril.cli.demo.DemoCommand.find;

import io.mithril.cli.Cli;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code mithril demo federation}: two clusters in two trust domains, each with its own CA and no
 * shared root, federated through their bundle endpoints (https_spiffe). Cluster 1 is {@code
 * domain.test} and runs {@code sleep}; cluster 2 is {@code example.org} and runs bookinfo behind
 * the ingress gateway, whose AuthorizationPolicy names sleep's foreign ID {@code
 * domain.test/ns/default/sa/sleep}. Each check is done for real (curl, openssl, the CLI).
 *
 * <p>All workloads run as the demo's user; each proxy picks its identity by SPIFFE ID (see
 * docs/federation.md). As root each cluster, with its workloads, runs in a network namespace of its
 * own; otherwise everything is on loopback with free ports ({@link Network}).
 */
final class FederationScenario {

    static final String TD1 = "domain.test";
    static final String TD2 = "example.org";
    static final String SLEEP = "spiffe://" + TD1 + "/ns/default/sa/sleep";
    static final String OTHER = "spiffe://" + TD1 + "/ns/default/sa/other";
    static final String GATEWAY =
            "spiffe://" + TD2 + "/ns/istio-system/sa/istio-ingressgateway-service-account";
    static final String ISTIOD = "spiffe://" + TD2 + "/ns/istio-system/sa/istiod";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(180);

    /**
     * A bookinfo workload of cluster 2: its app, service account and address (as in
     * examples/two-clusters/mesh).
     */
    private record App(
            String name, String app, String version, String serviceAccount, String address) {
        String id() {
            return "spiffe://" + TD2 + "/ns/default/sa/" + serviceAccount;
        }
    }

    private static final List<App> BOOKINFO =
            List.of(
                    new App(
                            "productpage",
                            "productpage",
                            "v1",
                            "bookinfo-productpage",
                            "127.0.1.1"),
                    new App("details", "details", "v1", "bookinfo-details", "127.0.1.2"),
                    new App("reviews-v1", "reviews", "v1", "bookinfo-reviews", "127.0.1.3"),
                    new App("reviews-v2", "reviews", "v2", "bookinfo-reviews", "127.0.1.4"),
                    new App("reviews-v3", "reviews", "v3", "bookinfo-reviews", "127.0.1.5"),
                    new App("ratings", "ratings", "v1", "bookinfo-ratings", "127.0.1.6"));

    private final DemoCommand demo;
    private final Steps steps;
    private final Path dir;
    private final Path config;
    private final Map<Integer, Supervisor.Managed> servers = new LinkedHashMap<>();
    private final Map<Integer, Supervisor.Managed> agents = new LinkedHashMap<>();
    private final List<Supervisor.Managed> meshProcesses = new ArrayList<>();
    private Supervisor.Managed gateway;
    private final Map<String, Supervisor.Managed> sidecars = new LinkedHashMap<>();
    private double firstCurlAt = -1;

    /** Where the clusters run and listen: namespaces (root) or loopback. */
    private Network net;

    private final Map<Integer, Integer> serverPort = new LinkedHashMap<>();
    private final Map<Integer, Integer> bundlePort = new LinkedHashMap<>();
    private int controlPlanePort;
    private int controlPlaneAdminPort;
    private int gatewayAdminPort;

    /** The bookinfo workloads' loopback block (the examples' 127.0.1 unless taken). */
    private String block = Network.EXAMPLE_BLOCK;

    /** The Gateway's port in examples/two-clusters/mesh/bookinfo-gateway.yaml. */
    private static final int GATEWAY_LISTENER = 8080;

    FederationScenario(DemoCommand demo) {
        this.demo = demo;
        this.steps = demo.steps();
        this.dir = demo.dir();
        this.config = dir.resolve("config");
    }

    static String trustDomain(int cluster) {
        return cluster == 1 ? TD1 : TD2;
    }

    void run() throws Exception {
        steps.run("preflight: curl and openssl", this::preflight);
        steps.run(
                "network: a namespace per cluster (root), else loopback",
                () -> {
                    net = Network.open(demo, 2, List.of());
                    return net.modeLine();
                });
        steps.run("ports: the documented ones (in the namespaces, or where free)", this::ports);
        steps.run(
                "configuration files (each cluster its own CA, bundle endpoint, federates_with)",
                this::writeConfigs);
        steps.run("identity servers of domain.test and example.org", this::startServers);
        steps.run(
                "bootstrap: each server gets the other's bundle once, then fetches it",
                this::bootstrap);
        steps.run(
                "registration entries (-federatesWith the other trust domain)",
                this::registerEntries);
        steps.run(
                "node agents, control plane, bookinfo with sidecars, ingress gateway",
                this::startEverythingElse);
        steps.run(
                "domain.test: sleep fetches its SVID and example.org's bundle (api fetch x509 -write)",
                this::fetchSleep);
        steps.run(
                "sleep (domain.test) -> example.org ingress: curl /productpage over mTLS",
                this::curlProductPage);
        steps.run(
                "negative checks: another domain.test ID, a forged domain.test SVID, no certificate",
                this::negativeChecks);
        steps.run(
                "a JWT-SVID minted in domain.test validates in example.org",
                this::jwtAcrossTrustDomains);
        steps.run(
                "example.org's CA rotated during traffic (prepare, activate, taint): no request fails",
                this::rotateDuringTraffic);
        summary();
    }

    // ---- steps ----

    private String preflight() {
        for (String tool : List.of("curl", "openssl")) {
            if (!Checks.onPath(tool)) {
                throw new Cli.UserException(
                        "missing " + tool + ": install it (apt-get install curl openssl)");
            }
        }
        return "all workloads run as uid "
                + DemoCommand.UID
                + "; proxies pick their identity by SPIFFE ID";
    }

    /**
     * The identity servers (8081, 8082), their bundle endpoints (8441, 8442), the control plane
     * (15012, admin 15014), the gateway's admin (15000) and the bookinfo block (127.0.1.1-6), as
     * {@link Network} gives them; the gateway published on 127.0.0.1:--gateway-port.
     */
    private String ports() throws IOException {
        for (int c : new int[] {1, 2}) {
            serverPort.put(c, net.port("cluster" + c + ".server", c, 8080 + c));
            bundlePort.put(c, net.port("cluster" + c + ".bundle_endpoint", c, 8440 + c));
        }
        controlPlanePort = net.port("controlplane", 2, 15012);
        controlPlaneAdminPort = net.localPort("controlplane.admin", 2, 15014);
        gatewayAdminPort = net.localPort("gateway.admin", 2, 15000);
        net.publishGateway(2, GATEWAY_LISTENER);
        block = net.workloadBlock(BOOKINFO.size());
        net.write(dir);
        return net.describePorts();
    }

    /** A bookinfo workload's address: the examples' 127.0.1.N moved to this run's block. */
    private String address(App a) {
        return block + a.address().substring(Network.EXAMPLE_BLOCK.length());
    }

    private String controlPlane() {
        return net.address(2) + ":" + controlPlanePort;
    }

    private String bundleEndpoint(int c) {
        return "https://" + net.address(c) + ":" + bundlePort.get(c);
    }

    private Path adminSocket(int c) {
        return dir.resolve("cluster" + c + "/server/private/api.sock");
    }

    private Path agentSocket(int c) {
        return dir.resolve("cluster" + c + "/agent/public/api.sock");
    }

    private Path sleepDir() {
        return dir.resolve("cluster1/sleep");
    }

    private String nodeId(int c) {
        return "spiffe://" + trustDomain(c) + "/cluster" + c + "/node";
    }

    private String writeConfigs() throws IOException {
        for (int c : new int[] {1, 2}) {
            Path cluster = StateDir.dir(dir.resolve("cluster" + c), StateDir.PUBLIC);
            for (String d : List.of("server", "server/private", "server/data", "agent/data")) {
                StateDir.dir(cluster.resolve(d), StateDir.PRIVATE);
            }
            StateDir.dir(agentSocket(c).getParent(), StateDir.PUBLIC);
            int peer = 3 - c;
            Files.writeString(
                    StateDir.dir(config.resolve("cluster" + c), StateDir.PUBLIC)
                            .resolve("server.conf"),
                    """
                    # Cluster %1$d: trust domain %2$s, its own self-signed CA (no UpstreamAuthority), its bundle
                    # published on https://%5$s:%6$d (https_spiffe), federated with %3$s.
                    server {
                        bind_address = "%5$s"
                        bind_port = "%7$d"
                        socket_path = "${DEMO_DIR}/cluster%1$d/server/private/api.sock"
                        trust_domain = "%2$s"
                        data_dir = "${DEMO_DIR}/cluster%1$d/server/data"
                        log_level = "INFO"
                        ca_ttl = "24h"
                        default_x509_svid_ttl = "1h"
                        federation {
                            bundle_endpoint {
                                address = "%5$s"
                                port = %6$d
                                refresh_hint = "10s"
                                profile "https_spiffe" {}
                            }
                            federates_with "%3$s" {
                                bundle_endpoint_url = "%4$s"
                                bundle_endpoint_profile "https_spiffe" {
                                    endpoint_spiffe_id = "spiffe://%3$s/spire/server"
                                }
                            }
                        }
                    }

                    plugins {
                        DataStore "sql" {
                            plugin_data {
                                database_type = "sqlite3"
                                connection_string = "${DEMO_DIR}/cluster%1$d/server/data/datastore.sqlite3"
                            }
                        }
                        NodeAttestor "join_token" {
                            plugin_data {}
                        }
                        KeyManager "disk" {
                            plugin_data {
                                keys_path = "${DEMO_DIR}/cluster%1$d/server/data/keys.json"
                            }
                        }
                    }
                    """
                            .formatted(
                                    c,
                                    trustDomain(c),
                                    trustDomain(peer),
                                    bundleEndpoint(peer),
                                    net.address(c),
                                    bundlePort.get(c),
                                    serverPort.get(c)));
            Files.writeString(
                    config.resolve("cluster" + c + "/agent.conf"),
                    """
                    # Cluster %1$d's node agent (trust domain %2$s); trust_bundle_path is the server's own bundle.
                    agent {
                        data_dir = "${DEMO_DIR}/cluster%1$d/agent/data"
                        log_level = "INFO"
                        server_address = "%3$s"
                        server_port = "%4$d"
                        socket_path = "${DEMO_DIR}/cluster%1$d/agent/public/api.sock"
                        trust_bundle_path = "${DEMO_DIR}/cluster%1$d/bootstrap-bundle.pem"
                        trust_domain = "%2$s"
                    }

                    plugins {
                        NodeAttestor "join_token" {
                            plugin_data {}
                        }
                        KeyManager "disk" {
                            plugin_data {
                                directory = "${DEMO_DIR}/cluster%1$d/agent/data"
                            }
                        }
                        WorkloadAttestor "unix" {
                            plugin_data {}
                        }
                    }
                    """
                            .formatted(c, trustDomain(c), net.address(c), serverPort.get(c)));
        }
        Files.writeString(
                config.resolve("cluster2/controlplane.conf"),
                """
                # Cluster 2's control plane (istiod) for example.org; sidecars also accept domain.test peers.
                control_plane {
                    bind_address = "%1$s"
                    bind_port = "%2$d"
                    admin_address = "127.0.0.1"
                    admin_port = "%3$d"
                    socket_path = "${DEMO_DIR}/cluster2/agent/public/api.sock"
                    config_dir = "../mesh"
                    trust_domain = "example.org"
                    trust_domain_aliases = ["domain.test"]
                    spiffe_id = "spiffe://example.org/ns/istio-system/sa/istiod"
                }
                """
                        .formatted(net.address(2), controlPlanePort, controlPlaneAdminPort));
        Path mesh = StateDir.dir(config.resolve("mesh"), StateDir.PUBLIC);
        Path seedMesh = demo.home().resolve("examples/two-clusters/mesh");
        for (String f : List.of("bookinfo-gateway.yaml", "bookinfo-services.yaml")) {
            Files.copy(seedMesh.resolve(f), mesh.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        // The WorkloadEntries at this run's loopback block (the examples keep 127.0.1.N).
        Path services = mesh.resolve("bookinfo-services.yaml");
        String yaml = Files.readString(services);
        for (App a : BOOKINFO) {
            if (!address(a).equals(a.address())) {
                yaml =
                        DemoCommand.replaceOnce(
                                yaml,
                                "address: " + a.address() + "\n",
                                "address: " + address(a) + "\n",
                                services);
            }
        }
        Files.writeString(services, yaml);
        Files.writeString(
                mesh.resolve("ingress-authorization.yaml"),
                """
                # Only sleep of the federated trust domain domain.test may call through the ingress gateway.
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: ingress-from-domain-test
                  namespace: istio-system
                spec:
                  selector:
                    matchLabels:
                      istio: ingressgateway
                  action: ALLOW
                  rules:
                  - from:
                    - source:
                        principals: ["domain.test/ns/default/sa/sleep"]
                """);
        return config.toString();
    }

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
                                                    config.resolve("cluster" + c + "/server.conf")
                                                            .toString(),
                                                    "-expandEnv")),
                                    demo.env()));
        }
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
            // The agent's bootstrap bundle: the server's own root (no shared upstream CA here).
            Files.writeString(
                    dir.resolve("cluster" + c + "/bootstrap-bundle.pem"),
                    cliOk("server", "bundle", "show", "-socketPath", adminSocket(c).toString())
                            .out());
        }
        return String.format(
                "domain.test on %s:%d (bundle endpoint %s), example.org on %s:%d (bundle endpoint %s)",
                net.address(1),
                serverPort.get(1),
                bundleEndpoint(1),
                net.address(2),
                serverPort.get(2),
                bundleEndpoint(2));
    }

    /**
     * https_spiffe needs the peer's bundle before the first fetch: handed over once, out of band
     * (here from each server's admin socket), as SPIRE's docs do with {@code bundle show | bundle
     * set}. Afterwards each server refreshes it from the other's endpoint by itself.
     */
    private String bootstrap() throws Exception {
        List<String> out = new ArrayList<>();
        for (int c : new int[] {1, 2}) {
            int peer = 3 - c;
            Path file = dir.resolve("cluster" + c + "/" + trustDomain(peer) + ".bundle.json");
            Files.writeString(
                    file,
                    cliOk(
                                    "server",
                                    "bundle",
                                    "show",
                                    "-format",
                                    "spiffe",
                                    "-socketPath",
                                    adminSocket(peer).toString())
                            .out());
            cliOk(
                    "server",
                    "bundle",
                    "set",
                    "-format",
                    "spiffe",
                    "-id",
                    "spiffe://" + trustDomain(peer),
                    "-path",
                    file.toString(),
                    "-socketPath",
                    adminSocket(c).toString());
        }
        for (int c : new int[] {1, 2}) {
            String peer = trustDomain(3 - c);
            DemoCommand.CliResult r = null;
            for (int attempt = 0; attempt < 20; attempt++) {
                r =
                        DemoCommand.cli(
                                "server",
                                "federation",
                                "refresh",
                                "-id",
                                peer,
                                "-socketPath",
                                adminSocket(c).toString());
                if (r.exit() == 0) {
                    break;
                }
                Thread.sleep(250);
            }
            if (r.exit() != 0) {
                throw new IOException(
                        trustDomain(c)
                                + " could not fetch "
                                + peer
                                + "'s bundle from its endpoint: "
                                + r.all().strip());
            }
            out.add(trustDomain(c) + " fetched " + peer + "'s bundle over https_spiffe");
        }
        return String.join("; ", out);
    }

    private String registerEntries() {
        int n = 0;
        for (String id : List.of(SLEEP, OTHER)) {
            cliOk(
                    "server",
                    "entry",
                    "create",
                    "-socketPath",
                    adminSocket(1).toString(),
                    "-parentID",
                    nodeId(1),
                    "-spiffeID",
                    id,
                    "-selector",
                    "unix:uid:" + DemoCommand.UID,
                    "-federatesWith",
                    TD2);
            n++;
        }
        List<String> ids = new ArrayList<>(List.of(ISTIOD));
        BOOKINFO.stream().map(App::id).distinct().forEach(ids::add);
        for (String id : ids) {
            cliOk(
                    "server",
                    "entry",
                    "create",
                    "-socketPath",
                    adminSocket(2).toString(),
                    "-parentID",
                    nodeId(2),
                    "-spiffeID",
                    id,
                    "-selector",
                    "unix:uid:" + DemoCommand.UID);
            n++;
        }
        // The gateway is the one example.org workload that must hold domain.test's bundle.
        cliOk(
                "server",
                "entry",
                "create",
                "-socketPath",
                adminSocket(2).toString(),
                "-parentID",
                nodeId(2),
                "-spiffeID",
                GATEWAY,
                "-selector",
                "unix:uid:" + DemoCommand.UID,
                "-dns",
                "app.example.org",
                "-federatesWith",
                TD1);
        return (n + 1)
                + " entries; sleep's federate with example.org, the gateway's with domain.test";
    }

    private String startEverythingElse() throws Exception {
        for (int c : new int[] {2, 1}) {
            String out =
                    cliOk(
                                    "server",
                                    "token",
                                    "generate",
                                    "-socketPath",
                                    adminSocket(c).toString(),
                                    "-spiffeID",
                                    nodeId(c),
                                    "-ttl",
                                    "600")
                            .out();
            Path conf =
                    DemoCommand.agentConfWithToken(
                            config.resolve("cluster" + c + "/agent.conf"),
                            find("Token:\\s*(\\S+)", out, "the join token"));
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
        // The agents first: on a loaded machine, twenty JVMs starting at once starve them.
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
        }
        String socket = agentSocket(2).toString();
        meshProcesses.add(
                demo.supervisor()
                        .start(
                                "istiod",
                                net.enter(
                                        2,
                                        demo.mithril(
                                                null,
                                                "controlplane",
                                                "run",
                                                "-config",
                                                config.resolve("cluster2/controlplane.conf")
                                                        .toString(),
                                                "-expandEnv")),
                                demo.env()));
        for (App a : BOOKINFO) {
            List<String> args =
                    new ArrayList<>(
                            List.of("sample", a.app(), "-address", address(a), "-port", "19080"));
            if (a.app().equals("reviews")) {
                args.addAll(List.of("-version", a.version()));
            }
            Map<String, String> env = new java.util.HashMap<>(demo.env());
            env.put("http_proxy", "http://" + address(a) + ":15001");
            meshProcesses.add(
                    demo.supervisor()
                            .start(
                                    a.name(),
                                    net.enter(2, demo.mithril(null, args.toArray(String[]::new))),
                                    env));
            Supervisor.Managed sidecar =
                    demo.supervisor()
                            .start(
                                    a.name() + "-sidecar",
                                    net.enter(
                                            2,
                                            demo.mithril(
                                                    null,
                                                    "proxy",
                                                    "sidecar",
                                                    "-socketPath",
                                                    socket,
                                                    "-controlPlane",
                                                    controlPlane(),
                                                    "-controlPlaneID",
                                                    ISTIOD,
                                                    "-spiffeID",
                                                    a.id(),
                                                    "-namespace",
                                                    "default",
                                                    "-label",
                                                    "app=" + a.app(),
                                                    "-label",
                                                    "version=" + a.version(),
                                                    "-inbound",
                                                    address(a) + ":9080=" + address(a) + ":19080",
                                                    "-outbound",
                                                    address(a) + ":15001",
                                                    "-admin",
                                                    address(a) + ":15000")),
                                    demo.env());
            sidecars.put(a.name(), sidecar);
            meshProcesses.add(sidecar);
        }
        gateway =
                demo.supervisor()
                        .start(
                                "ingressgateway",
                                net.enter(
                                        2,
                                        demo.mithril(
                                                null,
                                                "proxy",
                                                "gateway",
                                                "-socketPath",
                                                socket,
                                                "-controlPlane",
                                                controlPlane(),
                                                "-controlPlaneID",
                                                ISTIOD,
                                                "-spiffeID",
                                                GATEWAY,
                                                "-namespace",
                                                "istio-system",
                                                "-label",
                                                "istio=ingressgateway",
                                                "-publish",
                                                net.gatewayListen() + "=" + GATEWAY_LISTENER,
                                                "-admin",
                                                Network.LOOPBACK + ":" + gatewayAdminPort)),
                                demo.env());
        meshProcesses.add(gateway);
        for (App a : BOOKINFO) {
            Supervisor.Managed sidecar = sidecars.get(a.name());
            // In cluster 2's namespace its loopback is out of the host's reach: the kernel's
            // table of that namespace tells.
            Checks.await(
                    a.name() + " sidecar inbound on " + address(a) + ":9080",
                    START_TIMEOUT,
                    sidecar,
                    () -> net.listening(2, sidecar.process().pid(), address(a), 9080));
        }
        net.awaitGateway(gateway, START_TIMEOUT);
        for (Supervisor.Managed m : meshProcesses) {
            if (!m.alive()) {
                throw new IOException(
                        m.name()
                                + " exited; last lines of "
                                + m.log()
                                + ":\n"
                                + Supervisor.tail(m.log(), 15));
            }
        }
        return "2 agents, control plane, "
                + BOOKINFO.size()
                + " apps with sidecars, gateway on "
                + net.gatewayListen()
                + (net.namespaces() ? " published on 127.0.0.1:" + demo.gatewayPort() : "");
    }

    private Path sleepSvid;
    private Path sleepKey;
    private Path otherSvid;
    private Path otherKey;

    private String fetchSleep() throws Exception {
        StateDir.ownedDir(sleepDir(), StateDir.PRIVATE, DemoCommand.UID);
        Checks.Exec r = null;
        Path federated = sleepDir().resolve("federated_bundle.0.0.pem");
        for (int attempt = 0; attempt < 40; attempt++) {
            r = fetchSleepInto(sleepDir());
            if (r.exit() == 0
                    && Files.exists(federated)
                    && Files.exists(sleepDir().resolve("svid.1.pem"))) {
                break;
            }
            Thread.sleep(250);
        }
        if (r.exit() != 0 || !Files.exists(federated)) {
            throw new IOException(
                    "api fetch x509 did not write "
                            + federated
                            + " (exit "
                            + r.exit()
                            + "): "
                            + (r.out() + r.err()).strip());
        }
        // Both domain.test entries select this uid: tell the SVIDs apart by their URI SAN.
        for (int i = 0; i < 2; i++) {
            Path svid = sleepDir().resolve("svid." + i + ".pem");
            String id = Checks.uris(Checks.certificates(Files.readString(svid)).get(0)).get(0);
            if (id.equals(SLEEP)) {
                sleepSvid = svid;
                sleepKey = sleepDir().resolve("svid." + i + ".key");
            } else if (id.equals(OTHER)) {
                otherSvid = svid;
                otherKey = sleepDir().resolve("svid." + i + ".key");
            }
        }
        if (sleepSvid == null || otherSvid == null) {
            throw new IOException(
                    "expected SVIDs for " + SLEEP + " and " + OTHER + " in " + sleepDir());
        }
        List<X509Certificate> ownRoots =
                Checks.certificates(Files.readString(sleepDir().resolve("bundle.0.pem")));
        List<X509Certificate> peerRoots = Checks.certificates(Files.readString(federated));
        if (peerRoots.isEmpty() || ownRoots.stream().anyMatch(peerRoots::contains)) {
            throw new IOException(
                    "federated_bundle.0.0.pem should hold example.org's roots, none of domain.test's");
        }
        return SLEEP
                + "; bundle.0.pem = domain.test's root, federated_bundle.0.0.pem = example.org's ("
                + DemoCommand.subjectOf(peerRoots.get(0))
                + ")";
    }

    /** sleep's {@code api fetch x509 -write DIR} on domain.test's agent. */
    private Checks.Exec fetchSleepInto(Path into) throws Exception {
        return Checks.exec(demo.fetchX509(null, agentSocket(1), into), Duration.ofSeconds(60));
    }

    private List<String> curl(Path cert, Path key, String path) {
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                "curl",
                                "-sS",
                                "-w",
                                "\nHTTP_CODE=%{http_code}\n",
                                "--max-time",
                                "20",
                                // sleep trusts example.org's gateway through the federated bundle.
                                "--cacert",
                                sleepDir().resolve("federated_bundle.0.0.pem").toString(),
                                "--resolve",
                                "app.example.org:" + demo.gatewayPort() + ":127.0.0.1"));
        if (cert != null) {
            cmd.addAll(List.of("--cert", cert.toString(), "--key", key.toString()));
        }
        cmd.add("https://app.example.org:" + demo.gatewayPort() + path);
        return cmd;
    }

    private String curlProductPage() throws Exception {
        Checks.Exec r = null;
        for (int attempt = 0; attempt < 100; attempt++) {
            r = Checks.exec(curl(sleepSvid, sleepKey, "/productpage"), Duration.ofSeconds(30));
            if (r.exit() == 0 && r.out().contains("HTTP_CODE=200")) {
                break;
            }
            Thread.sleep(300);
        }
        if (r.exit() != 0 || !r.out().contains("HTTP_CODE=200")) {
            throw new IOException(
                    "curl exit " + r.exit() + ": " + (r.err() + Checks.tail(r.out())).strip());
        }
        firstCurlAt = steps.elapsed();
        for (String expected : List.of("The Comedy of Errors", "Reviewer1")) {
            if (!r.out().contains(expected)) {
                throw new IOException(
                        "HTTP 200 but the page lacks \""
                                + expected
                                + "\": "
                                + Checks.tail(r.out()));
            }
        }
        return "HTTP 200, \"The Comedy of Errors\" with reviews: the gateway validated sleep's domain.test SVID"
                + " with the federated bundle and the policy allowed domain.test/ns/default/sa/sleep";
    }

    private String negativeChecks() throws Exception {
        Checks.Exec other =
                Checks.exec(curl(otherSvid, otherKey, "/productpage"), Duration.ofSeconds(30));
        if (!other.out().contains("HTTP_CODE=403")) {
            throw new IOException(
                    OTHER
                            + " is not named by the policy and should get 403, got: "
                            + (other.out() + other.err()).strip());
        }
        // Attack: a CA nobody federates with mints sleep's domain.test ID.
        Path forged = StateDir.dir(dir.resolve("forged"), StateDir.PRIVATE);
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
                                "/CN=Impostor of domain.test",
                                "-addext",
                                "subjectAltName=URI:" + SLEEP,
                                "-keyout",
                                forged.resolve("key.pem").toString(),
                                "-out",
                                forged.resolve("cert.pem").toString()),
                        Duration.ofSeconds(30));
        if (ca.exit() != 0) {
            throw new IOException("openssl req (forged cert) failed: " + ca.err().strip());
        }
        Checks.Exec forgedCall =
                Checks.exec(
                        curl(forged.resolve("cert.pem"), forged.resolve("key.pem"), "/productpage"),
                        Duration.ofSeconds(30));
        Checks.requireHandshakeRefused("a forged domain.test SVID", forgedCall);
        Checks.Exec noCert = Checks.exec(curl(null, null, "/productpage"), Duration.ofSeconds(30));
        Checks.requireHandshakeRefused("a client without a certificate", noCert);
        return OTHER
                + ": 403 (not in the policy); forged SVID: refused (curl exit "
                + forgedCall.exit()
                + "); no certificate: refused (curl exit "
                + noCert.exit()
                + ")";
    }

    /**
     * With one CA per trust domain, JWT keys are per trust domain too: a token minted in
     * domain.test verifies in example.org only through the federated JWT bundle.
     */
    private String jwtAcrossTrustDomains() throws Exception {
        Checks.Exec fetch =
                Checks.exec(
                        demo.mithril(
                                null,
                                "agent",
                                "api",
                                "fetch",
                                "jwt",
                                "-socketPath",
                                agentSocket(1).toString(),
                                "-audience",
                                "productpage",
                                "-spiffeID",
                                SLEEP),
                        Duration.ofSeconds(60));
        if (fetch.exit() != 0) {
            throw new IOException("api fetch jwt failed: " + (fetch.out() + fetch.err()).strip());
        }
        String token =
                find(
                        "(eyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+)",
                        fetch.out(),
                        "the JWT-SVID");
        Checks.Exec validate =
                Checks.exec(
                        demo.mithril(
                                null,
                                "agent",
                                "api",
                                "validate",
                                "jwt",
                                "-socketPath",
                                agentSocket(2).toString(),
                                "-audience",
                                "productpage",
                                "-svid",
                                token),
                        Duration.ofSeconds(60));
        if (validate.exit() != 0 || !validate.out().contains(SLEEP)) {
            throw new IOException(
                    "example.org's agent did not validate domain.test's JWT-SVID (exit "
                            + validate.exit()
                            + "): "
                            + (validate.out() + validate.err()).strip());
        }
        return "api validate jwt on example.org's agent: "
                + find("(SVID is valid\\.?)", validate.out(), "the verdict")
                + " ("
                + SLEEP
                + ")";
    }

    /**
     * Rotates example.org's CA while sleep calls the gateway every 100 ms: {@code localauthority
     * x509 prepare} (the new root joins the bundle; domain.test learns it through the bundle
     * endpoint, and sleep re-fetches its bundles), {@code activate}, {@code taint} of the old CA
     * (agents replace every SVID it signed; the gateway gets one from the new CA). Every call
     * during all of it must succeed. The old CA is not revoked here (docs/ca.md shows revoke).
     */
    private String rotateDuringTraffic() throws Exception {
        String socket = adminSocket(2).toString();
        String oldId =
                find(
                        "Active X.509 authority:\\s+Authority ID: (\\S+)",
                        cliOk("server", "localauthority", "x509", "show", "-socketPath", socket)
                                .out(),
                        "example.org's active X.509 authority");
        java.util.concurrent.atomic.AtomicReference<Path> caFile =
                new java.util.concurrent.atomic.AtomicReference<>(
                        sleepDir().resolve("federated_bundle.0.0.pem"));
        java.util.concurrent.atomic.AtomicInteger ok =
                new java.util.concurrent.atomic.AtomicInteger();
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicBoolean stop =
                new java.util.concurrent.atomic.AtomicBoolean();
        Thread traffic =
                new Thread(
                        () -> {
                            while (!stop.get()) {
                                try {
                                    List<String> cmd = curl(sleepSvid, sleepKey, "/productpage");
                                    cmd.set(cmd.indexOf("--cacert") + 1, caFile.get().toString());
                                    Checks.Exec r = Checks.exec(cmd, Duration.ofSeconds(30));
                                    if (r.exit() == 0 && r.out().contains("HTTP_CODE=200")) {
                                        ok.incrementAndGet();
                                    } else {
                                        failures.add(
                                                "curl exit "
                                                        + r.exit()
                                                        + ": "
                                                        + (r.err() + Checks.tail(r.out())).strip());
                                    }
                                    Thread.sleep(100);
                                } catch (InterruptedException e) {
                                    return;
                                } catch (Exception e) {
                                    failures.add(e.toString());
                                }
                            }
                        },
                        "rotation-traffic");
        traffic.setDaemon(true);
        traffic.start();
        String newId;
        int fetches = 0;
        try {
            newId =
                    find(
                            "Prepared X.509 authority:\\s+Authority ID: (\\S+)",
                            cliOk(
                                            "server",
                                            "localauthority",
                                            "x509",
                                            "prepare",
                                            "-socketPath",
                                            socket)
                                    .out(),
                            "the prepared X.509 authority");
            // domain.test refreshes example.org's bundle (refresh hint 10 s), its agent syncs, and
            // sleep fetches the federated bundle with both roots before the new CA signs anything.
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (true) {
                Path fetched =
                        StateDir.ownedDir(
                                dir.resolve("sleep-rotation-" + fetches++),
                                StateDir.PRIVATE,
                                DemoCommand.UID);
                Checks.Exec r = fetchSleepInto(fetched);
                Path bundle = fetched.resolve("federated_bundle.0.0.pem");
                if (r.exit() == 0
                        && Files.exists(bundle)
                        && Checks.certificates(Files.readString(bundle)).stream()
                                .anyMatch(c -> newId.equals(subjectKeyId(c)))) {
                    caFile.set(bundle);
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException(
                            "domain.test's sleep never received example.org's prepared root "
                                    + newId
                                    + " through federation");
                }
                Thread.sleep(1000);
            }
            cliOk(
                    "server",
                    "localauthority",
                    "x509",
                    "activate",
                    "-authorityID",
                    newId,
                    "-socketPath",
                    socket);
            cliOk(
                    "server",
                    "localauthority",
                    "x509",
                    "taint",
                    "-authorityID",
                    oldId,
                    "-socketPath",
                    socket);
            // The gateway's agent replaces the SVIDs the tainted CA signed; wait for the gateway
            // to serve one from the new CA.
            deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (!newId.equals(gatewayIssuerKeyId())) {
                if (System.nanoTime() > deadline) {
                    throw new IOException(
                            "the gateway still serves an SVID of the old CA "
                                    + oldId
                                    + " 120 s after it was tainted");
                }
                Thread.sleep(1000);
            }
            Thread.sleep(2000);
        } finally {
            stop.set(true);
            traffic.join(60_000);
        }
        if (!failures.isEmpty()) {
            throw new IOException(
                    failures.size()
                            + " of "
                            + (failures.size() + ok.get())
                            + " calls failed during the rotation; first: "
                            + failures.get(0));
        }
        if (ok.get() == 0) {
            throw new IOException("no call was made during the rotation");
        }
        return "CA "
                + oldId.substring(0, 8)
                + "... -> "
                + newId.substring(0, 8)
                + "...: "
                + ok.get()
                + " calls, none failed; the gateway serves an SVID of the new CA";
    }

    /** The Authority Key Identifier (hex) of the gateway's leaf, as openssl s_client sees it. */
    private String gatewayIssuerKeyId() throws Exception {
        Checks.Exec r =
                Checks.exec(
                        Checks.gatewayShowCerts(demo.gatewayPort(), sleepSvid, sleepKey),
                        Duration.ofSeconds(30));
        List<X509Certificate> chain = Checks.certificates(r.out());
        if (chain.isEmpty()) {
            return null;
        }
        byte[] ext = chain.get(0).getExtensionValue("2.5.29.35");
        if (ext == null) {
            return null;
        }
        byte[] id =
                org.bouncycastle.asn1.x509.AuthorityKeyIdentifier.getInstance(
                                org.bouncycastle.asn1.ASN1OctetString.getInstance(ext).getOctets())
                        .getKeyIdentifier();
        return id == null ? null : java.util.HexFormat.of().formatHex(id);
    }

    /** A CA's Subject Key Identifier in lower-case hex (the authority ID the CLI prints). */
    private static String subjectKeyId(X509Certificate c) {
        byte[] ext = c.getExtensionValue("2.5.29.14");
        if (ext == null) {
            return "";
        }
        return java.util.HexFormat.of()
                .formatHex(
                        org.bouncycastle.asn1.ASN1OctetString.getInstance(
                                        org.bouncycastle.asn1.ASN1OctetString.getInstance(ext)
                                                .getOctets())
                                .getOctets());
    }

    private void summary() {
        PrintWriter out = demo.spec.commandLine().getOut();
        out.println();
        out.printf(
                "Summary: federation works end to end: domain.test's sleep called example.org's product page,"
                        + " no shared root.%n");
        out.printf(
                "  first successful curl at %.1fs after start; %d processes%n",
                firstCurlAt, demo.supervisor().processes().size());
        out.flush();
    }

    /** What to paste with {@code --keep-running}, for this run's mode, addresses and ports. */
    void printTryIt(PrintWriter out) {
        Path s = sleepDir();
        int port = demo.gatewayPort();
        TryIt t = new TryIt(out, demo, net);
        t.heading("Both trust domains are up. Try (Ctrl-C here stops everything):");
        t.comment(
                "sleep (domain.test) calls example.org's product page through the ingress gateway,"
                        + " published on 127.0.0.1:"
                        + port
                        + (net.namespaces() ? " (forwarded to " + net.gatewayListen() + ")" : ""));
        t.command(
                "curl --cert "
                        + sleepSvid
                        + " --key "
                        + sleepKey
                        + " --cacert "
                        + s
                        + "/federated_bundle.0.0.pem \\");
        t.command(
                "     --resolve app.example.org:"
                        + port
                        + ":127.0.0.1 https://app.example.org:"
                        + port
                        + "/productpage");
        t.command(
                "openssl s_client -showcerts -connect 127.0.0.1:"
                        + port
                        + " -servername app.example.org -cert "
                        + sleepSvid
                        + " -key "
                        + sleepKey
                        + " \\");
        t.command("     -CAfile " + s + "/federated_bundle.0.0.pem </dev/null");
        for (int c : new int[] {1, 2}) {
            t.cluster(
                    c,
                    trustDomain(c),
                    net.address(c) + ":" + serverPort.get(c),
                    adminSocket(c),
                    agentSocket(c));
            t.mithril("server federation list -socketPath " + adminSocket(c));
            t.mithril("server bundle list -format spiffe -socketPath " + adminSocket(c));
            t.command(
                    "curl -sk "
                            + bundleEndpoint(c)
                            + "   # "
                            + trustDomain(c)
                            + "'s bundle endpoint (SPIFFE bundle JSON)");
        }
        t.comment("example.org's control plane (istiod) and the proxies' admin endpoints:");
        t.controlPlane(2, Network.LOOPBACK + ":" + controlPlaneAdminPort);
        t.proxyAdmin(
                "the ingress gateway", net.netns(2), Network.LOOPBACK + ":" + gatewayAdminPort);
        t.proxyAdmin("productpage's sidecar", net.netns(2), address(BOOKINFO.get(0)) + ":15000");
        t.flush();
    }
}
