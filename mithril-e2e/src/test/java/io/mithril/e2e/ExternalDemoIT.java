package io.mithril.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `mithril demo external` as a user runs it, from the packaged distribution: a workload outside the
 * mesh, its agent attested with x509pop, serves mTLS on its own SVID and admits only the egress
 * gateway; sleep reaches it through its sidecar and the egress gateway (ISTIO_MUTUAL with sni both
 * ways). The demo does the checks itself with curl (the call through the egress path, a direct call
 * without an SVID refused, a direct call with sleep's valid SVID refused); this test checks that it
 * says so, exits 0, chose its ports through the ports file, and leaves nothing running; and that a
 * check that fails (an operator's policy at the egress gateway denies sleep) makes it exit 1.
 */
class ExternalDemoIT {

    @TempDir Path dir;

    /** Runs the demo to its end (at most 8 minutes) and checks its exit code; its output. */
    private String runToEnd(Path stateDir, Path log, int expectedExit) throws Exception {
        Process demo = run(stateDir, log);
        boolean finished = demo.waitFor(8, TimeUnit.MINUTES);
        if (!finished) {
            demo.descendants().forEach(ProcessHandle::destroyForcibly);
            demo.destroyForcibly();
        }
        String output = Files.readString(log);
        assertThat(finished).as("demo finished in time; output:%n%s", output).isTrue();
        assertThat(demo.exitValue())
                .as("demo exit code; output:%n%s", output)
                .isEqualTo(expectedExit);
        return output;
    }

    private Process run(Path stateDir, Path log) throws Exception {
        Path jar = Demo.jar();
        assertThat(jar)
                .as("the distribution (mvn verify packages mithril-cli before this test)")
                .isRegularFile();
        List<String> cmd =
                List.of(
                        Demo.java(),
                        "-Dmithril.home=" + Demo.projectRoot(),
                        "-jar",
                        jar.toString(),
                        "demo",
                        "external",
                        "--dir",
                        stateDir.toString(),
                        // Training class sharing archives when the demo stops takes minutes after
                        // each rebuild of the jar.
                        "--no-class-sharing");
        return new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
    }

    @Test
    void demoExternalReachesTheWorkloadThroughTheEgressGatewayAndRefusesTheBypass()
            throws Exception {
        String output = runToEnd(dir, dir.resolve("demo-output.txt"), 0);
        assertThat(output)
                .contains("node alias spiffe://example.org/external/node (x509pop:subject:cn:")
                .contains(
                        "HTTP 200 from spiffe://example.org/external/api: its handshake verified the"
                                + " egress gateway (spiffe://example.org/ns/istio-system/sa/"
                                + "istio-egressgateway-service-account), whose"
                                + " x-forwarded-client-cert names spiffe://example.org/ns/default/sa/sleep")
                .contains("bypassing the egress gateway without an SVID")
                .contains(
                        "client SPIFFE ID spiffe://example.org/ns/default/sa/sleep is not authorized")
                .contains(
                        "Summary: sleep reached the external workload through the egress gateway");
        // Every port came from the Ports helper and is on record.
        Properties ports = new Properties();
        try (var in = Files.newInputStream(dir.resolve("demo-ports.properties"))) {
            ports.load(in);
        }
        assertThat(ports.stringPropertyNames())
                .contains("server", "controlplane", "egressgateway", "sleep.outbound", "external");
        // The x509pop node key is the node's secret.
        assertThat(Files.getPosixFilePermissions(dir.resolve("external/x509pop/node.key")))
                .containsExactlyInAnyOrder(
                        java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                        java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
        assertThat(leftBehind(dir)).as("processes left behind").isEmpty();
    }

    /**
     * A DENY policy for sleep at the egress gateway, left in the state directory's mesh
     * configuration (which the control plane reads whole): the call through the egress path gets
     * 403, so the demo must fail that step and exit 1.
     */
    @Test
    void aFailingCheckMakesTheDemoExitNonZero() throws Exception {
        Path stateDir = dir.resolve("denied");
        Path mesh = Files.createDirectories(stateDir.resolve("config/mesh"));
        for (Path d : List.of(stateDir, stateDir.resolve("config"), mesh)) {
            Files.setPosixFilePermissions(
                    d, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Files.writeString(
                mesh.resolve("deny-sleep.yaml"),
                """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-sleep, namespace: istio-system}
                spec:
                  selector: {matchLabels: {istio: egressgateway}}
                  action: DENY
                  rules: [{from: [{source: {principals: ["example.org/ns/default/sa/sleep"]}}]}]
                """);
        String output = runToEnd(stateDir, dir.resolve("denied-output.txt"), 1);
        assertThat(output)
                .contains("demo FAILED: sleep -> sidecar -> egress gateway -> external workload")
                .contains("HTTP_CODE=403")
                .doesNotContain("Summary:");
        assertThat(leftBehind(stateDir)).as("processes left behind").isEmpty();
    }

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
}
