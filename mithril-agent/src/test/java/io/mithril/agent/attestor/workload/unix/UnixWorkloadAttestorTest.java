package io.mithril.agent.attestor.workload.unix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.mithril.agent.attestor.workload.Caller;
import io.mithril.agent.attestor.workload.WorkloadAttestationException;
import io.mithril.api.selector.Selector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Attests a real process started under another uid with supplementary groups. */
class UnixWorkloadAttestorTest {

    private Process workload;
    private Caller caller;

    @BeforeEach
    void start() throws Exception {
        workload =
                new ProcessBuilder(
                                "setpriv",
                                "--reuid",
                                "1234",
                                "--regid",
                                "1234",
                                "--groups",
                                "2000,2001",
                                "sleep",
                                "60")
                        .start();
        int pid = (int) workload.pid();
        // setpriv execs sleep in the same process: wait until the process image is sleep.
        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(20))
                .until(
                        () ->
                                java.nio.file.Files.readSymbolicLink(
                                                Path.of("/proc/" + pid + "/exe"))
                                        .toString()
                                        .endsWith("sleep"));
        caller = new Caller(pid, 1234, 1234, ProcessInfo.startTime(Path.of("/proc"), pid));
    }

    @AfterEach
    void stop() throws Exception {
        workload.destroy();
        workload.waitFor(5, TimeUnit.SECONDS);
    }

    @Test
    void uidGidAndSupplementaryGroupsBecomeSelectors() throws Exception {
        List<Selector> s = new UnixWorkloadAttestor(false, 0).attest(caller);
        assertThat(s)
                .extracting(Selector::toString)
                .contains(
                        "unix:uid:1234",
                        "unix:gid:1234",
                        "unix:supplementary_gid:2000",
                        "unix:supplementary_gid:2001");
        assertThat(s)
                .extracting(Selector::toString)
                .noneMatch(x -> x.startsWith("unix:path:") || x.startsWith("unix:sha256:"));
    }

    @Test
    void discoverWorkloadPathAddsExecutablePathAndHash() throws Exception {
        List<Selector> s = new UnixWorkloadAttestor(true, -1).attest(caller);
        String exe =
                java.nio.file.Files.readSymbolicLink(Path.of("/proc/" + caller.pid() + "/exe"))
                        .toString();
        Process sum = new ProcessBuilder("sha256sum", exe).start();
        String hash =
                new String(sum.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                        .split(" ")[0];
        assertThat(s)
                .extracting(Selector::toString)
                .contains("unix:path:" + exe, "unix:sha256:" + hash);
    }

    @Test
    void userAndGroupNamesComeFromPasswdAndGroup() throws Exception {
        List<Selector> s =
                new UnixWorkloadAttestor(false, 0)
                        .attest(
                                new Caller(
                                        (int) ProcessHandle.current().pid(),
                                        0,
                                        0,
                                        ProcessInfo.startTime(
                                                Path.of("/proc"),
                                                (int) ProcessHandle.current().pid())));
        assertThat(s).extracting(Selector::toString).contains("unix:user:root", "unix:group:root");
    }

    @Test
    void reusedPidIsRefused() {
        Caller stale = new Caller(caller.pid(), caller.uid(), caller.gid(), caller.startTime() - 1);
        assertThatThrownBy(() -> new UnixWorkloadAttestor(false, 0).attest(stale))
                .isInstanceOf(WorkloadAttestationException.class)
                .hasMessageContaining("no longer names the process that connected");
    }

    @Test
    void exitedProcessIsRefused() throws Exception {
        workload.destroy();
        workload.waitFor(5, TimeUnit.SECONDS);
        assertThatThrownBy(() -> new UnixWorkloadAttestor(false, 0).attest(caller))
                .isInstanceOf(WorkloadAttestationException.class);
    }
}
