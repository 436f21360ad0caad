package io.mithril.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two demos on one machine at once, each with its own {@code --gateway-port}: {@code mithril demo}
 * and {@code mithril demo federation}, both in loopback mode ({@code --loopback}; what every user
 * but root gets), where they would collide on the documented ports (8081, 8082, 15012, 15014,
 * 15000, 127.0.1.1-6) if either took them fixed: the second to bind must choose free ones. Both
 * must pass all their checks, say "network mode: loopback", and leave nothing running. (As root
 * each cluster has a network namespace of its own and nothing but the published gateway is on the
 * host: {@link TwoClusterDemoIT} checks that mode.)
 */
class SideBySideDemosIT {

    @TempDir Path dir;

    @Test
    void seedAndFederationDemosRunAtOnceOnLoopback() throws Exception {
        // As root the workloads' uids traverse it to their sockets and configuration.
        java.nio.file.Files.setPosixFilePermissions(
                dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        int seedPort = Demo.freePort();
        int federationPort = Demo.freePort();
        while (federationPort == seedPort) {
            federationPort = Demo.freePort();
        }
        String fedPort = Integer.toString(federationPort);
        // Training class sharing archives when a demo stops takes minutes after each rebuild.
        CompletableFuture<Demo.Finished> seed =
                CompletableFuture.supplyAsync(
                        () ->
                                run(
                                        dir.resolve("seed"),
                                        "--loopback",
                                        "--no-class-sharing",
                                        "--gateway-port",
                                        Integer.toString(seedPort)));
        CompletableFuture<Demo.Finished> federation =
                CompletableFuture.supplyAsync(
                        () ->
                                run(
                                        dir.resolve("federation"),
                                        "federation",
                                        "--loopback",
                                        "--no-class-sharing",
                                        "--gateway-port",
                                        fedPort));
        Demo.Finished s = seed.get();
        Demo.Finished f = federation.get();

        assertThat(s.inTime()).as("seed demo finished in time; output:%n%s", s.output()).isTrue();
        assertThat(s.exit()).as("seed demo exit code; output:%n%s", s.output()).isZero();
        assertThat(f.inTime()).as("federation finished in time; output:%n%s", f.output()).isTrue();
        assertThat(f.exit()).as("federation exit code; output:%n%s", f.output()).isZero();
        assertThat(s.output())
                .contains("Summary: the seed scenario works end to end.")
                .contains("gateway 127.0.0.1:" + seedPort);
        assertThat(f.output())
                .contains("Summary: federation works end to end")
                .contains("gateway 127.0.0.1:" + federationPort);
        for (Demo.Finished d : new Demo.Finished[] {s, f}) {
            assertThat(Demo.modeLine(d.output()))
                    .startsWith("network mode: loopback (")
                    .contains("every process on 127.0.0.1");
        }
        // Both ran at once: the two runs overlapped (each saw the other's ports taken, or got
        // there first); what they chose is in their state directories.
        System.out.printf(
                "seed ports: %s%nfederation ports: %s%n",
                portsLine(s.output()), portsLine(f.output()));
        assertThat(Demo.leftBehind(dir)).as("processes left behind").isEmpty();
    }

    private static Demo.Finished run(Path dir, String... args) {
        try {
            return Demo.runToEnd(dir, Duration.ofMinutes(10), args);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String portsLine(String output) {
        return output.lines()
                .filter(l -> l.contains("cluster1.server "))
                .findFirst()
                .orElse("(none)")
                .strip();
    }
}
