package io.mithril.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `mithril demo nested` as a user runs it, from the packaged distribution: a root identity server,
 * and the seed's two clusters whose servers take their intermediates from it (UpstreamAuthority
 * "spire", through an agent of the root beside each, entries with -downstream). The demo runs the
 * seed's curl and s_client checks and validates a JWT-SVID of cluster 1 in cluster 2; this test
 * checks that it says so, exits 0 (a failed check exits 1) and leaves nothing running.
 */
class NestedDemoIT {

    @TempDir Path dir;

    @Test
    void demoNestedRunsTheSeedUnderARootServerAndValidatesJwtAcrossClusters() throws Exception {
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
                        "nested",
                        "--dir",
                        dir.toString(),
                        "--gateway-port",
                        Integer.toString(Demo.freePort()),
                        "--no-class-sharing");
        Path log = dir.resolve("demo-output.txt");
        Process demo =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
        boolean finished = demo.waitFor(10, TimeUnit.MINUTES);
        if (!finished) {
            demo.descendants().forEach(ProcessHandle::destroyForcibly);
            demo.destroyForcibly();
        }
        String output = Files.readString(log);
        assertThat(finished).as("demo finished in time; output:%n%s", output).isTrue();
        assertThat(demo.exitValue()).as("demo exit code; output:%n%s", output).isZero();
        assertThat(output)
                .contains("its CA CN=Root CA")
                .contains("(Downstream: true)")
                .contains("HTTP 200, \"The Comedy of Errors\" with reviews")
                .contains(
                        "gateway SVID spiffe://example.org/ns/istio-system/sa/istio-ingressgateway-service-account")
                .contains("both clusters' bundles hold the root's CA")
                .contains("SVID is valid")
                .contains("another audience: refused")
                .contains("Summary: the nested scenario works end to end");
        // Each cluster server's intermediate was signed by the root, which logged it.
        String rootLog = Files.readString(dir.resolve("logs/root-server.log"));
        assertThat(rootLog)
                .contains(
                        "Signed downstream X509 CA: caller=spiffe://example.org/cluster1/mithril-server")
                .contains(
                        "Signed downstream X509 CA: caller=spiffe://example.org/cluster2/mithril-server")
                .contains(
                        "Published downstream JWT key: caller=spiffe://example.org/cluster1/mithril-server");
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
}
