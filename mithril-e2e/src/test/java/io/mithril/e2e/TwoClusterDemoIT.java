package io.mithril.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed scenario end to end, as a user runs it: `mithril demo` in its own JVM, with real
 * processes for every server, agent, proxy and app, and the real curl and openssl (run from the
 * packaged distribution, in the integration-test phase). The demo itself checks the positive path
 * (HTTP 200 with the product page, the chain shown by openssl s_client) and the negative ones (no
 * client certificate, a foreign CA, an unrouted path); this test checks that it says so, exits 0,
 * and leaves no process behind.
 */
class TwoClusterDemoIT {

    @TempDir Path dir;

    @Test
    void demoRunsTheSeedScenarioEndToEndAndStopsEverything() throws Exception {
        int gatewayPort = freePort();
        Path jar = projectRoot().resolve("mithril-cli/target/mithril-cli.jar");
        assertThat(jar)
                .as("the distribution (mvn verify packages mithril-cli before this test)")
                .isRegularFile();
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-Dmithril.home=" + projectRoot(),
                                "-jar",
                                jar.toString(),
                                "demo",
                                "--dir",
                                dir.toString(),
                                "--gateway-port",
                                Integer.toString(gatewayPort)));
        Path log = dir.resolve("demo-output.txt");
        Process demo =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
        boolean finished = demo.waitFor(4, TimeUnit.MINUTES);
        if (!finished) {
            demo.descendants().forEach(ProcessHandle::destroyForcibly);
            demo.destroyForcibly();
        }
        String output = Files.readString(log);
        assertThat(finished).as("demo finished in time; output:%n%s", output).isTrue();
        assertThat(demo.exitValue()).as("demo exit code; output:%n%s", output).isZero();
        assertThat(output)
                .contains("HTTP 200, \"The Comedy of Errors\" with reviews")
                .contains("no cert: refused")
                .contains("foreign CA: refused")
                .contains("/no-such-route: 404")
                .contains("Summary: the seed scenario works end to end.");
        assertThat(Files.readString(dir.resolve("showcerts.txt"))).contains("BEGIN CERTIFICATE");
        List<String> leftBehind =
                ProcessHandle.allProcesses()
                        .filter(
                                p ->
                                        p.info()
                                                .arguments()
                                                .map(
                                                        a ->
                                                                String.join(" ", a)
                                                                        .contains(dir.toString()))
                                                .orElse(false))
                        .map(p -> p.pid() + " " + p.info().commandLine().orElse("?"))
                        .toList();
        assertThat(leftBehind).as("processes left behind").isEmpty();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static Path projectRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("examples/two-clusters"))) {
            p = p.getParent();
        }
        return p;
    }
}
