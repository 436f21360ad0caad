package io.mithril.k8s.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvFileSource;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * SPIRE's tests of its new container locator, ported with SPIRE's expected answers:
 * pkg/common/containerinfo/extract_test.go (TestExtractPodUIDAndContainerID: 11 cases,
 * TestExtractContainerID: 12 cases) and mountinfo_test.go (TestParseMountInfoLine: 6,
 * TestParseMountInfo: 1) over their testdata (src/test/resources/spire-containerinfo-testdata), and
 * the k8s attestor's cgroup fixtures, which SPIRE's k8s_posix_test.go runs with the new locator
 * (7).
 */
class ContainerLocatorTest {

    private static final String POD = "00000000-1111-2222-3333-444444444444";
    private static final String CONTAINER =
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private static ContainerLocator locator(String dir) throws URISyntaxException {
        Path root =
                Path.of(
                                ContainerLocatorTest.class
                                        .getResource("/spire-containerinfo-testdata")
                                        .toURI())
                        .resolve(dir)
                        .resolve("proc");
        return new ContainerLocator(root, true);
    }

    // TestExtractPodUIDAndContainerID: found cases ('' pod UID = found without a pod UID; no
    // container = not found).
    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            cgroups v1 | k8s/v1 | 00000000-1111-2222-3333-444444444444 | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            cgroups v2 | k8s/v2 | 00000000-1111-2222-3333-444444444444 | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            no cgroup mount | k8s/no-cgroup-mount | |
            cgroup mount does not match expected format | other/malformed | |
            ignore non-pod UID entry after pod UID found | k8s/pod-uid-override | 00000000-1111-2222-3333-444444444444 | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            neither cgroup nor mountinfo exist | does-not-exist | |
            extracts from cgroup file | other/cgroup-primary | '' | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            falls back to mountinfo | other/mountinfo-fallback | 00000000-1111-2222-3333-444444444444 | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            cgroup takes priority over spoofed mountinfo | other/mountinfo-impersonation | '' | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            """)
    void extractPodUidAndContainerId(String name, String dir, String podUid, String containerId)
            throws Exception {
        SpireTestdata.assertContainer(locator(dir).podUidAndContainerId(123), podUid, containerId);
    }

    // TestExtractPodUIDAndContainerID: refusals.
    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            pod UID conflict | k8s/pod-uid-conflict | multiple pod UIDs found
            container ID conflict | k8s/container-id-conflict | multiple container IDs found
            """)
    void extractPodUidAndContainerIdRefusals(String name, String dir, String error)
            throws Exception {
        ContainerLocator l = locator(dir);
        assertThatThrownBy(() -> l.podUidAndContainerId(123))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(error);
    }

    // TestExtractContainerID (GetContainerID: no pod UID is looked for).
    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            cgroups v1 | docker/v1 | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            cgroups v2 | docker/v2 | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            no cgroup mount | docker/no-cgroup-mount |
            cgroup mount does not match expected format | other/malformed |
            neither cgroup nor mountinfo exist | does-not-exist |
            extracts from cgroup file | other/cgroup-primary | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            falls back to mountinfo | other/mountinfo-fallback | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            cgroup takes priority over spoofed mountinfo | other/mountinfo-impersonation | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            has multiple cgroup mounts on slash v1 | docker/cgroup-mount-at-slash/v1 | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            has multiple cgroup mounts on slash v2 | docker/cgroup-mount-at-slash/v2 | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            tolerates tmpfs mount with empty source | docker/tmpfs-empty-source | 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            """)
    void extractContainerId(String name, String dir, String containerId) throws Exception {
        Optional<String> got = locator(dir).containerId(123);
        if (containerId == null) {
            assertThat(got).isEmpty();
        } else {
            assertThat(got).contains(containerId);
        }
    }

    // TestExtractContainerID's "container ID conflict" (SPIRE calls GetPodUIDAndContainerID there).
    @Test
    void extractContainerIdConflict() throws Exception {
        ContainerLocator l = locator("docker/container-id-conflict");
        assertThatThrownBy(() -> l.podUidAndContainerId(123))
                .hasMessageContaining("multiple container IDs found");
        assertThatThrownBy(() -> l.containerId(123))
                .hasMessageContaining("multiple container IDs found");
    }

    // TestParseMountInfoLine.
    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '`',
            ignoreLeadingAndTrailingWhitespace = false,
            textBlock =
                    """
            normal cgroup2 line|1543 1542 0:32 /some/root /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate|/some/root|cgroup2|
            optional fields before separator|573 572 0:33 /docker/abc /sys/fs/cgroup/systemd ro,nosuid,nodev,noexec,relatime master:11 - cgroup cgroup rw,name=systemd|/docker/abc|cgroup|
            tmpfs with empty source|119 206 0:68 / /local rw,relatime - tmpfs  rw,size=8192k|/|tmpfs|
            missing separator|1543 1542 0:32 /some/root /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime cgroup2 cgroup rw|||missing separator
            too few fields before separator|1543 1542 0:32 - cgroup2 cgroup rw|||expected at least 6 fields before separator
            missing filesystem type after separator|`1543 1542 0:32 /some/root /sys/fs/cgroup rw - `|||missing filesystem type
            """)
    void parseMountInfoLine(String name, String line, String root, String type, String error) {
        if (error != null) {
            assertThatThrownBy(() -> ContainerLocator.parseMountInfoLine(line))
                    .hasMessageContaining(error);
        } else {
            assertThat(ContainerLocator.parseMountInfoLine(line))
                    .isEqualTo(new ContainerLocator.MountInfo(root, type));
        }
    }

    // TestParseMountInfo.
    @Test
    void parseMountInfo(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("mountinfo");
        Files.writeString(
                file,
                "2356 2355 0:30 /../containerid /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw\n"
                        + "119 206 0:68 / /local rw,relatime - tmpfs  rw,size=8192k\n");
        assertThat(ContainerLocator.parseMountInfo(Files.readString(file), file))
                .containsExactly(
                        new ContainerLocator.MountInfo("/../containerid", "cgroup2"),
                        new ContainerLocator.MountInfo("/", "tmpfs"));
    }

    // k8s_posix_test.go's attestation fixtures, which SPIRE runs through the new locator (the same
    // table PodCgroupsTest runs through the legacy one).
    @ParameterizedTest(name = "{0}")
    @CsvFileSource(resources = "/spire-k8s-expected.csv", delimiter = '|', numLinesToSkip = 1)
    void spiresK8sCgroupFixtures(String file, String podUid, String containerId, @TempDir Path proc)
            throws Exception {
        Files.createDirectories(proc.resolve("7"));
        Files.writeString(proc.resolve("7/cgroup"), SpireTestdata.read(file));
        SpireTestdata.assertContainer(
                new ContainerLocator(proc, false).podUidAndContainerId(7), podUid, containerId);
    }

    @Test
    void aMalformedCgroupLineIsRefusedWithFileAndLine(@TempDir Path proc) throws Exception {
        Files.createDirectories(proc.resolve("7"));
        Files.writeString(proc.resolve("7/cgroup"), "0::/\nnot-a-cgroup-line\n");
        assertThatThrownBy(() -> new ContainerLocator(proc, false).podUidAndContainerId(7))
                .hasMessageContaining(
                        "7/cgroup:2: invalid cgroup entry, contains 1 colon separated fields");
    }

    @Test
    void cgroupV2InsideACgroupNamespaceFallsBackToTheMountRoot(@TempDir Path proc)
            throws Exception {
        // What a containerd pod on a systemd/cgroup v2 node shows: 0::/ and a mount root climbing
        // out of the namespace.
        Files.createDirectories(proc.resolve("9"));
        Files.writeString(proc.resolve("9/cgroup"), "0::/\n");
        Files.writeString(
                proc.resolve("9/mountinfo"),
                "1 0 0:1 / / rw - overlay overlay rw\n"
                        + "2 1 0:2 /../../kubepods-burstable.slice/kubepods-burstable-pod"
                        + POD.replace('-', '_')
                        + ".slice/cri-containerd-"
                        + CONTAINER
                        + ".scope /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw\n");
        assertThat(new ContainerLocator(proc, false).podUidAndContainerId(9))
                .contains(new PodCgroups.Container(POD, CONTAINER));
        // A 64-hex run inside a longer word is not a container ID (Go's \b).
        Files.writeString(
                proc.resolve("9/mountinfo"),
                "2 1 0:2 /pod"
                        + POD
                        + "/x"
                        + CONTAINER
                        + " /sys/fs/cgroup ro - cgroup2 cgroup rw\n");
        assertThat(new ContainerLocator(proc, false).podUidAndContainerId(9)).isEmpty();
    }
}
