package io.mithril.k8s.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvFileSource;
import org.junit.jupiter.params.provider.CsvSource;

/** SPIRE's own cgroup vectors (k8s_posix_test.go and testdata/), with SPIRE's expected answers. */
class PodCgroupsTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            without QOS | /kubepods/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961 | 2c48913c-b29f-11e7-9350-020968147796 | 9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
            with QOS | /kubepods/burstable/pod2c48913c-b29f-11e7-9350-020968147796/34a2062fd26c805aa8cf814cdfe479322b791f80afb9ea4db02d50375df14b41 | 2c48913c-b29f-11e7-9350-020968147796 | 34a2062fd26c805aa8cf814cdfe479322b791f80afb9ea4db02d50375df14b41
            docker for desktop with QOS | /kubepods/kubepods/besteffort/pod6bd2a4d3-a55a-4450-b6fd-2a7ecc72c904/a55d9ac3b312d8a2627824b6d6dd8af66fbec439bf4e0ec22d6d9945ad337a38 | 6bd2a4d3-a55a-4450-b6fd-2a7ecc72c904 | a55d9ac3b312d8a2627824b6d6dd8af66fbec439bf4e0ec22d6d9945ad337a38
            kind with QOS | /docker/93529524695bb00d91c1f6dba692ea8d3550c3b94fb2463af7bc9ec82f992d26/kubepods/besteffort/poda2830d0d-b0f0-4ff0-81b5-0ee4e299cf80/09bc3d7ade839efec32b6bec4ec79d099027a668ddba043083ec21d3c3b8f1e6 | a2830d0d-b0f0-4ff0-81b5-0ee4e299cf80 | 09bc3d7ade839efec32b6bec4ec79d099027a668ddba043083ec21d3c3b8f1e6
            systemd with QOS and container runtime | /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2c48913c-b29f-11e7-9350-020968147796.slice/docker-9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961.scope | 2c48913c-b29f-11e7-9350-020968147796 | 9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
            from a different cgroup namespace | /../../../burstable/pod095e82d2-713c-467a-a18a-cbb50a075296/6d1234da0f5aa7fa0ccae4c7d2d109929eb9a81694e6357bcd4547ab3985911b | 095e82d2-713c-467a-a18a-cbb50a075296 | 6d1234da0f5aa7fa0ccae4c7d2d109929eb9a81694e6357bcd4547ab3985911b
            not kubepods | /something/poda2830d0d-b0f0-4ff0-81b5-0ee4e299cf80/09bc3d7ade839efec32b6bec4ec79d099027a668ddba043083ec21d3c3b8f1e6 | a2830d0d-b0f0-4ff0-81b5-0ee4e299cf80 | 09bc3d7ade839efec32b6bec4ec79d099027a668ddba043083ec21d3c3b8f1e6
            just pod uid and container | /poda2830d0d-b0f0-4ff0-81b5-0ee4e299cf80/09bc3d7ade839efec32b6bec4ec79d099027a668ddba043083ec21d3c3b8f1e6 | a2830d0d-b0f0-4ff0-81b5-0ee4e299cf80 | 09bc3d7ade839efec32b6bec4ec79d099027a668ddba043083ec21d3c3b8f1e6
            just container segment | /09bc3d7ade839efec32b6bec4ec79d099027a668ddba043083ec21d3c3b8f1e6 | |
            no container segment | /kubepods/poda2830d0d-b0f0-4ff0-81b5-0ee4e299cf80 | |
            no pod uid segment | /kubepods/09bc3d7ade839efec32b6bec4ec79d099027a668ddba043083ec21d3c3b8f1e6 | |
            cri-containerd | /kubepods-besteffort-pod72f7f152_440c_66ac_9084_e0fc1d8a910c.slice:cri-containerd:b2a102854b4969b2ce98dc329c86b4fb2b06e4ad2cc8da9d8a7578c9cd2004a2 | 72f7f152-440c-66ac-9084-e0fc1d8a910c | b2a102854b4969b2ce98dc329c86b4fb2b06e4ad2cc8da9d8a7578c9cd2004a2
            cri-o in combination with kubeedge | 0::/../crio-45490e76e0878aaa4d9808f7d2eefba37f093c3efbba9838b6d8ab804d9bd814.scope | '' | 45490e76e0878aaa4d9808f7d2eefba37f093c3efbba9838b6d8ab804d9bd814
            """)
    void spiresCgroupPathVectors(String name, String path, String podUid, String containerId) {
        SpireTestdata.assertContainer(PodCgroups.fromPath(path), podUid, containerId);
    }

    /**
     * SPIRE's k8s attestor cgroup files, with the pod and container its k8s_posix_test.go expects.
     */
    @ParameterizedTest(name = "{0}")
    @CsvFileSource(resources = "/spire-k8s-expected.csv", delimiter = '|', numLinesToSkip = 1)
    void spiresCgroupFiles(String file, String podUid, String containerId) throws Exception {
        SpireTestdata.assertContainer(
                PodCgroups.parse(SpireTestdata.read(file)), podUid, containerId);
    }

    @Test
    void aProcessOutsideAPodHasNoContainer() throws Exception {
        assertThat(PodCgroups.parse(SpireTestdata.read("cgroups_pid_not_in_pod.txt"))).isEmpty();
        assertThat(PodCgroups.parse("")).isEmpty();
    }

    @Test
    void twoContainersOrTwoPodsAreRefused() {
        assertThatThrownBy(
                        () ->
                                PodCgroups.parse(
                                        """
                1:name=systemd:/user.slice
                2:cpu:/kubepods/pod2c48913c-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
                3:memory:/kubepods/kubepods/besteffort/pod2c48913c-b29f-11e7-9350-020968147796/a55d9ac3b312d8a2627824b6d6dd8af66fbec439bf4e0ec22d6d9945ad337a38
                """))
                .hasMessage(
                        "multiple container IDs found in cgroups (9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961, "
                                + "a55d9ac3b312d8a2627824b6d6dd8af66fbec439bf4e0ec22d6d9945ad337a38)");
        assertThatThrownBy(
                        () ->
                                PodCgroups.parse(
                                        """
                2:cpu:/kubepods/pod11111111-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
                3:memory:/kubepods/kubepods/besteffort/pod22222222-b29f-11e7-9350-020968147796/9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961
                """))
                .hasMessage(
                        "multiple pod UIDs found in cgroups (11111111-b29f-11e7-9350-020968147796, 22222222-b29f-11e7-9350-020968147796)");
        assertThatThrownBy(() -> PodCgroups.parse("no colons here\n"))
                .hasMessageContaining("invalid cgroup entry");
    }
}
