package io.mithril.cli.demo;

import static io.mithril.cli.demo.DemoCommand.cliOk;
import static io.mithril.cli.demo.DemoCommand.find;

import io.mithril.cli.Cli;
import io.mithril.pki.KeyType;
import io.mithril.pki.Pem;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.security.auth.x500.X500Principal;

/**
 * {@code mithril demo external}: a workload outside the mesh reached through the egress gateway, as
 * HPE's Mithril's external-workload scenario and Istio's "egress gateway with mutual TLS
 * origination" task configure it. One identity server (trust domain example.org) has two agents:
 * the mesh's (join token), which serves the control plane, the egress gateway and {@code sleep}
 * with its sidecar, and the external workload's own, attested with {@code x509pop} (a node
 * certificate made here with the project's PKI code). The external workload serves mTLS on its own
 * SVID and admits only the egress gateway's SPIFFE ID. sleep calls {@code
 * http://external.example.org/} through its sidecar: the mesh VirtualService sends the call to the
 * egress gateway (ISTIO_MUTUAL with {@code sni}), which originates ISTIO_MUTUAL with {@code sni} to
 * the external workload. Each check is done for real (curl, the CLI).
 *
 * <p>All processes run as the demo's user, in the host's network namespace, on ports chosen free
 * through {@link Ports}; each proxy picks its identity by SPIFFE ID (see docs/external.md).
 */
final class ExternalScenario {

    static final String TD = DemoCommand.TRUST_DOMAIN;
    static final String HOST = "external.example.org";
    static final String EXTERNAL = "spiffe://" + TD + "/external/api";
    static final String EXTERNAL_NODE = "spiffe://" + TD + "/external/node";
    static final String NODE_CN = "external-node";
    static final String SLEEP = "spiffe://" + TD + "/ns/default/sa/sleep";
    static final String EGRESS =
            "spiffe://" + TD + "/ns/istio-system/sa/istio-egressgateway-service-account";
    static final String ISTIOD = "spiffe://" + TD + "/ns/istio-system/sa/istiod";
    private static final String MESH_NODE = "spiffe://" + TD + "/mesh/node";
    private static final String LOOPBACK = "127.0.0.1";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(180);

    private final DemoCommand demo;
    private final Steps steps;
    private final Path dir;
    private final Path config;
    private final Ports ports = new Ports();
    private int serverPort;
    private int controlPlanePort;
    private int controlPlaneAdminPort;
    private int egressPort;
    private int egressAdminPort;
    private int sleepOutboundPort;
    private int sleepAdminPort;
    private int externalPort;
    private Supervisor.Managed server;
    private Supervisor.Managed meshAgent;
    private Supervisor.Managed externalAgent;
    private Supervisor.Managed external;
    private final List<Supervisor.Managed> meshProcesses = new ArrayList<>();
    private double firstCallAt = -1;

    ExternalScenario(DemoCommand demo) {
        this.demo = demo;
        this.steps = demo.steps();
        this.dir = demo.dir();
        this.config = dir.resolve("config");
    }

    void run() throws Exception {
        steps.run("preflight: curl and openssl; ports free, else picked", this::preflight);
        steps.run(
                "x509pop: an agent CA and the external node's certificate (mithril-pki)",
                this::x509pop);
        steps.run(
                "configuration files (server, two agents, control plane, egress mesh YAML)",
                this::writeConfigs);
        steps.run("identity server of example.org (join_token and x509pop)", this::startServer);
        steps.run("registration entries (mesh and the external node alias)", this::registerEntries);
        steps.run(
                "agents (mesh: join token; external: x509pop), control plane, egress gateway,"
                        + " sleep's sidecar, external workload",
                this::startEverythingElse);
        steps.run("sleep fetches its SVID (api fetch x509 -write)", this::fetchSleep);
        steps.run(
                "sleep -> sidecar -> egress gateway -> external workload: curl over the egress path",
                this::callThroughEgress);
        steps.run(
                "bypassing the egress gateway without an SVID: refused by the external workload",
                this::bypassWithoutSvid);
        steps.run(
                "a valid SVID that is not the egress gateway's: refused by the external workload",
                this::wrongIdentity);
        summary();
    }

    // ---- steps ----

    private String preflight() throws IOException {
        for (String tool : List.of("curl", "openssl")) {
            if (!Checks.onPath(tool)) {
                throw new Cli.UserException(
                        "missing " + tool + ": install it (apt-get install curl openssl)");
            }
        }
        serverPort = ports.pick("server", LOOPBACK, 8081);
        controlPlanePort = ports.pick("controlplane", LOOPBACK, 15012);
        controlPlaneAdminPort = ports.pick("controlplane.admin", LOOPBACK, 15014);
        egressPort = ports.pick("egressgateway", LOOPBACK, 15443);
        egressAdminPort = ports.pick("egressgateway.admin", LOOPBACK, 15000);
        sleepOutboundPort = ports.pick("sleep.outbound", LOOPBACK, 15001);
        sleepAdminPort = ports.pick("sleep.admin", LOOPBACK, 15002);
        externalPort = ports.pick("external", LOOPBACK, 9443);
        ports.write(dir);
        return "network mode: loopback (external runs every process on 127.0.0.1, each port the"
                + " documented one if free, else a free one); "
                + ports.describe()
                + "; all processes run as uid "
                + DemoCommand.UID
                + ", proxies pick their identity by SPIFFE ID";
    }

    private Path x509popDir() {
        return dir.resolve("external/x509pop");
    }

    private Path adminSocket() {
        return dir.resolve("server/private/api.sock");
    }

    private Path meshSocket() {
        return dir.resolve("mesh/agent/public/api.sock");
    }

    private Path externalSocket() {
        return dir.resolve("external/agent/public/api.sock");
    }

    private Path sleepDir() {
        return dir.resolve("mesh/sleep");
    }

    /**
     * The x509pop material, made with the project's PKI code: an agent CA (its key is used here and
     * never written) and the external node's certificate and key (0600), as an operator's PKI would
     * hand them to the machine.
     */
    private String x509pop() throws IOException {
        Path d = StateDir.dir(dir.resolve("external"), StateDir.PUBLIC);
        StateDir.dir(x509popDir(), StateDir.PRIVATE);
        X509Minter minter = new X509Minter(Clock.systemUTC());
        KeyPair caKey = KeyType.EC_P256.generate();
        X509Certificate ca =
                minter.selfSignedCa(
                        caKey,
                        TrustDomain.parse("nodes.external.test"),
                        Duration.ofDays(1),
                        new X500Principal("CN=External agent CA"));
        KeyPair nodeKey = KeyType.EC_P256.generate();
        X509Certificate node =
                minter.signX509Svid(
                        SigningAuthority.of(ca, caKey.getPrivate()),
                        nodeKey.getPublic(),
                        SpiffeId.parse("spiffe://nodes.external.test/" + NODE_CN),
                        List.of(NODE_CN),
                        Duration.ofHours(12));
        Pem.writeCertificates(x509popDir().resolve("agent-ca.pem"), List.of(ca));
        Pem.writeCertificates(x509popDir().resolve("node.pem"), List.of(node));
        Pem.writePrivateKey(x509popDir().resolve("node.key"), nodeKey.getPrivate());
        return d.relativize(x509popDir().resolve("node.pem"))
                + " (CN="
                + NODE_CN
                + ") under agent-ca.pem; node.key 0600";
    }

    private String writeConfigs() throws IOException {
        StateDir.dir(config, StateDir.PUBLIC);
        for (String d : List.of("server", "server/private", "server/data")) {
            StateDir.dir(dir.resolve(d), StateDir.PRIVATE);
        }
        for (String side : List.of("mesh", "external")) {
            StateDir.dir(dir.resolve(side), StateDir.PUBLIC);
            StateDir.dir(dir.resolve(side + "/agent"), StateDir.PUBLIC);
            StateDir.dir(dir.resolve(side + "/agent/public"), StateDir.PUBLIC);
            StateDir.dir(dir.resolve(side + "/agent/data"), StateDir.PRIVATE);
        }
        Files.writeString(
                config.resolve("server.conf"),
                """
                # example.org: its own self-signed CA; the mesh's agent attests with a join token,
                # the external workload's agent with x509pop (its node certificate under agent-ca.pem).
                server {
                    bind_address = "127.0.0.1"
                    bind_port = "%d"
                    socket_path = "${DEMO_DIR}/server/private/api.sock"
                    trust_domain = "example.org"
                    data_dir = "${DEMO_DIR}/server/data"
                    log_level = "INFO"
                    ca_ttl = "24h"
                    default_x509_svid_ttl = "1h"
                }

                plugins {
                    DataStore "sql" {
                        plugin_data {
                            database_type = "sqlite3"
                            connection_string = "${DEMO_DIR}/server/data/datastore.sqlite3"
                        }
                    }
                    NodeAttestor "join_token" {
                        plugin_data {}
                    }
                    NodeAttestor "x509pop" {
                        plugin_data {
                            ca_bundle_path = "${DEMO_DIR}/external/x509pop/agent-ca.pem"
                        }
                    }
                    KeyManager "disk" {
                        plugin_data {
                            keys_path = "${DEMO_DIR}/server/data/keys.json"
                        }
                    }
                }
                """
                        .formatted(serverPort));
        String agent =
                """
                # The %1$s agent of example.org.
                agent {
                    data_dir = "${DEMO_DIR}/%1$s/agent/data"
                    log_level = "INFO"
                    server_address = "127.0.0.1"
                    server_port = "%2$d"
                    socket_path = "${DEMO_DIR}/%1$s/agent/public/api.sock"
                    trust_bundle_path = "${DEMO_DIR}/bootstrap-bundle.pem"
                    trust_domain = "example.org"
                }

                plugins {
                    NodeAttestor "%3$s" {
                        plugin_data {%4$s}
                    }
                    KeyManager "disk" {
                        plugin_data {
                            directory = "${DEMO_DIR}/%1$s/agent/data"
                        }
                    }
                    WorkloadAttestor "unix" {
                        plugin_data {}
                    }
                }
                """;
        Files.writeString(
                config.resolve("mesh-agent.conf"),
                agent.formatted("mesh", serverPort, "join_token", ""));
        Files.writeString(
                config.resolve("external-agent.conf"),
                agent.formatted(
                        "external",
                        serverPort,
                        "x509pop",
                        """

                            private_key_path = "${DEMO_DIR}/external/x509pop/node.key"
                            certificate_path = "${DEMO_DIR}/external/x509pop/node.pem"
                        """));
        Files.writeString(
                config.resolve("controlplane.conf"),
                """
                # The mesh's control plane (istiod) for example.org.
                control_plane {
                    bind_address = "127.0.0.1"
                    bind_port = "%d"
                    admin_address = "127.0.0.1"
                    admin_port = "%d"
                    socket_path = "${DEMO_DIR}/mesh/agent/public/api.sock"
                    config_dir = "mesh"
                    trust_domain = "example.org"
                    spiffe_id = "spiffe://example.org/ns/istio-system/sa/istiod"
                }
                """
                        .formatted(controlPlanePort, controlPlaneAdminPort));
        Path mesh = StateDir.dir(config.resolve("mesh"), StateDir.PUBLIC);
        Files.writeString(mesh.resolve("external.yaml"), meshYaml(egressPort, externalPort));
        return config.toString();
    }

    /**
     * The mesh configuration, as Istio's egress task and HPE's Mithril write it; only the two
     * endpoints' ports are this run's.
     */
    static String meshYaml(int egressPort, int externalPort) {
        return """
                # The external workload: outside the mesh, its own agent (x509pop), mTLS with its own SVID.
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata:
                  name: external-api
                  namespace: default
                spec:
                  hosts:
                  - external.example.org
                  location: MESH_EXTERNAL
                  resolution: STATIC
                  ports:
                  - number: 80
                    name: http
                    protocol: HTTP
                  - number: 9443
                    name: https
                    protocol: HTTPS
                  endpoints:
                  - address: 127.0.0.1
                    ports:
                      https: %2$d
                  # The identity the egress gateway requires of it (ISTIO_MUTUAL).
                  subjectAltNames:
                  - spiffe://example.org/external/api
                ---
                # The egress gateway as a service of the mesh (Kubernetes would have a Service).
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata:
                  name: istio-egressgateway
                  namespace: istio-system
                spec:
                  hosts:
                  - istio-egressgateway.istio-system.svc.cluster.local
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports:
                  - number: 443
                    name: https
                    protocol: HTTPS
                  workloadSelector:
                    labels:
                      istio: egressgateway
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata:
                  name: istio-egressgateway
                  namespace: istio-system
                spec:
                  address: 127.0.0.1
                  ports:
                    https: %1$d
                  labels:
                    istio: egressgateway
                  serviceAccount: istio-egressgateway-service-account
                ---
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata:
                  name: istio-egressgateway
                  namespace: default
                spec:
                  selector:
                    istio: egressgateway
                  servers:
                  - port:
                      number: 443
                      name: https
                      protocol: HTTPS
                    hosts:
                    - external.example.org
                    tls:
                      mode: ISTIO_MUTUAL
                ---
                # Sidecars -> egress gateway: mTLS with the SVIDs, SNI the external host.
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata:
                  name: egressgateway-for-external
                  namespace: default
                spec:
                  host: istio-egressgateway.istio-system.svc.cluster.local
                  subsets:
                  - name: external
                    trafficPolicy:
                      loadBalancer:
                        simple: ROUND_ROBIN
                      portLevelSettings:
                      - port:
                          number: 443
                        tls:
                          mode: ISTIO_MUTUAL
                          sni: external.example.org
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata:
                  name: direct-external-through-egress-gateway
                  namespace: default
                spec:
                  hosts:
                  - external.example.org
                  gateways:
                  - istio-egressgateway
                  - mesh
                  http:
                  - match:
                    - gateways:
                      - mesh
                      port: 80
                    route:
                    - destination:
                        host: istio-egressgateway.istio-system.svc.cluster.local
                        subset: external
                        port:
                          number: 443
                      weight: 100
                  - match:
                    - gateways:
                      - istio-egressgateway
                      port: 443
                    route:
                    - destination:
                        host: external.example.org
                        port:
                          number: 9443
                      weight: 100
                ---
                # Egress gateway -> external workload: mTLS with the egress gateway's SVID, SNI the host.
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata:
                  name: originate-mtls-for-external
                  namespace: default
                spec:
                  host: external.example.org
                  trafficPolicy:
                    portLevelSettings:
                    - port:
                        number: 9443
                      tls:
                        mode: ISTIO_MUTUAL
                        sni: external.example.org
                ---
                # Only sleep may leave the mesh through the egress gateway.
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: egress-from-sleep
                  namespace: istio-system
                spec:
                  selector:
                    matchLabels:
                      istio: egressgateway
                  action: ALLOW
                  rules:
                  - from:
                    - source:
                        principals: ["example.org/ns/default/sa/sleep"]
                """
                .formatted(egressPort, externalPort);
    }

    private String startServer() throws Exception {
        server =
                demo.supervisor()
                        .start(
                                "server",
                                demo.mithril(
                                        null,
                                        "server",
                                        "run",
                                        "-config",
                                        config.resolve("server.conf").toString(),
                                        "-expandEnv"),
                                demo.env());
        Checks.await(
                "server healthcheck",
                START_TIMEOUT,
                server,
                () ->
                        Files.exists(adminSocket())
                                && DemoCommand.cli(
                                                        "server",
                                                        "healthcheck",
                                                        "-socketPath",
                                                        adminSocket().toString())
                                                .exit()
                                        == 0);
        Files.writeString(
                dir.resolve("bootstrap-bundle.pem"),
                cliOk("server", "bundle", "show", "-socketPath", adminSocket().toString()).out());
        return LOOPBACK + ":" + serverPort + ", admin socket " + adminSocket();
    }

    private void entry(String... args) {
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                "server",
                                "entry",
                                "create",
                                "-socketPath",
                                adminSocket().toString()));
        cmd.addAll(List.of(args));
        cliOk(cmd.toArray(String[]::new));
    }

    private String registerEntries() {
        String uid = "unix:uid:" + DemoCommand.UID;
        for (String id : List.of(ISTIOD, EGRESS, SLEEP)) {
            entry("-parentID", MESH_NODE, "-spiffeID", id, "-selector", uid);
        }
        // The external machine: a node alias for the agent whose x509pop certificate says
        // CN=external-node, and the external workload under it (only that agent can get it).
        entry("-node", "-spiffeID", EXTERNAL_NODE, "-selector", "x509pop:subject:cn:" + NODE_CN);
        entry("-parentID", EXTERNAL_NODE, "-spiffeID", EXTERNAL, "-selector", uid, "-dns", HOST);
        return "istiod, egress gateway, sleep under "
                + MESH_NODE
                + "; node alias "
                + EXTERNAL_NODE
                + " (x509pop:subject:cn:"
                + NODE_CN
                + ") with "
                + EXTERNAL;
    }

    private Supervisor.Managed process(String name, String... args) throws IOException {
        return demo.supervisor().start(name, demo.mithril(null, args), demo.env());
    }

    /** A proxy of the mesh: its config over xDS from istiod, its identity from the mesh agent. */
    private Supervisor.Managed proxy(
            String name, String kind, String id, String namespace, String label, String... more)
            throws IOException {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "proxy",
                                kind,
                                "-socketPath",
                                meshSocket().toString(),
                                "-controlPlane",
                                LOOPBACK + ":" + controlPlanePort,
                                "-controlPlaneID",
                                ISTIOD,
                                "-spiffeID",
                                id,
                                "-namespace",
                                namespace,
                                "-label",
                                label));
        args.addAll(List.of(more));
        return process(name, args.toArray(String[]::new));
    }

    private void awaitAgent(String what, Supervisor.Managed agent, Path socket) throws Exception {
        Checks.await(
                what + " agent healthcheck",
                START_TIMEOUT,
                agent,
                () ->
                        Files.exists(socket)
                                && DemoCommand.cli(
                                                        "agent",
                                                        "healthcheck",
                                                        "-socketPath",
                                                        socket.toString())
                                                .exit()
                                        == 0);
    }

    private String startEverythingElse() throws Exception {
        String out =
                cliOk(
                                "server",
                                "token",
                                "generate",
                                "-socketPath",
                                adminSocket().toString(),
                                "-spiffeID",
                                MESH_NODE,
                                "-ttl",
                                "600")
                        .out();
        Path meshConf =
                DemoCommand.agentConfWithToken(
                        config.resolve("mesh-agent.conf"),
                        find("Token:\\s*(\\S+)", out, "the join token"));
        meshAgent =
                process("mesh-agent", "agent", "run", "-config", meshConf.toString(), "-expandEnv");
        externalAgent =
                process(
                        "external-agent",
                        "agent",
                        "run",
                        "-config",
                        config.resolve("external-agent.conf").toString(),
                        "-expandEnv");
        // The rest waits for its agent's socket by itself; their JVMs start meanwhile.
        meshProcesses.add(
                process(
                        "istiod",
                        "controlplane",
                        "run",
                        "-config",
                        config.resolve("controlplane.conf").toString(),
                        "-expandEnv",
                        "-svidTimeout",
                        START_TIMEOUT.toSeconds() + "s"));
        meshProcesses.add(
                proxy(
                        "egressgateway",
                        "gateway",
                        EGRESS,
                        "istio-system",
                        "istio=egressgateway",
                        "-publish",
                        LOOPBACK + ":" + egressPort + "=443",
                        "-admin",
                        LOOPBACK + ":" + egressAdminPort));
        meshProcesses.add(
                proxy(
                        "sleep-sidecar",
                        "sidecar",
                        SLEEP,
                        "default",
                        "app=sleep",
                        "-outbound",
                        LOOPBACK + ":" + sleepOutboundPort,
                        "-admin",
                        LOOPBACK + ":" + sleepAdminPort));
        meshProcesses.add(process("sleep", "sample", "sleep"));
        awaitAgent("mesh", meshAgent, meshSocket());
        awaitAgent("external (x509pop)", externalAgent, externalSocket());
        external =
                process(
                        "external-workload",
                        "sample",
                        "mtls-server",
                        "-socketPath",
                        externalSocket().toString(),
                        "-address",
                        LOOPBACK,
                        "-port",
                        String.valueOf(externalPort),
                        "-authorize",
                        EGRESS,
                        "-timeout",
                        START_TIMEOUT.toSeconds() + "s");
        meshProcesses.add(external);
        Checks.await(
                "the external workload on " + LOOPBACK + ":" + externalPort,
                START_TIMEOUT,
                external,
                () -> Checks.listening(LOOPBACK, externalPort));
        Checks.await(
                "the egress gateway on " + LOOPBACK + ":" + egressPort,
                START_TIMEOUT,
                meshProcesses.get(1),
                () -> Checks.listening(LOOPBACK, egressPort));
        Checks.await(
                "sleep's sidecar on " + LOOPBACK + ":" + sleepOutboundPort,
                START_TIMEOUT,
                meshProcesses.get(2),
                () -> Checks.listening(LOOPBACK, sleepOutboundPort));
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
        return "egress gateway on "
                + LOOPBACK
                + ":"
                + egressPort
                + " (its 443), sleep's outbound proxy on "
                + LOOPBACK
                + ":"
                + sleepOutboundPort
                + ", external workload on "
                + LOOPBACK
                + ":"
                + externalPort;
    }

    private Path sleepSvid;
    private Path sleepKey;

    private String fetchSleep() throws Exception {
        StateDir.ownedDir(sleepDir(), StateDir.PRIVATE, DemoCommand.UID);
        Checks.Exec r =
                Checks.exec(demo.fetchX509(null, meshSocket(), sleepDir()), Duration.ofSeconds(60));
        if (r.exit() != 0) {
            throw new IOException(
                    "api fetch x509 failed (exit "
                            + r.exit()
                            + "): "
                            + (r.out() + r.err()).strip());
        }
        // Every mesh entry selects this uid: tell sleep's SVID apart by its URI SAN.
        for (int i = 0; Files.exists(sleepDir().resolve("svid." + i + ".pem")); i++) {
            Path svid = sleepDir().resolve("svid." + i + ".pem");
            if (Checks.uris(Checks.certificates(Files.readString(svid)).get(0))
                    .equals(List.of(SLEEP))) {
                sleepSvid = svid;
                sleepKey = sleepDir().resolve("svid." + i + ".key");
            }
        }
        if (sleepSvid == null) {
            throw new IOException("no SVID for " + SLEEP + " in " + sleepDir());
        }
        return SLEEP + " -> " + sleepSvid;
    }

    /** sleep's curl through its sidecar's outbound proxy, as an application there calls out. */
    private List<String> curlThroughSidecar() {
        return curl(
                "-x", "http://" + LOOPBACK + ":" + sleepOutboundPort, "http://" + HOST + "/hello");
    }

    private static List<String> curl(String... args) {
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                "curl",
                                "-sS",
                                "-w",
                                "\nHTTP_CODE=%{http_code}\n",
                                "--max-time",
                                "20"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /**
     * curl straight to the external workload (bypassing the mesh), with this client certificate.
     */
    private List<String> curlDirect(Path cert, Path key) {
        List<String> cmd =
                curl(
                        "--cacert",
                        sleepDir().resolve("bundle.0.pem").toString(),
                        "--resolve",
                        HOST + ":" + externalPort + ":" + LOOPBACK);
        if (cert != null) {
            cmd.addAll(List.of("--cert", cert.toString(), "--key", key.toString()));
        }
        cmd.add("https://" + HOST + ":" + externalPort + "/hello");
        return cmd;
    }

    private String callThroughEgress() throws Exception {
        Checks.Exec r = null;
        // The proxies may still be taking their configuration and SVIDs: retry briefly.
        for (int attempt = 0; attempt < 100; attempt++) {
            r = Checks.exec(curlThroughSidecar(), Duration.ofSeconds(30));
            if (r.exit() == 0 && r.out().contains("HTTP_CODE=200")) {
                break;
            }
            Thread.sleep(300);
        }
        if (r.exit() != 0 || !r.out().contains("HTTP_CODE=200")) {
            throw new IOException("curl exit " + r.exit() + ": " + (r.err() + r.out()).strip());
        }
        firstCallAt = steps.elapsed();
        // The external workload names the peer its handshake verified: the egress gateway, and
        // sleep's identity arrives in the XFCC the egress gateway set.
        for (String expected :
                List.of(
                        "external workload " + EXTERNAL,
                        "peer: " + EGRESS,
                        "host " + HOST,
                        "URI=" + SLEEP)) {
            if (!r.out().contains(expected)) {
                throw new IOException(
                        "HTTP 200 but the answer lacks \"" + expected + "\": " + r.out().strip());
            }
        }
        return "HTTP 200 from "
                + EXTERNAL
                + ": its handshake verified the egress gateway ("
                + EGRESS
                + "), whose x-forwarded-client-cert names "
                + SLEEP;
    }

    private String bypassWithoutSvid() throws Exception {
        Checks.Exec r = Checks.exec(curlDirect(null, null), Duration.ofSeconds(30));
        Checks.requireHandshakeRefused("a direct call without a client certificate", r);
        return "curl exit " + r.exit() + " (" + r.err().strip() + ")";
    }

    private String wrongIdentity() throws Exception {
        Checks.Exec r = Checks.exec(curlDirect(sleepSvid, sleepKey), Duration.ofSeconds(30));
        Checks.requireHandshakeRefused("a direct call with sleep's valid SVID (" + SLEEP + ")", r);
        Path log = external.log();
        String refusal =
                Supervisor.tail(log, 40)
                        .lines()
                        .filter(l -> l.contains("refused a client") && l.contains(SLEEP))
                        .findFirst()
                        .orElseThrow(
                                () ->
                                        new IOException(
                                                "the external workload's log ("
                                                        + log
                                                        + ") does not say it refused "
                                                        + SLEEP));
        return "curl exit "
                + r.exit()
                + "; the external workload logged: "
                + refusal.substring(refusal.indexOf("refused a client")).strip();
    }

    private void summary() {
        PrintWriter out = demo.spec.commandLine().getOut();
        out.println();
        out.printf(
                "Summary: sleep reached the external workload through the egress gateway; the bypass and"
                        + " the wrong identity were refused.%n");
        out.printf(
                "  first successful call at %.1fs after start; %d processes%n",
                firstCallAt, demo.supervisor().processes().size());
        out.flush();
    }

    /** What to paste with {@code --keep-running}. */
    void printTryIt(PrintWriter out) {
        out.println();
        out.println(
                "The mesh and the external workload are up. Try (Ctrl-C here stops everything):");
        out.printf(
                "  curl -x http://%s:%d http://%s/hello   # sleep's call through the egress gateway%n",
                LOOPBACK, sleepOutboundPort, HOST);
        out.printf(
                "  curl --cacert %s/bundle.0.pem --resolve %s:%d:%s https://%s:%d/hello   # refused%n",
                sleepDir(), HOST, externalPort, LOOPBACK, HOST, externalPort);
        out.printf(
                "  %s/mithril agent api fetch x509 -socketPath %s   # the external workload's SVID%n",
                demo.home(), externalSocket());
        out.printf(
                "  %s/mithril server agent list -socketPath %s   # the x509pop and join_token agents%n",
                demo.home(), adminSocket());
        out.printf(
                "  %s/mithril controlplane config-dump -adminAddress %s:%d%n",
                demo.home(), LOOPBACK, controlPlaneAdminPort);
        out.flush();
    }
}
