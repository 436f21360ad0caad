package io.mithril.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.cli.Main;
import io.mithril.pki.CryptoProvider;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class BenchCommandTest {

    @TempDir Path dir;

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void listShowsThePkiSuite() {
        Run r = run("bench", "-list");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("pki\t");
    }

    @Test
    void unknownSuiteIsAnErrorNamingTheKnownOnes() {
        Run r = run("bench", "nosuch");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("Error: unknown bench suite \"nosuch\": known suites are pki");
    }

    @Test
    void scaleFlagsForAnotherSuiteAreAnError() {
        Run r = run("bench", "pki", "-agents", "10");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("Error: -agents: only the scale suite reads these");
    }

    @Test
    void aBadScaleFlagIsAnErrorNamingIt() {
        Run r = run("bench", "scale", "-agents", "100", "-entries", "50");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("Error: -entries must be at least -agents (100)");
        assertThat(run("bench", "-list").out()).contains("scale\t");
    }

    @Test
    void badRunCountIsAnError() {
        Run r = run("bench", "pki", "-runs", "0");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("Error: runs must be at least 1 (got 0)");
    }

    @Test
    void pkiSuitePrintsATableWithEveryProviderWritesTheResultFileAndShowsProgress()
            throws Exception {
        Path out = dir.resolve("results");
        Run r =
                run(
                        "bench",
                        "pki",
                        "-runs",
                        "1",
                        "-seconds",
                        "0.05",
                        "-warmup",
                        "0",
                        "-opensslSeconds",
                        "1",
                        "-out",
                        out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out())
                .contains(
                        "| Measurement | Provider | Threads | Median ops/s (wall) | Min-max ops/s (wall) | Median ops/s per CPU | vs openssl sign/s |")
                .contains("openssl speed -seconds 1 ecdsap256 (sign)")
                .contains("- Machine: " + Runtime.getRuntime().availableProcessors() + " cores");
        for (CryptoProvider p : CryptoProvider.available()) {
            assertThat(r.out())
                    .contains("| ECDSA P-256 sign | " + p.name() + " | 1 |")
                    .contains("| X.509-SVID mint (CSR verify + sign) | " + p.name() + " | 1 |");
        }
        int measurements = (int) r.err().lines().filter(l -> l.startsWith("bench pki [")).count();
        int threadCounts = Runtime.getRuntime().availableProcessors() > 1 ? 2 : 1;
        assertThat(measurements)
                .isEqualTo(threadCounts * (1 + 2 * CryptoProvider.available().size()));
        List<Path> files;
        try (Stream<Path> s = Files.list(out)) {
            files = s.toList();
        }
        assertThat(files).hasSize(1);
        assertThat(files.get(0).getFileName().toString()).matches("pki-\\d{4}-\\d{2}-\\d{2}\\.md");
        assertThat(Files.readString(files.get(0))).isEqualTo(r.out().strip() + "\n");
    }
}
