package io.mithril.cli.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.api.selector.Selector;
import io.mithril.cli.Main;
import io.mithril.server.IdentityServer;
import io.mithril.server.ca.CaManager;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.testing.HeldCertificate;
import io.mithril.spiffe.testing.HostileJwtSvids;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code mithril agent ...} against a real server and agent. */
class AgentCommandTest {

    private static final String ID = "spiffe://example.org/cli-workload";

    private Path dir;
    private IdentityServer server;
    private Agent agent;
    private Path socket;

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("mithril-cli-agent-");
        server =
                IdentityServer.start(
                        ServerConfig.builder(
                                        TrustDomain.parse("example.org"), dir.resolve("server"))
                                .bindAddress("127.0.0.1")
                                .bindPort(0)
                                .socketPath(dir.resolve("server/admin.sock"))
                                .build());
        server.createEntry(
                RegistrationEntry.of(
                        SpiffeId.parse(ID),
                        SpiffeId.parse("spiffe://example.org/node"),
                        List.of(Selector.parse("unix:uid:0"))));
        Files.writeString(dir.resolve("bundle.pem"), server.bundle().toPem());
        socket = dir.resolve("agent/api.sock");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (agent != null) {
            agent.close();
        }
        server.close();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private void startAgent() throws Exception {
        String token =
                server.generateJoinToken(
                        Duration.ofMinutes(5), SpiffeId.parse("spiffe://example.org/node"));
        agent =
                Agent.start(
                        AgentConfig.of(
                                        TrustDomain.parse("example.org"),
                                        dir.resolve("agent/data"),
                                        "127.0.0.1",
                                        server.agentApiAddress().getPort(),
                                        socket,
                                        dir.resolve("bundle.pem"),
                                        token)
                                .withSyncInterval(Duration.ofMillis(200)));
    }

    private record Run(int exit, String out, String err) {}

    private static Run cli(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            var cl = Main.newCommandLine();
            cl.setOut(new java.io.PrintWriter(System.out, true));
            cl.setErr(new java.io.PrintWriter(System.err, true));
            int code = cl.execute(args);
            return new Run(
                    code,
                    out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void fetchX509PrintsLikeSpireAgentAndWritesFilesThatOpensslVerifies() throws Exception {
        startAgent();
        Path out = dir.resolve("out");
        Run r =
                cli(
                        "agent",
                        "api",
                        "fetch",
                        "x509",
                        "-socketPath",
                        socket.toString(),
                        "-write",
                        out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out())
                .containsPattern("^Received 1 svid after [0-9.]+(µs|ms|s)\\n\\n")
                .contains("SPIFFE ID:\t\t" + ID + "\n")
                .containsPattern(
                        "SVID Valid After:\t\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\+0000 UTC\n")
                .contains("SVID Valid Until:\t")
                .contains("CA #1 Valid After:\t")
                .contains("Writing SVID #0 to file " + out.resolve("svid.0.pem") + ".");
        assertThat(out.resolve("svid.0.pem")).exists();
        assertThat(out.resolve("bundle.0.pem")).exists();
        assertThat(
                        PosixFilePermissions.toString(
                                Files.getPosixFilePermissions(out.resolve("svid.0.key"))))
                .isEqualTo("rw-------");
        assertThat(Files.readString(out.resolve("svid.0.key")))
                .startsWith("-----BEGIN PRIVATE KEY-----\n");

        Process p =
                new ProcessBuilder(
                                "openssl",
                                "verify",
                                "-CAfile",
                                out.resolve("bundle.0.pem").toString(),
                                out.resolve("svid.0.pem").toString())
                        .redirectErrorStream(true)
                        .start();
        String verify = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(verify).isZero();
        assertThat(verify).contains(": OK");
    }

    /** Runs a shell command as uid 64123, a local user who is not the workload. */
    private static int asAnotherUser(String script) throws Exception {
        Process p =
                new ProcessBuilder(
                                "setpriv",
                                "--reuid=64123",
                                "--regid=64123",
                                "--clear-groups",
                                "sh",
                                "-c",
                                script)
                        .redirectErrorStream(true)
                        .start();
        p.getInputStream().readAllBytes();
        return p.waitFor();
    }

    @Test
    void fetchWriteCreatesItsDirectory0700SoAnotherUserCannotReplaceTheBundle() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        startAgent();
        Path out = dir.resolve("sleep/out");
        Run r =
                cli(
                        "agent",
                        "api",
                        "fetch",
                        "x509",
                        "-socketPath",
                        socket.toString(),
                        "-write",
                        out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        String bundle = Files.readString(out.resolve("bundle.0.pem"));

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(out)))
                .isEqualTo("rwx------");
        assertThat(asAnotherUser("echo evil > " + out.resolve("bundle.0.pem"))).isNotZero();
        assertThat(asAnotherUser("mv " + out + " " + dir.resolve("sleep/moved"))).isNotZero();
        assertThat(Files.readString(out.resolve("bundle.0.pem"))).isEqualTo(bundle);
    }

    @Test
    void fetchWriteRefusesADirectoryAnotherUserCanWriteInOrOwns() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        startAgent();
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        Run r =
                cli(
                        "agent",
                        "api",
                        "fetch",
                        "x509",
                        "-socketPath",
                        socket.toString(),
                        "-write",
                        shared.toString(),
                        "-silent");
        if (r.exit() == 0) {
            // what a hostile user does to a bundle written there: swap in their own CA
            assertThat(
                            asAnotherUser(
                                    "echo evil > /tmp/evil-64123.pem && mv -f /tmp/evil-64123.pem "
                                            + shared.resolve("bundle.0.pem")))
                    .as("another user replaced bundle.0.pem")
                    .isNotZero();
        }
        assertThat(r.exit()).isNotZero();
        assertThat(r.err())
                .contains(
                        "-write: output directory "
                                + shared
                                + ": the directory is writable by other users (mode 0777)");
        assertThat(shared.resolve("svid.0.key")).doesNotExist();

        Path theirs = Files.createDirectory(dir.resolve("theirs"));
        Files.setAttribute(theirs, "unix:uid", 64123);
        Run t =
                cli(
                        "agent",
                        "api",
                        "fetch",
                        "x509",
                        "-socketPath",
                        socket.toString(),
                        "-write",
                        theirs.resolve("out").toString());
        assertThat(t.exit()).isNotZero();
        assertThat(t.err()).contains("its ancestor " + theirs + " is owned by uid 64123");
    }

    @Test
    void fetchRefusesASocketInADirectoryOthersCanWrite() throws Exception {
        Path open = Files.createDirectory(dir.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        Run r =
                cli(
                        "agent",
                        "api",
                        "fetch",
                        "x509",
                        "-socketPath",
                        open.resolve("api.sock").toString());
        assertThat(r.exit()).isNotZero();
        assertThat(r.err())
                .contains("refusing the Workload API socket unix://" + open.resolve("api.sock"))
                .contains("writable by other users (mode 0777)");
    }

    @Test
    void fetchJwtThenValidateJwt() throws Exception {
        startAgent();
        Run fetched =
                cli(
                        "agent",
                        "api",
                        "fetch",
                        "jwt",
                        "-audience",
                        "aud-1",
                        "-socketPath",
                        socket.toString());
        assertThat(fetched.exit()).as(fetched.err()).isZero();
        assertThat(fetched.out())
                .startsWith("token(" + ID + "):\n\t")
                .contains("bundle(spiffe://example.org):\n\t{\"keys\":[");
        String token = fetched.out().lines().skip(1).findFirst().orElseThrow().trim();

        Run valid =
                cli(
                        "agent",
                        "api",
                        "validate",
                        "jwt",
                        "-audience",
                        "aud-1",
                        "-svid",
                        token,
                        "-socketPath",
                        socket.toString());
        assertThat(valid.exit()).as(valid.err()).isZero();
        assertThat(valid.out()).startsWith("SVID is valid.\nSPIFFE ID : " + ID + "\nClaims    : {");

        Run wrong =
                cli(
                        "agent",
                        "api",
                        "validate",
                        "jwt",
                        "-audience",
                        "aud-2",
                        "-svid",
                        token,
                        "-socketPath",
                        socket.toString());
        assertThat(wrong.exit()).isEqualTo(1);
        assertThat(wrong.err()).startsWith("Error: SVID is not valid").contains("audience");
    }

    @Test
    void validateJwtRefusesHostileTokensSignedByTheServersRealKey() throws Exception {
        startAgent();
        CaManager.JwtSigningKey key = server.caManager().currentJwtKey();
        HostileJwtSvids table =
                new HostileJwtSvids(
                        SpiffeId.parse(ID),
                        "aud-1",
                        key.kid(),
                        key.keyPair(),
                        "foreign-kid",
                        HeldCertificate.ecKeyPair("secp256r1").getPrivate(),
                        Instant.now());
        Run control =
                cli(
                        "agent",
                        "api",
                        "validate",
                        "jwt",
                        "-audience",
                        "aud-1",
                        "-svid",
                        table.valid(),
                        "-socketPath",
                        socket.toString());
        assertThat(control.exit()).as(control.err()).isZero();
        SoftAssertions soft = new SoftAssertions();
        for (HostileJwtSvids.Hostile h : table.all()) {
            Run r =
                    cli(
                            "agent",
                            "api",
                            "validate",
                            "jwt",
                            "-audience",
                            "aud-1",
                            "-svid",
                            h.token(),
                            "-socketPath",
                            socket.toString());
            soft.assertThat(r.exit()).as(h.name() + ": " + r.out()).isEqualTo(1);
            soft.assertThat(r.err())
                    .as(h.name())
                    .startsWith("Error: SVID is not valid")
                    .contains(h.refusal());
        }
        soft.assertAll();
    }

    @Test
    void healthcheckSaysHealthyWhenTheAgentServesAndFailsWithoutAgent() throws Exception {
        Run down = cli("agent", "healthcheck", "-socketPath", socket.toString());
        assertThat(down.exit()).isEqualTo(1);
        assertThat(down.err()).contains("Agent is unhealthy: unable to determine health");
        startAgent();
        Run up = cli("agent", "healthcheck", "-socketPath", socket.toString());
        assertThat(up.exit()).as(up.err()).isZero();
        assertThat(up.out()).isEqualTo("Agent is healthy.\n");
    }

    @Test
    void fetchWithoutAgentFailsWithAnErrorLine() {
        Run r =
                cli(
                        "agent",
                        "api",
                        "fetch",
                        "x509",
                        "-socketPath",
                        dir.resolve("nothing.sock").toString(),
                        "-timeout",
                        "2s");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err())
                .startsWith("Error: no Workload API socket at " + dir.resolve("nothing.sock"));
    }

    @Test
    void agentRunAsAProcessWithExpandEnvServesTheWorkloadApiAndStopsOnSigterm() throws Exception {
        String token =
                server.generateJoinToken(
                        Duration.ofMinutes(5), SpiffeId.parse("spiffe://example.org/node"));
        Path conf = dir.resolve("agent.conf");
        Files.writeString(
                conf,
                """
                agent {
                    data_dir = "${AGENT_DIR}/data"
                    log_level = "INFO"
                    server_address = "127.0.0.1"
                    server_port = "%d"
                    socket_path = "${AGENT_DIR}/public/api.sock"
                    trust_bundle_path = "%s"
                    trust_domain = "example.org"
                }
                plugins {
                    NodeAttestor "join_token" { plugin_data {} }
                    KeyManager "disk" { plugin_data = { directory = "${AGENT_DIR}/data" } }
                    WorkloadAttestor "unix" { plugin_data {} }
                }
                """
                        .formatted(server.agentApiAddress().getPort(), dir.resolve("bundle.pem")));
        Path agentDir = dir.resolve("proc-agent");
        Path sock = agentDir.resolve("public/api.sock");
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-cp",
                                System.getProperty("java.class.path"),
                                Main.class.getName(),
                                "agent",
                                "run",
                                "-config",
                                conf.toString(),
                                "-expandEnv",
                                "-joinToken",
                                token));
        ProcessBuilder pb =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("agent.log").toFile());
        pb.environment().put("AGENT_DIR", agentDir.toString());
        Process p = pb.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            Run fetched = null;
            while (System.nanoTime() < deadline) {
                if (Files.exists(sock)) {
                    fetched = cli("agent", "api", "fetch", "x509", "-socketPath", sock.toString());
                    if (fetched.exit() == 0) {
                        break;
                    }
                }
                assertThat(p.isAlive())
                        .as(
                                Files.exists(dir.resolve("agent.log"))
                                        ? Files.readString(dir.resolve("agent.log"))
                                        : "")
                        .isTrue();
                Thread.sleep(200);
            }
            assertThat(fetched).isNotNull();
            assertThat(fetched.out())
                    .as(Files.readString(dir.resolve("agent.log")))
                    .contains("SPIFFE ID:\t\t" + ID);
        } finally {
            p.destroy(); // SIGTERM: the agent closes and removes its socket
            assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(sock).doesNotExist();
        assertThat(Files.readString(dir.resolve("agent.log"))).contains("Agent stopped");
    }

    private Process cliProcess(java.util.Map<String, String> env, Path output, String... args)
            throws Exception {
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-cp",
                                System.getProperty("java.class.path"),
                                Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb =
                new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    @Test
    void clientCommandsHonourSpiffeEndpointSocket() throws Exception {
        startAgent();
        Path out = dir.resolve("env-fetch.txt");
        Process p =
                cliProcess(
                        java.util.Map.of("SPIFFE_ENDPOINT_SOCKET", "unix://" + socket),
                        out,
                        "agent",
                        "api",
                        "fetch",
                        "x509");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(out)).isZero();
        assertThat(Files.readString(out)).contains("SPIFFE ID:\t\t" + ID);
    }

    @Test
    void watchPrintsTheFirstUpdateAsItArrives() throws Exception {
        startAgent();
        Path out = dir.resolve("watch.txt");
        Process p =
                cliProcess(
                        java.util.Map.of(),
                        out,
                        "agent",
                        "api",
                        "watch",
                        "-socketPath",
                        socket.toString());
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline && !Files.readString(out).contains("SPIFFE ID:")) {
                assertThat(p.isAlive()).as(Files.readString(out)).isTrue();
                Thread.sleep(100);
            }
            assertThat(Files.readString(out))
                    .contains("Received 1 svid after")
                    .contains("SPIFFE ID:\t\t" + ID);
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
