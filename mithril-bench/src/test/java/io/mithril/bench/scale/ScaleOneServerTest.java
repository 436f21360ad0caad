package io.mithril.bench.scale;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchOptions;
import io.mithril.bench.BenchReport;
import io.mithril.bench.Machine;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The one-server part at a tiny scale, for real (PostgreSQL, a server JVM, agents over mTLS):
 * checks what it measures is what it says, not how fast. Not timed.
 */
class ScaleOneServerTest {

    @Test
    void agentsHoldDistinctSvidsAndTheFiguresComeFromRealCounters() throws Exception {
        Assumptions.assumeTrue(PostgresCluster.findBin().isPresent(), "PostgreSQL not installed");
        // 6 agents, 24 entries, syncing every 0.5 s; SVID TTL 8 s, so each SVID is renewed in the 4
        // s window
        ScaleSettings s =
                new ScaleSettings(6, 24, Duration.ofMillis(500), Duration.ofSeconds(4), 5, 0);
        BenchContext ctx = new BenchContext(BenchOptions.DEFAULTS, Machine.current(), line -> {});
        ScaleBench.OneServer o = new ScaleBench().runOneServer(ctx, s);

        assertThat(o.storm().attested()).isEqualTo(6);
        assertThat(o.distinctAgentIds()).isEqualTo(6);
        // every agent holds the SVIDs of its own entries (and its timed new ones), each SVID its
        // own certificate
        assertThat(o.everyAgentHoldsExactlyItsEntries()).isTrue();
        assertThat(o.heldSvids()).isEqualTo(24 + o.probesReceived());
        assertThat(o.distinctSerials()).isEqualTo(o.heldSvids());
        // propagation: every timed entry reached its agent, and only it; a delay is positive
        assertThat(o.probesCreated()).isEqualTo(5);
        assertThat(o.probesReceived()).isEqualTo(5);
        assertThat(o.wrongAgent()).isZero();
        assertThat(o.propagation().count()).isEqualTo(5);
        assertThat(o.propagation().p50()).isPositive();
        // counters: renewals happened in the window and the server's own counter saw them
        assertThat(o.window().syncs()).isPositive();
        assertThat(o.window().calls()).isGreaterThanOrEqualTo(2 * o.window().syncs());
        assertThat(o.window().svidsReceived()).isPositive();
        assertThat(o.x509SignedInWindow()).isPositive();
        // what the agents received in the window the server signed, give or take the batches in
        // flight at its edges
        assertThat(Math.abs(o.x509SignedInWindow() - o.window().svidsReceived()))
                .isLessThanOrEqualTo(24 + 5);
        assertThat(o.sync().count()).isEqualTo((int) o.window().syncs());
        // PostgreSQL's own statistics, of the servers' database: the revision poll at least
        assertThat(o.statements()).isPositive();
        assertThat(o.topStatements().keySet()).anyMatch(q -> q.contains("change_revision"));
        assertThat(o.serverCpuCores()).isPositive();
        assertThat(o.serverRssKb()).isPositive();

        BenchReport r = ScaleBench.report(ctx, s, o, null, "skipped (-failoverAgents 0)");
        assertThat(r.rows())
                .extracting(row -> row.get(0))
                .contains(
                        "sync p99 ms",
                        "PostgreSQL queries/s (steady state)",
                        "agents without a valid SVID during failover");
        assertThat(r.markdown()).contains("spiffe/spire#1351", "spiffe/spire#2593");
        assertThat(List.of(r.markdown())).allMatch(m -> !m.contains("null"));
    }
}
