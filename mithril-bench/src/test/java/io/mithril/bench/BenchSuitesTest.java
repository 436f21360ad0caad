package io.mithril.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchSuitesTest {

    @TempDir Path dir;

    @Test
    void pkiIsAKnownSuite() {
        assertThat(BenchSuites.names()).contains("pki");
        assertThat(BenchSuites.find("pki")).get().isInstanceOf(PkiBench.class);
        assertThat(BenchSuites.find("nope")).isEmpty();
    }

    @Test
    void theSuitesOfIssue8AreKnownInOrder() {
        assertThat(BenchSuites.names())
                .containsSubsequence("pki", "server", "gateway", "workload-api", "sidecar", "demo");
    }

    @Test
    void registeringASecondSuiteOfTheSameNameIsRejected() {
        assertThatThrownBy(() -> BenchSuites.register(new PkiBench()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("\"pki\" is already registered");
    }

    @Test
    void cpuModelComesFromTheFirstModelNameLine() throws Exception {
        Path cpuinfo = dir.resolve("cpuinfo");
        Files.writeString(
                cpuinfo,
                "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\n"
                        + "model name\t: AMD EPYC 7B13\n");
        assertThat(Machine.cpuModel(cpuinfo)).isEqualTo("AMD EPYC 7B13");
        assertThat(Machine.cpuModel(dir.resolve("absent"))).isEqualTo("unknown");
        Files.writeString(dir.resolve("loadavg"), "1.25 0.75 0.50 2/345 6789\n");
        assertThat(Machine.loadAverage(dir.resolve("loadavg"))).isEqualTo("1.25 0.75 0.50");
        assertThat(new Machine(2, "c", "j", "o", Instant.EPOCH, "1.25 0.75 0.50").oneMinuteLoad())
                .isEqualTo(1.25);
        assertThat(new Machine(2, "c", "j", "o", Instant.EPOCH, "unknown").oneMinuteLoad())
                .isZero();
    }

    @Test
    void reportIsAMarkdownTableWrittenToSuiteDashDate() throws Exception {
        Machine m =
                new Machine(
                        2,
                        "Test CPU",
                        "17",
                        "Linux",
                        Instant.parse("2026-11-27T18:00:00Z"),
                        "0.50 0.40 0.30");
        BenchReport r =
                new BenchReport("pki", "bench pki", m, List.of("What", "ops/s"))
                        .row(List.of("sign", BenchReport.rate(12345.6)))
                        .note("a note");
        assertThat(r.markdown())
                .contains("| What | ops/s |\n|---|---:|\n| sign | 12,346 |\n")
                .contains("2 cores, Test CPU")
                .contains("Load average at start (1/5/15 min): 0.50 0.40 0.30")
                .contains("a note");
        Path file = r.write(dir);
        assertThat(file.getFileName().toString()).isEqualTo("pki-2026-11-27.md");
        assertThat(Files.readString(file)).isEqualTo(r.markdown());
        assertThatThrownBy(() -> r.row(List.of("only one cell")))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
