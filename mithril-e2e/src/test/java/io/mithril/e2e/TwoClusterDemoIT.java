package io.mithril.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed scenario end to end, as a user runs it: `mithril demo` in its own JVM, with real
 * processes for every server, agent, proxy and app, and the real curl and openssl (run from the
 * packaged distribution, in the integration-test phase). The demo itself checks the positive path
 * (HTTP 200 with the product page, the chain shown by openssl s_client) and the negative ones (no
 * client certificate, a foreign CA, an unrouted path); this test checks that it says so, exits 0,
 * says its network mode (namespaces as root, loopback otherwise) and leaves no process and no
 * namespace behind.
 */
class TwoClusterDemoIT {

    @TempDir Path dir;

    @Test
    void demoRunsTheSeedScenarioEndToEndAndStopsEverything() throws Exception {
        Demo.Finished run =
                Demo.runToEnd(
                        dir,
                        Duration.ofMinutes(4),
                        "--gateway-port",
                        Integer.toString(Demo.freePort()));
        String output = run.output();
        assertThat(run.inTime()).as("demo finished in time; output:%n%s", output).isTrue();
        assertThat(run.exit()).as("demo exit code; output:%n%s", output).isZero();
        assertThat(output)
                .contains("HTTP 200, \"The Comedy of Errors\" with reviews")
                .contains("no cert: refused")
                .contains("foreign CA: refused")
                .contains("/no-such-route: 404")
                .contains("Summary: the seed scenario works end to end.");
        assertThat(Files.readString(dir.resolve("showcerts.txt"))).contains("BEGIN CERTIFICATE");
        // Root: each cluster in its own network namespace, which are gone after the demo.
        String mode = Demo.modeLine(output);
        if (Demo.isRoot()) {
            assertThat(mode)
                    .as("the mode line")
                    .startsWith("network mode: namespaces (cluster 1 mithril-")
                    .contains("cluster 2 mithril-")
                    .contains("6 pods");
            String netns = mode.replaceAll(".*cluster 1 (mithril-\\d+)-cluster1 .*", "$1");
            assertThat(Demo.namespacesOf(Long.parseLong(netns.substring(8))))
                    .as("namespaces left behind")
                    .isEmpty();
        } else {
            assertThat(mode).startsWith("network mode: loopback (not root");
        }
        assertThat(Demo.leftBehind(dir)).as("processes left behind").isEmpty();
    }
}
