package io.mithril.cli.demo;

import static io.mithril.cli.demo.DemoCommand.cliOk;
import static io.mithril.cli.demo.DemoCommand.find;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code mithril demo nested}: the seed's two clusters, each identity server nested under one root
 * identity server (UpstreamAuthority "spire", as SPIRE's nested topology).
 *
 * <p>The root server has its own self-signed CA. Beside each cluster runs an agent of the root
 * (attested with a join token) whose Workload API gives that cluster's server an X509-SVID; the
 * root's entry for it carries {@code -downstream}. With that SVID each cluster's server has the
 * root sign its intermediate CA and publishes its JWT keys to the root, and it follows the root's
 * bundle. Then the seed runs unchanged on top (curl through cluster 2's gateway, openssl s_client),
 * and a JWT-SVID minted in cluster 1 is validated by cluster 2's agent.
 */
final class NestedScenario implements Scenario.Variant {

    private static final String TD = DemoCommand.TRUST_DOMAIN;
    private static final String LOOPBACK = "127.0.0.1";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    /** How long the cross-cluster JWT check waits for cluster 1's key to reach cluster 2. */
    private static final Duration JWT_PROPAGATION = Duration.ofSeconds(90);

    private final DemoCommand demo;
    private final Steps steps;
    private final Path dir;
    private final Scenario seed;
    private int rootPort;
    private Supervisor.Managed rootServer;
    private final Map<Integer, Supervisor.Managed> rootAgents = new HashMap<>();
    private String jwtResult;

    NestedScenario(DemoCommand demo) {
        this.demo = demo;
        this.steps = demo.steps();
        this.dir = demo.dir();
        this.seed = new Scenario(demo, this);
    }

    void run() throws Exception {
        seed.run();
    }

    // ---- Scenario.Variant ----

    @Override
    public void choosePorts(Ports ports) throws IOException {
        rootPort = ports.pick("root.server", LOOPBACK, 8083);
    }

    @Override
    public String upstreamTitle() {
        return "root identity server: directories and configuration";
    }

    @Override
    public String upstream() throws IOException {
        Path root = StateDir.dir(dir.resolve("root"), StateDir.PUBLIC);
        StateDir.dir(root.resolve("server"), StateDir.PRIVATE);
        StateDir.dir(root.resolve("server/private"), StateDir.PRIVATE);
        StateDir.dir(root.resolve("server/data"), StateDir.PRIVATE);
        for (int c : new int[] {1, 2}) {
            StateDir.dir(root.resolve("agent" + c), StateDir.PUBLIC);
            // Only the cluster's identity server (this user) talks to the root's agent.
            StateDir.dir(rootAgentSocket(c).getParent(), StateDir.PRIVATE);
            StateDir.dir(root.resolve("agent" + c + "/data"), StateDir.PRIVATE);
        }
        Path conf = StateDir.dir(dir.resolve("config/root"), StateDir.PUBLIC);
        Files.writeString(conf.resolve("server.conf"), rootServerConf());
        for (int c : new int[] {1, 2}) {
            Path d = StateDir.dir(conf.resolve("agent" + c), StateDir.PUBLIC);
            Files.writeString(d.resolve("agent.conf"), rootAgentConf(c));
        }
        return "root server on " + LOOPBACK + ":" + rootPort + ", configuration in " + conf;
    }

    /**
     * Each cluster's server takes its CA from the root (UpstreamAuthority "spire" in place of
     * "disk"), and each cluster's agent trusts the root's CA from the start.
     */
    @Override
    public void configure(Path config) throws IOException {
        Pattern disk =
                Pattern.compile(
                        "(?s)UpstreamAuthority \"disk\" \\{\\s*plugin_data \\{.*?\\n\\s*\\}\\s*\\n\\s*\\}");
        for (int c : new int[] {1, 2}) {
            Path server = config.resolve("cluster" + c + "/server.conf");
            String text = Files.readString(server);
            Matcher m = disk.matcher(text);
            if (!m.find()) {
                throw new IOException(server + " should hold an UpstreamAuthority \"disk\" block");
            }
            String spire =
                    "UpstreamAuthority \"spire\" {\n"
                            + "        plugin_data {\n"
                            + "            server_address = \""
                            + LOOPBACK
                            + "\"\n"
                            + "            server_port = \""
                            + rootPort
                            + "\"\n"
                            + "            workload_api_socket = \"${DEMO_DIR}/root/agent"
                            + c
                            + "/public/api.sock\"\n"
                            + "        }\n"
                            + "    }";
            Files.writeString(server, m.replaceFirst(Matcher.quoteReplacement(spire)));
            Path agent = config.resolve("cluster" + c + "/agent.conf");
            String a = Files.readString(agent);
            String from = "trust_bundle_path = \"${DEMO_DIR}/upstream-ca/upstream-ca.pem\"";
            if (!a.contains(from)) {
                throw new IOException(agent + " should hold `" + from + "`");
            }
            Files.writeString(
                    agent, a.replace(from, "trust_bundle_path = \"${DEMO_DIR}/root/bundle.pem\""));
        }
    }

    @Override
    public void beforeServers() throws Exception {
        steps.run("root identity server (self-signed CA)", this::startRootServer);
        steps.run(
                "root: downstream entries for both clusters' servers (-downstream)",
                this::registerDownstream);
        steps.run("root's agents beside cluster 1 and cluster 2 (join tokens)", this::startAgents);
    }

    @Override
    public void afterChecks() throws Exception {
        steps.run("both clusters' CAs are signed by the root", this::checkNesting);
        steps.run(
                "a JWT-SVID minted in cluster 1 validates in cluster 2 (api validate jwt)",
                this::jwtAcrossClusters);
    }

    // ---- steps ----

    private String startRootServer() throws Exception {
        rootServer =
                demo.supervisor()
                        .start(
                                "root-server",
                                demo.mithril(
                                        null,
                                        "server",
                                        "run",
                                        "-config",
                                        dir.resolve("config/root/server.conf").toString(),
                                        "-expandEnv"),
                                demo.env());
        Checks.await(
                "root server healthcheck",
                START_TIMEOUT,
                rootServer,
                () ->
                        Files.exists(rootAdminSocket())
                                && DemoCommand.cli(
                                                        "server",
                                                        "healthcheck",
                                                        "-socketPath",
                                                        rootAdminSocket().toString())
                                                .exit()
                                        == 0);
        // The root's CA is the trust anchor of every agent: written for their trust_bundle_path.
        String pem =
                cliOk("server", "bundle", "show", "-socketPath", rootAdminSocket().toString())
                        .out();
        Files.writeString(dir.resolve("root/bundle.pem"), pem);
        return LOOPBACK
                + ":"
                + rootPort
                + "; its CA "
                + DemoCommand.subjectOf(Checks.certificates(pem).get(0))
                + " -> "
                + dir.resolve("root/bundle.pem");
    }

    private String registerDownstream() {
        StringBuilder ids = new StringBuilder();
        for (int c : new int[] {1, 2}) {
            String out =
                    cliOk(
                                    "server",
                                    "entry",
                                    "create",
                                    "-socketPath",
                                    rootAdminSocket().toString(),
                                    "-parentID",
                                    rootNode(c),
                                    "-spiffeID",
                                    downstreamId(c),
                                    "-selector",
                                    "unix:uid:" + DemoCommand.UID,
                                    "-downstream")
                            .out();
            if (!out.matches("(?s).*Downstream\\s*:\\s*true.*")) {
                throw new IllegalStateException(
                        "entry create -downstream did not show Downstream: true: " + out.strip());
            }
            ids.append(c == 1 ? "" : ", ").append(downstreamId(c));
        }
        return ids + " (Downstream: true)";
    }

    private String startAgents() throws Exception {
        for (int c : new int[] {1, 2}) {
            String out =
                    cliOk(
                                    "server",
                                    "token",
                                    "generate",
                                    "-socketPath",
                                    rootAdminSocket().toString(),
                                    "-spiffeID",
                                    rootNode(c),
                                    "-ttl",
                                    "600")
                            .out();
            String token = find("Token:\\s*(\\S+)", out, "the join token");
            Path conf =
                    DemoCommand.agentConfWithToken(
                            dir.resolve("config/root/agent" + c + "/agent.conf"), token);
            rootAgents.put(
                    c,
                    demo.supervisor()
                            .start(
                                    "root-agent" + c,
                                    demo.mithril(
                                            null,
                                            "agent",
                                            "run",
                                            "-config",
                                            conf.toString(),
                                            "-expandEnv"),
                                    demo.env()));
        }
        for (int c : new int[] {1, 2}) {
            Checks.await(
                    "root agent " + c + " healthcheck",
                    START_TIMEOUT,
                    rootAgents.get(c),
                    () ->
                            Files.exists(rootAgentSocket(c))
                                    && DemoCommand.cli(
                                                            "agent",
                                                            "healthcheck",
                                                            "-socketPath",
                                                            rootAgentSocket(c).toString())
                                                    .exit()
                                            == 0);
        }
        return "sockets " + rootAgentSocket(1) + ", " + rootAgentSocket(2);
    }

    /**
     * The clusters' bundles hold the root's CA, and the chain of each cluster's SVIDs leads to it
     * through that cluster's own intermediate (checked on sleep's SVID; the gateway's chain was
     * checked by the s_client step against the same root).
     */
    private String checkNesting() throws Exception {
        String rootPem = Files.readString(dir.resolve("root/bundle.pem"));
        var root = Checks.certificates(rootPem).get(0);
        var sleepChain =
                Checks.certificates(Files.readString(dir.resolve("cluster1/sleep/svid.0.pem")));
        if (sleepChain.size() < 2 || !Checks.signedBy(sleepChain.get(1), root)) {
            throw new IOException(
                    "sleep's intermediate (cluster 1's CA) is not signed by the root");
        }
        for (int c : new int[] {1, 2}) {
            String bundle =
                    cliOk("server", "bundle", "show", "-socketPath", seed.adminSocket(c).toString())
                            .out();
            if (!Checks.certificates(bundle).contains(root)) {
                throw new IOException("cluster " + c + "'s bundle does not hold the root's CA");
            }
        }
        return "cluster 1's intermediate "
                + DemoCommand.subjectOf(sleepChain.get(1))
                + " <- root "
                + DemoCommand.subjectOf(root)
                + "; both clusters' bundles hold the root's CA";
    }

    /**
     * Cluster 1's JWT key reached cluster 2 through the root: cluster 1 published it upstream
     * (PublishJWTAuthority), cluster 2 polled the root's bundle, its agent synced it. Retried while
     * the key travels.
     */
    private String jwtAcrossClusters() throws Exception {
        String sleep = seed.workload("sleep").serviceAccountId();
        Checks.Exec fetch =
                Checks.exec(
                        demo.mithril(
                                seed.workload("sleep").uid(),
                                "agent",
                                "api",
                                "fetch",
                                "jwt",
                                "-socketPath",
                                seed.agentSocket(1).toString(),
                                "-audience",
                                "nested-demo",
                                "-spiffeID",
                                sleep),
                        Duration.ofSeconds(60));
        if (fetch.exit() != 0) {
            throw new IOException("api fetch jwt failed: " + (fetch.out() + fetch.err()).strip());
        }
        String token =
                find(
                        "(eyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+)",
                        fetch.out(),
                        "the JWT-SVID");
        long deadline = System.nanoTime() + JWT_PROPAGATION.toNanos();
        Checks.Exec validate;
        int attempts = 0;
        do {
            attempts++;
            validate = validateInCluster2(token, "nested-demo");
            if (validate.exit() == 0 && validate.out().contains(sleep)) {
                break;
            }
            Thread.sleep(1000);
        } while (System.nanoTime() < deadline);
        if (validate.exit() != 0 || !validate.out().contains(sleep)) {
            throw new IOException(
                    "cluster 2's agent did not validate cluster 1's JWT-SVID within "
                            + JWT_PROPAGATION.toSeconds()
                            + "s (exit "
                            + validate.exit()
                            + "): "
                            + (validate.out() + validate.err()).strip());
        }
        // The same token with another audience must not validate: the check can fail.
        Checks.Exec wrongAudience = validateInCluster2(token, "someone-else");
        if (wrongAudience.exit() == 0) {
            throw new IOException("a JWT-SVID for another audience was accepted");
        }
        jwtResult =
                "cluster 2's agent: "
                        + find("(SVID is valid\\.?)", validate.out(), "the verdict")
                        + " ("
                        + sleep
                        + ", attempt "
                        + attempts
                        + "); another audience: refused";
        return jwtResult;
    }

    /** {@code agent api validate jwt} on cluster 2's agent, as cluster 2's gateway workload. */
    private Checks.Exec validateInCluster2(String token, String audience) throws Exception {
        return Checks.exec(
                demo.mithril(
                        seed.workload("ingressgateway").uid(),
                        "agent",
                        "api",
                        "validate",
                        "jwt",
                        "-socketPath",
                        seed.agentSocket(2).toString(),
                        "-audience",
                        audience,
                        "-svid",
                        token),
                Duration.ofSeconds(60));
    }

    /** What to try by hand with --keep-running, beside the seed's curl and openssl. */
    void printTryIt(PrintWriter out) {
        seed.printTryIt(out);
        out.println();
        out.println(
                "The root and both nested clusters are up. Try (Ctrl-C here stops everything):");
        out.printf(
                "  ./mithril server entry show -socketPath %s -spiffeID %s%n",
                rootAdminSocket(), downstreamId(1));
        out.printf(
                "  ./mithril server bundle show -socketPath %s -format spiffe%n",
                rootAdminSocket());
        out.printf(
                "  ./mithril server localauthority x509 show -socketPath %s%n",
                seed.adminSocket(1));
        out.printf(
                "  TOKEN=$(./mithril agent api fetch jwt -socketPath %s -audience demo | grep -o 'eyJ[^ ]*' | head -1)%n",
                seed.agentSocket(1));
        out.printf(
                "  ./mithril agent api validate jwt -socketPath %s -audience demo -svid \"$TOKEN\"%n",
                seed.agentSocket(2));
        out.flush();
    }

    // ---- names ----

    private Path rootAdminSocket() {
        return dir.resolve("root/server/private/api.sock");
    }

    private Path rootAgentSocket(int c) {
        return dir.resolve("root/agent" + c + "/public/api.sock");
    }

    private static String rootNode(int c) {
        return "spiffe://" + TD + "/root/cluster" + c + "/node";
    }

    static String downstreamId(int c) {
        return "spiffe://" + TD + "/cluster" + c + "/mithril-server";
    }

    private String rootServerConf() {
        return """
                # The root identity server of `mithril demo nested`: its own self-signed CA signs the
                # intermediates of both clusters' servers (UpstreamAuthority "spire" there).
                server {
                    bind_address = "127.0.0.1"
                    bind_port = "%d"
                    socket_path = "${DEMO_DIR}/root/server/private/api.sock"
                    trust_domain = "%s"
                    data_dir = "${DEMO_DIR}/root/server/data"
                    log_level = "INFO"
                    ca_ttl = "24h"
                    ca_subject = {
                        country = ["US"],
                        organization = ["SPIFFE"],
                        common_name = "Root CA",
                    }
                }

                plugins {
                    DataStore "sql" {
                        plugin_data {
                            database_type = "sqlite3"
                            connection_string = "${DEMO_DIR}/root/server/data/datastore.sqlite3"
                        }
                    }
                    NodeAttestor "join_token" {
                        plugin_data {}
                    }
                    KeyManager "disk" {
                        plugin_data {
                            keys_path = "${DEMO_DIR}/root/server/data/keys.json"
                        }
                    }
                }
                """
                .formatted(rootPort, TD);
    }

    private String rootAgentConf(int c) {
        return """
                # An agent of the root server, beside cluster %d: its Workload API gives cluster %d's
                # identity server the SVID it calls the root with (entry created with -downstream).
                agent {
                    data_dir = "${DEMO_DIR}/root/agent%d/data"
                    log_level = "INFO"
                    server_address = "127.0.0.1"
                    server_port = "%d"
                    socket_path = "${DEMO_DIR}/root/agent%d/public/api.sock"
                    trust_bundle_path = "${DEMO_DIR}/root/bundle.pem"
                    trust_domain = "%s"
                }

                plugins {
                    NodeAttestor "join_token" {
                        plugin_data {}
                    }
                    KeyManager "disk" {
                        plugin_data {
                            directory = "${DEMO_DIR}/root/agent%d/data"
                        }
                    }
                    WorkloadAttestor "unix" {
                        plugin_data {}
                    }
                }
                """
                .formatted(c, c, c, rootPort, c, TD, c);
    }
}
