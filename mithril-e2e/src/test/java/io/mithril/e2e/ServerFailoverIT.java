package io.mithril.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchOptions;
import io.mithril.bench.Machine;
import io.mithril.bench.scale.Haproxy;
import io.mithril.bench.scale.PostgresCluster;
import io.mithril.bench.scale.ScaleBench;
import io.mithril.bench.scale.ScaleSettings;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Two identity servers on one PostgreSQL database behind HAProxy (TCP mode), both minting under one
 * upstream CA, 50 agents syncing through HAProxy; one server is killed with SIGKILL mid-run (issue
 * 21, at the small scale the issue asks of the test suite). Real processes: PostgreSQL, HAProxy,
 * each server in a JVM of its own from its server.conf; the agents are the scale bench's simulated
 * agents (real agent-API clients over mTLS, each with its own agent SVID).
 */
class ServerFailoverIT {

    @Test
    void killingOneOfTwoServersLosesNoSvidAndEveryAgentSyncsThroughTheOther() throws Exception {
        assumeTrue(
                PostgresCluster.findBin().isPresent(),
                "PostgreSQL not installed (apt-get install postgresql)");
        assumeTrue(Haproxy.find().isPresent(), "haproxy not installed (apt-get install haproxy)");
        // SPIRE's default sync interval; the window only sets the SVID TTL here (2 x 30 s)
        ScaleSettings s =
                new ScaleSettings(50, 50, Duration.ofSeconds(5), Duration.ofSeconds(30), 1, 50);
        ScaleBench.Failover f =
                new ScaleBench()
                        .runFailover(
                                new BenchContext(
                                        BenchOptions.DEFAULTS,
                                        Machine.current(),
                                        System.err::println),
                                s);

        assertThat(f.agents()).isEqualTo(50);
        assertThat(f.samples()).as("validity samples taken").isGreaterThan(50);
        assertThat(f.maxWithoutValidSvid())
                .as("agents without a valid SVID at any sample")
                .isZero();
        assertThat(f.notResynced()).as("agents that never synced again after the kill").isZero();
        assertThat(f.killToAllResyncedSeconds())
                .as("kill to every agent synced again, s")
                .isLessThanOrEqualTo(2 * 5.0);
        assertThat(f.outageEntriesReceived())
                .as("entries created during the outage that reached their agents")
                .isEqualTo(f.outageEntriesCreated());
        assertThat(f.x509AuthoritiesAgreeBefore()).isTrue();
        assertThat(f.x509AuthoritiesAgreeAfter()).isTrue();
    }
}
