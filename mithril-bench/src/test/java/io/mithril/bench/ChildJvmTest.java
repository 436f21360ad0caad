package io.mithril.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChildJvmTest {

    /** A child that says it is ready on "port" 4321 and stays until its stdin closes. */
    public static final class Ready {
        public static void main(String[] args) {
            ChildJvm.serveUntilStdinCloses("TEST_READY " + args[0]);
        }
    }

    /** A child that fails before saying it is ready. */
    public static final class Fails {
        public static void main(String[] args) {
            System.err.println("cannot start: " + args[0]);
            System.exit(3);
        }
    }

    @Test
    void childSaysItsPortIsMeasurableAndExitsWhenClosed(@TempDir Path dir) throws Exception {
        ChildJvm child =
                ChildJvm.start("the test child", Ready.class, dir.resolve("child.log"), "4321");
        ProcessHandle handle = ProcessHandle.of(child.pid()).orElseThrow();
        try {
            assertThat(child.awaitReady("TEST_READY ")).isEqualTo(4321);
            assertThat(child.rssKb()).isPositive();
            assertThat(child.cpuTicks()).isPositive();
        } finally {
            child.close();
        }
        handle.onExit().get(10, TimeUnit.SECONDS);
        assertThat(handle.isAlive()).isFalse();
    }

    @Test
    void childThatExitsBeforeReadyIsReportedWithItsLog(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("child.log");
        try (ChildJvm child =
                ChildJvm.start("the test child", Fails.class, log, "no certificate")) {
            assertThatThrownBy(() -> child.awaitReady("TEST_READY "))
                    .hasMessageContaining("the test child did not start")
                    .hasMessageContaining(log.toString());
        }
        assertThat(Files.readString(log)).contains("cannot start: no certificate");
    }

    @Test
    void procStatTicksAreUtimePlusStimeEvenWithParenthesesInTheName() throws Exception {
        String stat =
                "4242 (java (main) x) S 1 4242 4242 0 -1 4194304 100 0 0 0 1234 567 0 0 20 0 30 0 99 1000 200";
        assertThat(ChildJvm.parseStatTicks(stat)).isEqualTo(1234 + 567);
        assertThatThrownBy(() -> ChildJvm.parseStatTicks("garbage"))
                .hasMessageContaining("garbage");
    }
}
