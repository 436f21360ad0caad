package io.mithril.agent.attestor.workload.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mithril.agent.attestor.workload.Caller;
import io.mithril.agent.attestor.workload.unix.ProcessInfo;
import io.mithril.agent.config.K8sWorkloadAttestorConfig;
import io.mithril.agent.testing.FakeKubelet;
import io.mithril.api.selector.Selector;
import io.mithril.spiffe.testing.HeldCertificate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code WorkloadAttestor "k8s"} on a real process (a {@code sleep} child) whose cgroup file this
 * test writes under its own proc root (a containerd pod under systemd, cgroup v2), against a
 * kubelet served over HTTPS.
 */
class K8sWorkloadAttestorTest {

    static final String POD_UID = "a2830d0d-b0f0-4ff0-81b5-0ee4e299cf80";
    static final String CONTAINER =
            "b2a102854b4969b2ce98dc329c86b4fb2b06e4ad2cc8da9d8a7578c9cd2004a2";

    @TempDir Path dir;
    FakeKubelet kubelet;
    Process workload;
    Path proc;

    @BeforeEach
    void start() throws Exception {
        kubelet = new FakeKubelet();
        workload = new ProcessBuilder("sleep", "300").start();
        proc = dir.resolve("proc");
        Files.writeString(dir.resolve("token"), FakeKubelet.TOKEN + "\n");
    }

    @AfterEach
    void stop() {
        workload.destroyForcibly();
        kubelet.close();
    }

    private void writeCgroup(long pid, String content) throws Exception {
        Files.createDirectories(proc.resolve(Long.toString(pid)));
        Files.writeString(proc.resolve(Long.toString(pid)).resolve("cgroup"), content);
    }

    private void inPod(long pid) throws Exception {
        writeCgroup(
                pid,
                "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
                        + POD_UID.replace('-', '_')
                        + ".slice/cri-containerd-"
                        + CONTAINER
                        + ".scope\n");
    }

    private K8sWorkloadAttestorConfig config(String nodeName, Path ca, int attempts) {
        return new K8sWorkloadAttestorConfig(
                0,
                kubelet.port(),
                false,
                ca,
                dir.resolve("token"),
                false,
                nodeName,
                attempts,
                Duration.ofMillis(100),
                false,
                true,
                false,
                proc);
    }

    private Caller caller() throws Exception {
        int pid = (int) workload.pid();
        return new Caller(pid, 0, 0, ProcessInfo.startTime(Path.of("/proc"), pid));
    }

    private List<String> attest(K8sWorkloadAttestorConfig c) throws Exception {
        return new K8sWorkloadAttestor(c)
                .attest(caller()).stream().map(Selector::toString).toList();
    }

    @Test
    void aPodsProcessGetsSpiresSelectorsFromTheSecureKubeletPort() throws Exception {
        inPod(workload.pid());
        kubelet.setPods(
                FakeKubelet.pod(
                        "istio-system",
                        "other",
                        "11111111-2222-3333-4444-555555555555",
                        "default",
                        "0000000000000000000000000000000000000000000000000000000000000000"),
                FakeKubelet.pod("default", "sleep-7d9c8b6f5-x2x9k", POD_UID, "sleep", CONTAINER));
        assertThat(attest(config("localhost", kubelet.writeCa(dir.resolve("ca.pem")), 3)))
                .containsExactlyInAnyOrder(
                        "k8s:sa:sleep",
                        "k8s:ns:default",
                        "k8s:node-name:node-1",
                        "k8s:pod-uid:" + POD_UID,
                        "k8s:pod-name:sleep-7d9c8b6f5-x2x9k",
                        "k8s:pod-image-count:1",
                        "k8s:pod-init-image-count:0",
                        "k8s:pod-image:docker.io/curlimages/curl:8.5.0",
                        "k8s:pod-image:docker.io/curlimages/curl@sha256:4bfa3e2c0164fb103fb9bfd4dc956facce32b6c5d47cc09fcec883ce9535d5ac",
                        "k8s:pod-label:app:sleep",
                        "k8s:pod-label:pod-template-hash:7d9c8b6f5",
                        "k8s:pod-owner:ReplicaSet:sleep-7d9c8b6f5",
                        "k8s:pod-owner-uid:ReplicaSet:6c9d7d7e-1b1c-4d3a-9d1e-0f6d2a9c8b7a",
                        "k8s:container-name:sleep",
                        "k8s:container-image:docker.io/curlimages/curl:8.5.0",
                        "k8s:container-image:docker.io/curlimages/curl@sha256:4bfa3e2c0164fb103fb9bfd4dc956facce32b6c5d47cc09fcec883ce9535d5ac");
        // Without a node name the kubelet is 127.0.0.1: the chain is still checked, not the host
        // name.
        assertThat(attest(config("", dir.resolve("ca.pem"), 1))).contains("k8s:pod-uid:" + POD_UID);
    }

    /**
     * cgroup v2 inside a cgroup namespace: {@code /proc/<pid>/cgroup} is just {@code 0::/}, and
     * only the cgroup2 mount's root in {@code mountinfo} names the pod and container. The new
     * locator (the default, as in SPIRE) finds them; the legacy one (use_new_container_locator =
     * false) cannot.
     */
    @Test
    void theNewLocatorFindsAPodInsideACgroupNamespaceThroughMountinfo() throws Exception {
        writeCgroup(workload.pid(), "0::/\n");
        Files.writeString(
                proc.resolve(Long.toString(workload.pid())).resolve("mountinfo"),
                "1200 1100 0:45 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n"
                        + "1201 1200 0:46 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
                        + "1202 1200 0:47 / /dev rw,nosuid - tmpfs  rw,size=65536k,mode=755\n"
                        + "1210 1200 0:30 /../../kubepods-besteffort.slice/kubepods-besteffort-pod"
                        + POD_UID.replace('-', '_')
                        + ".slice/cri-containerd-"
                        + CONTAINER
                        + ".scope /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate\n");
        kubelet.setPods(
                FakeKubelet.pod("default", "sleep-7d9c8b6f5-x2x9k", POD_UID, "sleep", CONTAINER));
        // Three attempts: on a loaded machine the JVM's first kubelet request (TLS set-up) can
        // exceed the 5 s request timeout, which a real agent retries too.
        K8sWorkloadAttestorConfig c =
                config("localhost", kubelet.writeCa(dir.resolve("ca.pem")), 3);
        assertThat(attest(c)).contains("k8s:pod-uid:" + POD_UID, "k8s:container-name:sleep");
        assertThat(attest(c.withNewContainerLocator(false))).isEmpty();
    }

    /**
     * The attack SPIRE's locator guards against: a workload bind-mounts another pod's cgroup so
     * that its mountinfo names that pod. The kernel-written cgroup file wins, so the workload is
     * attested as itself (its own container), never as the pod it impersonates.
     */
    @Test
    void aSpoofedMountinfoCannotImpersonateAnotherPod() throws Exception {
        String victimPod = "11111111-2222-3333-4444-555555555555";
        String victimContainer = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
        inPod(workload.pid());
        Files.writeString(
                proc.resolve(Long.toString(workload.pid())).resolve("mountinfo"),
                "1210 1200 0:30 /../../kubepods-besteffort.slice/kubepods-besteffort-pod"
                        + victimPod.replace('-', '_')
                        + ".slice/cri-containerd-"
                        + victimContainer
                        + ".scope /sys/fs/cgroup ro - cgroup2 cgroup rw\n");
        kubelet.setPods(
                FakeKubelet.pod("istio-system", "victim", victimPod, "istiod", victimContainer),
                FakeKubelet.pod("default", "sleep-7d9c8b6f5-x2x9k", POD_UID, "sleep", CONTAINER));
        List<String> selectors =
                attest(config("localhost", kubelet.writeCa(dir.resolve("ca.pem")), 1));
        assertThat(selectors)
                .contains("k8s:pod-uid:" + POD_UID, "k8s:sa:sleep")
                .doesNotContain("k8s:pod-uid:" + victimPod, "k8s:sa:istiod");
    }

    /**
     * Cgroup entries naming two containers are refused: no k8s selectors, and the kubelet is not
     * asked.
     */
    @Test
    void cgroupsNamingTwoContainersGiveNoSelectors() throws Exception {
        String other = "7654321089abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        writeCgroup(
                workload.pid(),
                "1:cpu:/kubepods/pod"
                        + POD_UID
                        + "/"
                        + CONTAINER
                        + "\n2:memory:/kubepods/pod"
                        + POD_UID
                        + "/"
                        + other
                        + "\n");
        kubelet.setPods(
                FakeKubelet.pod("default", "sleep-7d9c8b6f5-x2x9k", POD_UID, "sleep", CONTAINER));
        assertThat(attest(config("localhost", kubelet.writeCa(dir.resolve("ca.pem")), 1)))
                .isEmpty();
        assertThat(kubelet.requests()).isZero();
    }

    @Test
    void aContainerNotYetListedIsFoundOnALaterPoll() throws Exception {
        inPod(workload.pid());
        kubelet.setPods(
                FakeKubelet.pod("default", "sleep-7d9c8b6f5-x2x9k", POD_UID, "sleep", null));
        Thread starter =
                new Thread(
                        () -> {
                            // The container starts after the kubelet has answered twice without it.
                            await().atMost(Duration.ofSeconds(20))
                                    .pollInterval(Duration.ofMillis(10))
                                    .until(() -> kubelet.requests() >= 2);
                            kubelet.setPods(
                                    FakeKubelet.pod(
                                            "default",
                                            "sleep-7d9c8b6f5-x2x9k",
                                            POD_UID,
                                            "sleep",
                                            CONTAINER));
                        });
        starter.start();
        assertThat(attest(config("localhost", kubelet.writeCa(dir.resolve("ca.pem")), 20)))
                .contains("k8s:container-name:sleep");
        starter.join();
        assertThat(kubelet.requests()).isGreaterThan(2);
    }

    @Test
    void aContainerNeverListedGivesNoK8sSelectorsWithinTheDeadline() throws Exception {
        inPod(workload.pid());
        kubelet.setPods(
                FakeKubelet.pod("default", "sleep-7d9c8b6f5-x2x9k", POD_UID, "sleep", null));
        K8sWorkloadAttestorConfig c =
                config("localhost", kubelet.writeCa(dir.resolve("ca.pem")), 5);
        assertThat(attest(c)).isEmpty(); // first use loads the JSON model classes
        long t0 = System.nanoTime();
        assertThat(attest(c)).isEmpty();
        // 5 polls 100 ms apart: well under a second here; the bound only says the call ends.
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
        assertThat(kubelet.requests()).isEqualTo(10);
    }

    @Test
    void aProcessOutsideAnyPodGetsNoK8sSelectorsAndTheKubeletIsNotAsked() throws Exception {
        writeCgroup(workload.pid(), "0::/user.slice/user-1000.slice/session-2.scope\n");
        assertThat(attest(config("localhost", kubelet.writeCa(dir.resolve("ca.pem")), 3)))
                .isEmpty();
        assertThat(kubelet.requests()).isZero();
    }

    @Test
    void aKubeletImpostorOrAWrongTokenYieldsNoSelectors() throws Exception {
        inPod(workload.pid());
        kubelet.setPods(
                FakeKubelet.pod("default", "sleep-7d9c8b6f5-x2x9k", POD_UID, "sleep", CONTAINER));
        // The kubelet's certificate does not chain to the configured CA: nothing is read from it.
        Path otherCa = dir.resolve("other-ca.pem");
        io.mithril.pki.Pem.writeCertificates(
                otherCa,
                List.of(
                        HeldCertificate.builder()
                                .commonName("someone-else")
                                .ca()
                                .build()
                                .certificate()));
        assertThat(attest(config("localhost", otherCa, 2))).isEmpty();
        assertThat(attest(config("", otherCa, 2))).isEmpty();
        assertThat(kubelet.requests()).isZero();
        // A token the kubelet refuses (401): no selectors.
        Files.writeString(dir.resolve("token"), "not-the-token");
        assertThat(attest(config("localhost", kubelet.writeCa(dir.resolve("ca.pem")), 2)))
                .isEmpty();
        assertThat(kubelet.requests()).isEqualTo(2);
    }

    @Test
    void aCallerWhosePidWasReusedFails() throws Exception {
        inPod(workload.pid());
        kubelet.setPods(
                FakeKubelet.pod("default", "sleep-7d9c8b6f5-x2x9k", POD_UID, "sleep", CONTAINER));
        Caller stale = new Caller((int) workload.pid(), 0, 0, caller().startTime() - 1);
        K8sWorkloadAttestor a =
                new K8sWorkloadAttestor(
                        config("localhost", kubelet.writeCa(dir.resolve("ca.pem")), 1));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> a.attest(stale))
                .hasMessageContaining("names another process than the caller");
    }
}
