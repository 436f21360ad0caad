package io.mithril.bench.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DemoBenchTest {

    @Test
    void parsesTheDemoSummaryLine() throws Exception {
        String out =
                """
                Mithril demo: two clusters, one upstream CA on disk, trust domain example.org
                [ok] sleep curls the product page

                Summary: the seed scenario works end to end.
                  first successful curl at 12.3s after start; 17 processes, 1530 MiB resident in total
                stopping 17 processes ...
                """;
        DemoBench.Summary s = DemoBench.parse(out);
        assertThat(s.firstCurlSeconds()).isEqualTo(12.3);
        assertThat(s.processes()).isEqualTo(17);
        assertThat(s.residentMiB()).isEqualTo(1530.0);
    }

    @Test
    void aFailedDemoIsReportedWithTheEndOfItsOutput() {
        assertThatThrownBy(
                        () ->
                                DemoBench.parse(
                                        "Mithril demo: ...\n\ndemo FAILED: agent 1 did not start\n"))
                .hasMessageContaining("first successful curl")
                .hasMessageContaining("demo FAILED: agent 1 did not start");
    }
}
