package io.mithril.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `mithril demo federation` as a user runs it, from the packaged distribution: two trust domains
 * with their own CAs federate through their bundle endpoints; domain.test's sleep calls
 * example.org's product page through the ingress gateway, whose AuthorizationPolicy names sleep's
 * foreign ID. The demo checks the attacks itself (another domain.test ID gets 403, a forged
 * domain.test SVID and a client without certificate are refused in the handshake) and a JWT-SVID
 * across trust domains; this test checks that it says so, exits 0 and leaves nothing running.
 */
class FederationDemoIT {

    @TempDir Path dir;

    @Test
    void demoFederationCallsAcrossTrustDomainsAndRefusesTheAttacks() throws Exception {
        Demo.Finished run =
                Demo.runToEnd(
                        dir,
                        Duration.ofMinutes(8),
                        "federation",
                        "--gateway-port",
                        Integer.toString(Demo.freePort()),
                        // Training class sharing archives when the demo stops takes minutes after
                        // each rebuild of the jar.
                        "--no-class-sharing");
        String output = run.output();
        assertThat(run.inTime()).as("demo finished in time; output:%n%s", output).isTrue();
        assertThat(run.exit()).as("demo exit code; output:%n%s", output).isZero();
        assertThat(output)
                .contains("domain.test fetched example.org's bundle over https_spiffe")
                .contains("example.org fetched domain.test's bundle over https_spiffe")
                .contains("HTTP 200, \"The Comedy of Errors\" with reviews")
                .contains("spiffe://domain.test/ns/default/sa/other: 403")
                .contains("forged SVID: refused")
                .contains("no certificate: refused")
                .contains("SVID is valid")
                .contains("calls, none failed; the gateway serves an SVID of the new CA")
                .contains("Summary: federation works end to end");
        assertThat(Demo.modeLine(output))
                .startsWith(Demo.isRoot() ? "network mode: namespaces" : "network mode: loopback");
        assertThat(Demo.leftBehind(dir)).as("processes left behind").isEmpty();
    }
}
