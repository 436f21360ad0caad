package io.mithril.k8s.workload;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodList;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The kubelet's {@code /pods} answer (a {@code PodList}) and SPIRE's {@code k8s} selector values
 * for the pod and container that hold a workload.
 */
public final class KubeletPods {

    private final List<Pod> pods;

    private KubeletPods(List<Pod> pods) {
        this.pods = pods;
    }

    /**
     * @throws IllegalArgumentException when the text is not a pod list
     */
    public static KubeletPods parse(String json) {
        try {
            PodList list = Serialization.unmarshal(json, PodList.class);
            return new KubeletPods(
                    list == null || list.getItems() == null ? List.of() : list.getItems());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(
                    "unable to decode pod info from kubelet response: " + e.getMessage(), e);
        }
    }

    /**
     * The selector values for a container, as SPIRE gives them: pod selectors, then (unless {@code
     * disableContainerSelectors}) {@code container-name} and {@code container-image}. When the
     * container is not (yet) listed but its pod is known and container selectors are disabled, the
     * pod's selectors.
     *
     * @return empty when no pod holds the container
     * @throws IllegalStateException when two pods claim the container ID
     */
    public Optional<List<String>> selectorValues(
            PodCgroups.Container c, boolean disableContainerSelectors) {
        List<String> result = null;
        for (Pod pod : pods) {
            if (!c.podUid().isEmpty() && !c.podUid().equals(pod.getMetadata().getUid())) {
                continue;
            }
            List<String> values = new ArrayList<>();
            Optional<ContainerStatus> status = container(pod, c.containerId());
            if (status.isPresent()) {
                values.addAll(podValues(pod));
                if (!disableContainerSelectors) {
                    values.add("container-name:" + status.get().getName());
                    for (String image : images(List.of(status.get()))) {
                        values.add("container-image:" + image);
                    }
                }
            } else if (!c.podUid().isEmpty() && disableContainerSelectors) {
                values.addAll(podValues(pod));
            }
            if (!values.isEmpty()) {
                if (result != null) {
                    throw new IllegalStateException("two pods found with same container Id");
                }
                result = values;
            }
        }
        return Optional.ofNullable(result);
    }

    private static Optional<ContainerStatus> container(Pod pod, String containerId) {
        if (pod.getStatus() == null) {
            return Optional.empty();
        }
        List<ContainerStatus> all =
                new ArrayList<>(nonNull(pod.getStatus().getContainerStatuses()));
        all.addAll(nonNull(pod.getStatus().getInitContainerStatuses()));
        for (ContainerStatus s : all) {
            String id = s.getContainerID();
            if (id == null || id.isEmpty()) {
                continue; // not started yet
            }
            int sep = id.indexOf("://");
            String host = sep < 0 ? "" : id.substring(sep + 3);
            if (containerId.equals(host)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    private static List<String> podValues(Pod pod) {
        List<ContainerStatus> containers =
                pod.getStatus() == null
                        ? List.of()
                        : nonNull(pod.getStatus().getContainerStatuses());
        List<ContainerStatus> inits =
                pod.getStatus() == null
                        ? List.of()
                        : nonNull(pod.getStatus().getInitContainerStatuses());
        List<String> v =
                new ArrayList<>(
                        List.of(
                                "sa:" + pod.getSpec().getServiceAccountName(),
                                "ns:" + pod.getMetadata().getNamespace(),
                                "node-name:" + pod.getSpec().getNodeName(),
                                "pod-uid:" + pod.getMetadata().getUid(),
                                "pod-name:" + pod.getMetadata().getName(),
                                "pod-image-count:" + containers.size(),
                                "pod-init-image-count:" + inits.size()));
        images(containers).forEach(i -> v.add("pod-image:" + i));
        images(inits).forEach(i -> v.add("pod-init-image:" + i));
        Map<String, String> labels = pod.getMetadata().getLabels();
        if (labels != null) {
            labels.forEach((k, val) -> v.add("pod-label:" + k + ":" + val));
        }
        for (OwnerReference o : nonNull(pod.getMetadata().getOwnerReferences())) {
            v.add("pod-owner:" + o.getKind() + ":" + o.getName());
            v.add("pod-owner-uid:" + o.getKind() + ":" + o.getUid());
        }
        return v;
    }

    /** SPIRE gives both the image ({@code repo:tag}) and the image ID ({@code repo@sha256:..}). */
    private static Set<String> images(List<ContainerStatus> statuses) {
        Set<String> out = new LinkedHashSet<>();
        for (ContainerStatus s : statuses) {
            out.add(s.getImageID());
            out.add(s.getImage());
        }
        return out;
    }

    private static <T> List<T> nonNull(List<T> l) {
        return l == null ? List.of() : l;
    }
}
