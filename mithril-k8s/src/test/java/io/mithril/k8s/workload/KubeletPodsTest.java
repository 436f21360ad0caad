package io.mithril.k8s.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** SPIRE's kubelet pod lists and cgroup files, with the selectors SPIRE's tests expect. */
class KubeletPodsTest {

    static final List<String> POD =
            List.of(
                    "node-name:k8s-node-1",
                    "ns:default",
                    "pod-image-count:2",
                    "pod-image:docker-pullable://localhost/spiffe/blog@sha256:0cfdaced91cb46dd7af48309799a3c351e4ca2d5e1ee9737ca0cbd932cb79898",
                    "pod-image:docker-pullable://localhost/spiffe/ghostunnel@sha256:b2fc20676c92a433b9a91f3f4535faddec0c2c3613849ac12f02c1d5cfcd4c3a",
                    "pod-image:localhost/spiffe/blog:latest",
                    "pod-image:localhost/spiffe/ghostunnel:latest",
                    "pod-init-image-count:0",
                    "pod-label:k8s-app:blog",
                    "pod-label:version:v0",
                    "pod-name:blog-24ck7",
                    "pod-owner-uid:ReplicationController:2c401175-b29f-11e7-9350-020968147796",
                    "pod-owner:ReplicationController:blog",
                    "pod-uid:2c48913c-b29f-11e7-9350-020968147796",
                    "sa:default");
    static final List<String> CONTAINER =
            List.of(
                    "container-image:docker-pullable://localhost/spiffe/blog@sha256:0cfdaced91cb46dd7af48309799a3c351e4ca2d5e1ee9737ca0cbd932cb79898",
                    "container-image:localhost/spiffe/blog:latest",
                    "container-name:blog");

    private static List<String> attest(
            String podList, String cgroups, boolean disableContainerSelectors) throws Exception {
        PodCgroups.Container c = PodCgroups.parse(SpireTestdata.read(cgroups)).orElseThrow();
        return KubeletPods.parse(SpireTestdata.read(podList))
                .selectorValues(c, disableContainerSelectors)
                .orElseThrow();
    }

    @Test
    void podAndContainerSelectorsCgroupfsAndSystemd() throws Exception {
        List<String> both = new java.util.ArrayList<>(POD);
        both.addAll(CONTAINER);
        assertThat(attest("pod_list.json", "cgroups_pid_in_pod.txt", false))
                .containsExactlyInAnyOrderElementsOf(both);
        assertThat(attest("pod_list.json", "systemd_cgroups_pid_in_pod.txt", false))
                .containsExactlyInAnyOrderElementsOf(both);
        assertThat(attest("pod_list.json", "cgroups_pid_in_pod.txt", true))
                .containsExactlyInAnyOrderElementsOf(POD);
    }

    @Test
    void initContainer() throws Exception {
        assertThat(attest("pod_list.json", "cgroups_init_pid_in_pod.txt", false))
                .containsExactlyInAnyOrder(
                        "container-image:docker-pullable://quay.io/coreos/flannel@sha256:1b401bf0c30bada9a539389c3be652b58fe38463361edf488e6543c8761d4970",
                        "container-image:quay.io/coreos/flannel:v0.9.0-amd64",
                        "container-name:install-cni",
                        "node-name:k8s-node-1",
                        "ns:kube-system",
                        "pod-image-count:1",
                        "pod-image:docker-pullable://quay.io/coreos/flannel@sha256:1b401bf0c30bada9a539389c3be652b58fe38463361edf488e6543c8761d4970",
                        "pod-image:quay.io/coreos/flannel:v0.9.0-amd64",
                        "pod-init-image-count:1",
                        "pod-init-image:docker-pullable://quay.io/coreos/flannel@sha256:1b401bf0c30bada9a539389c3be652b58fe38463361edf488e6543c8761d4970",
                        "pod-init-image:quay.io/coreos/flannel:v0.9.0-amd64",
                        "pod-label:app:flannel",
                        "pod-label:controller-revision-hash:1846323910",
                        "pod-label:pod-template-generation:1",
                        "pod-label:tier:node",
                        "pod-name:kube-flannel-ds-gp1g9",
                        "pod-owner-uid:DaemonSet:2f0350fc-b29d-11e7-9350-020968147796",
                        "pod-owner:DaemonSet:kube-flannel-ds",
                        "pod-uid:d488cae9-b2a0-11e7-9350-020968147796",
                        "sa:flannel");
    }

    @Test
    void kindAndCrio() throws Exception {
        List<String> kind =
                List.of(
                        "container-image:gcr.io/spiffe-io/spire-agent:0.8.1",
                        "container-image:gcr.io/spiffe-io/spire-agent@sha256:1e4c481d76e9ecbd3d8684891e0e46aa021a30920ca04936e1fdcc552747d941",
                        "container-name:workload-api-client",
                        "ns:default",
                        "pod-image-count:1",
                        "pod-image:gcr.io/spiffe-io/spire-agent:0.8.1",
                        "pod-image:gcr.io/spiffe-io/spire-agent@sha256:1e4c481d76e9ecbd3d8684891e0e46aa021a30920ca04936e1fdcc552747d941",
                        "pod-init-image-count:0",
                        "pod-label:app:sample-workload",
                        "pod-label:pod-template-hash:6658cb9566",
                        "pod-name:sample-workload-6658cb9566-5n4b4",
                        "pod-owner-uid:ReplicaSet:349d135e-3781-43e3-bc25-c900aedf1d0c",
                        "pod-owner:ReplicaSet:sample-workload-6658cb9566",
                        "pod-uid:a2830d0d-b0f0-4ff0-81b5-0ee4e299cf80",
                        "sa:default");
        assertThat(attest("kind_pod_list.json", "cgroups_pid_in_kind_pod.txt", false))
                .containsExactlyInAnyOrderElementsOf(concat(kind, "node-name:kind-control-plane"));
        assertThat(attest("crio_pod_list.json", "cgroups_pid_in_crio_pod.txt", false))
                .containsExactlyInAnyOrderElementsOf(
                        concat(kind, "node-name:a37b7d23-d32a-4932-8f33-40950ac16ee9", "ns:sfh-199")
                                .stream()
                                .filter(s -> !s.equals("ns:default"))
                                .toList());
        assertThat(attest("crio_pod_list.json", "systemd_crio_cgroups_pid_in_pod.txt", false))
                .containsExactlyInAnyOrderElementsOf(
                        concat(kind, "node-name:a37b7d23-d32a-4932-8f33-40950ac16ee9", "ns:sfh-199")
                                .stream()
                                .filter(s -> !s.equals("ns:default"))
                                .toList());
    }

    @Test
    void twoPodsClaimingOneContainerAreRefused() throws Exception {
        assertThatThrownBy(
                        () ->
                                attest(
                                        "crio_pod_list_duplicate_containerId.json",
                                        "cgroups_pid_in_crio_pod.txt",
                                        false))
                .hasMessage("two pods found with same container Id");
    }

    @Test
    void aContainerNotYetStartedIsNotFound() throws Exception {
        PodCgroups.Container c =
                PodCgroups.parse(SpireTestdata.read("cgroups_pid_in_pod.txt")).orElseThrow();
        assertThat(
                        KubeletPods.parse(SpireTestdata.read("pod_list_not_running.json"))
                                .selectorValues(c, false))
                .isEmpty();
    }

    private static List<String> concat(List<String> a, String... more) {
        List<String> out = new java.util.ArrayList<>(a);
        out.addAll(List.of(more));
        return out;
    }
}
