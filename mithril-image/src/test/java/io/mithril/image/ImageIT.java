package io.mithril.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The image tarball that {@code mvn -Pimage package} leaves, run as a container runtime would run
 * it: its layers unpacked in order into a directory with the real {@code tar}, then each command
 * started from that root with {@code unshare --mount} and {@code chroot}, as the image's user, with
 * its environment, the root remounted read-only, a fresh tmpfs on /tmp (the emptyDir the manifests
 * give), /proc and /dev, and host directories bound where a pod mounts its volumes. Needs root (run
 * by {@code mvn -B -Pimage verify}; CI runs as root).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImageIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The host's chroot, by path: it runs after {@code env -i}, with no PATH. */
    private static final String CHROOT =
            Stream.of("/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot")
                    .filter(p -> Files.isExecutable(Path.of(p)))
                    .findFirst()
                    .orElse("chroot");

    private Path work;

    private Path root;
    private JsonNode config;
    private JsonNode manifest;
    private final List<Process> started = new ArrayList<>();

    @BeforeAll
    void unpack() throws Exception {
        work = Files.createTempDirectory("mithril-image-it");
        assertThat(runHost(List.of("id", "-u")).trim())
                .as("ImageIT needs root (chroot, unshare)")
                .isEqualTo("0");
        Path tar = Path.of(System.getProperty("mithril.image.tar", "target/mithril-image.tar"));
        assertThat(tar).as("the image tarball (mvn -Pimage package)").isRegularFile();
        Path extracted = Files.createDirectories(work.resolve("tarball"));
        runHost(
                List.of(
                        "tar",
                        "--warning=no-unknown-keyword",
                        "-xf",
                        tar.toString(),
                        "-C",
                        extracted.toString()));
        manifest = JSON.readTree(extracted.resolve("manifest.json").toFile()).get(0);
        config =
                JSON.readTree(extracted.resolve(manifest.get("Config").asText()).toFile())
                        .get("config");
        root = Files.createDirectories(work.resolve("root"));
        for (JsonNode layer : manifest.get("Layers")) {
            Path layerTar = extracted.resolve(layer.asText());
            String listing =
                    runHost(
                            List.of(
                                    "tar",
                                    "--warning=no-unknown-keyword",
                                    "-tzf",
                                    layerTar.toString()));
            assertThat(listing).as("whiteouts in " + layer).doesNotContain(".wh.");
            runHost(
                    List.of(
                            "tar",
                            "--warning=no-unknown-keyword",
                            "-xzpf",
                            layerTar.toString(),
                            "-C",
                            root.toString()));
        }
        // Mount points, as a container runtime creates them in the container's root.
        for (String dir :
                List.of(
                        "proc",
                        "dev",
                        "run/spire/config",
                        "run/spire/data",
                        "run/spire/sockets",
                        "sleep-certs")) {
            Files.createDirectories(root.resolve(dir));
        }
    }

    @AfterAll
    void stop() throws Exception {
        // unshare --fork ignores SIGTERM, and --kill-child does not survive chroot's change of
        // user: stop the command itself (the JVM, as a kubelet would), then unshare ends.
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroy);
            if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor();
            }
        }
        runHost(List.of("rm", "-rf", work.toString()));
    }

    @Test
    void tarballIsNamedAsTheManifestsSay() {
        assertThat(manifest.get("RepoTags").get(0).asText())
                .isEqualTo(System.getProperty("mithril.image.name"));
    }

    @Test
    void runsAsNonRootWithNoShell() {
        assertThat(config.get("User").asText()).isEqualTo("65532:65532");
        for (String shell :
                List.of("bin/sh", "bin/bash", "bin/dash", "usr/bin/sh", "bin/busybox")) {
            assertThat(root.resolve(shell)).doesNotExist();
        }
        assertThat(root.resolve("opt/mithril/mithril-cli.jar")).isRegularFile();
        assertThat(root.resolve("opt/mithril/lib")).isDirectory();
        // Everything is in /opt/mithril as in mithril-cli/target; Jib adds no jars of its own.
        assertThat(root.resolve("app/libs")).doesNotExist();
    }

    @Test
    void entrypointPrintsTheVersion() throws Exception {
        List<String> argv = new ArrayList<>(entrypoint());
        argv.add("--version");
        Result r = runInImage(argv, Map.of());
        assertThat(r.exit).as(r.output).isZero();
        assertThat(r.output).contains("mithril 0.1.0").contains("Java 17");
    }

    /**
     * What SPIRE's images are used for, under SPIRE's paths: spire-server run, healthcheck, token
     * generate, bundle show and entry create; spire-agent run with the join token; then the seed's
     * init container, {@code spire-agent api fetch -write}, as the image's user.
     */
    @Test
    void spireNamedCommandsRunServerAgentAndFetch() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path conf = Files.createDirectories(work.resolve("config"));
        Path data = Files.createDirectories(work.resolve("data"));
        Path sockets = Files.createDirectories(work.resolve("sockets"));
        Path certs = Files.createDirectories(work.resolve("certs"));
        Files.createDirectories(data.resolve("server"));
        Files.createDirectories(data.resolve("agent"));
        for (Path p :
                List.of(data, data.resolve("server"), data.resolve("agent"), sockets, certs)) {
            runHost(List.of("chown", "65532:65532", p.toString()));
            runHost(List.of("chmod", "700", p.toString()));
        }
        runHost(List.of("chmod", "755", sockets.toString()));
        Files.writeString(
                conf.resolve("server.conf"),
                resource("server.conf").replace("__PORT__", Integer.toString(port)));
        Map<String, Path> binds = new LinkedHashMap<>();
        binds.put("/run/spire/config", conf);
        binds.put("/run/spire/data", data);
        binds.put("/run/spire/sockets", sockets);
        binds.put("/sleep-certs", certs);

        Process server =
                startInImage(
                        List.of(
                                "/opt/spire/bin/spire-server",
                                "run",
                                "-config",
                                "/run/spire/config/server.conf"),
                        binds,
                        work.resolve("server.log"));
        String adminSocket = "/run/spire/sockets/server.sock";
        await().atMost(Duration.ofMinutes(2))
                .pollInterval(Duration.ofSeconds(2))
                .untilAsserted(
                        () -> {
                            assertThat(server.isAlive())
                                    .as(Files.readString(work.resolve("server.log")))
                                    .isTrue();
                            Result health =
                                    runInImage(
                                            List.of(
                                                    "/opt/spire/bin/spire-server",
                                                    "healthcheck",
                                                    "-socketPath",
                                                    adminSocket),
                                            binds);
                            assertThat(health.exit).as(health.output).isZero();
                        });
        Result bundle =
                runInImage(
                        List.of(
                                "/opt/spire/bin/spire-server",
                                "bundle",
                                "show",
                                "-socketPath",
                                adminSocket),
                        binds);
        assertThat(bundle.output).contains("-----BEGIN CERTIFICATE-----");
        Files.writeString(
                conf.resolve("bundle.pem"),
                bundle.output.substring(bundle.output.indexOf("-----BEGIN")));
        Files.writeString(
                conf.resolve("agent.conf"),
                resource("agent.conf").replace("__PORT__", Integer.toString(port)));

        Result token =
                runInImage(
                        List.of(
                                "/opt/spire/bin/spire-server",
                                "token",
                                "generate",
                                "-socketPath",
                                adminSocket,
                                "-spiffeID",
                                "spiffe://example.org/node"),
                        binds);
        Matcher m = Pattern.compile("Token: (\\S+)").matcher(token.output);
        assertThat(m.find()).as(token.output).isTrue();
        Result entry =
                runInImage(
                        List.of(
                                "/opt/spire/bin/spire-server",
                                "entry",
                                "create",
                                "-socketPath",
                                adminSocket,
                                "-parentID",
                                "spiffe://example.org/node",
                                "-spiffeID",
                                "spiffe://example.org/ns/default/sa/sleep",
                                "-selector",
                                "unix:uid:65532"),
                        binds);
        assertThat(entry.exit).as(entry.output).isZero();

        Process agent =
                startInImage(
                        List.of(
                                "/opt/spire/bin/spire-agent",
                                "run",
                                "-config",
                                "/run/spire/config/agent.conf",
                                "-joinToken",
                                m.group(1)),
                        binds,
                        work.resolve("agent.log"));
        await().atMost(Duration.ofMinutes(2))
                .pollInterval(Duration.ofSeconds(2))
                .untilAsserted(
                        () -> {
                            assertThat(agent.isAlive())
                                    .as(Files.readString(work.resolve("agent.log")))
                                    .isTrue();
                            Result fetch =
                                    runInImage(
                                            List.of(
                                                    "/opt/spire/bin/spire-agent",
                                                    "api",
                                                    "fetch",
                                                    "-socketPath",
                                                    "/run/spire/sockets/agent.sock",
                                                    "-write",
                                                    "/sleep-certs"),
                                            binds);
                            assertThat(fetch.exit).as(fetch.output).isZero();
                        });
        X509Certificate svid;
        try (InputStream in = Files.newInputStream(certs.resolve("svid.0.pem"))) {
            svid =
                    (X509Certificate)
                            CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        assertThat(svid.getSubjectAlternativeNames())
                .anySatisfy(
                        san ->
                                assertThat(san.get(1))
                                        .isEqualTo("spiffe://example.org/ns/default/sa/sleep"));
        assertThat(certs.resolve("bundle.0.pem")).isRegularFile();
        assertThat(certs.resolve("svid.0.key")).isRegularFile();
    }

    private List<String> entrypoint() {
        List<String> argv = new ArrayList<>();
        config.get("Entrypoint").forEach(n -> argv.add(n.asText()));
        return argv;
    }

    /** The image's environment (Env of its config), as a runtime gives it to the process. */
    private List<String> imageEnv() {
        List<String> env = new ArrayList<>();
        config.get("Env").forEach(n -> env.add(n.asText()));
        return env;
    }

    private List<String> containerCommand(List<String> argv, Map<String, Path> binds) {
        String r = root.toString();
        StringBuilder script = new StringBuilder("set -e; ");
        script.append("mount --bind ").append(r).append(' ').append(r).append("; ");
        script.append("mount -o remount,bind,ro ").append(r).append("; ");
        script.append("mount -t proc proc ").append(r).append("/proc; ");
        script.append("mount --rbind /dev ").append(r).append("/dev; ");
        script.append("mount -t tmpfs -o mode=1777 tmpfs ").append(r).append("/tmp; ");
        binds.forEach(
                (inside, host) ->
                        script.append("mount --bind ")
                                .append(host)
                                .append(' ')
                                .append(r)
                                .append(inside)
                                .append("; "));
        script.append("exec \"$@\"");
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                "unshare",
                                "--mount",
                                "--fork",
                                "--kill-child",
                                "--",
                                "/bin/sh",
                                "-c",
                                script.toString(),
                                "sh",
                                "env",
                                "-i"));
        cmd.addAll(imageEnv());
        String user = config.get("User").asText();
        cmd.addAll(List.of(CHROOT, "--userspec=" + user, r));
        cmd.addAll(argv);
        return cmd;
    }

    private Result runInImage(List<String> argv, Map<String, Path> binds) throws Exception {
        Process p =
                new ProcessBuilder(containerCommand(argv, binds)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), out);
    }

    private Process startInImage(List<String> argv, Map<String, Path> binds, Path log)
            throws IOException {
        Process p =
                new ProcessBuilder(containerCommand(argv, binds))
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
        started.add(p);
        return p;
    }

    private static String runHost(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(cmd + ": " + out).isZero();
        return out;
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = ImageIT.class.getResourceAsStream("/image/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private record Result(int exit, String output) {}
}
