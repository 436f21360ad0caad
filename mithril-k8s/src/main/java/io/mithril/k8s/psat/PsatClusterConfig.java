package io.mithril.k8s.psat;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * One entry of {@code NodeAttestor "k8s_psat"}'s {@code clusters} map, with SPIRE's keys.
 *
 * @param name the key in {@code clusters}; the agent names it with its {@code cluster} setting
 * @param serviceAccountAllowList {@code service_account_allow_list}: {@code "<namespace>:<name>"}
 * @param audience {@code audience}: the audiences the token must be valid for (SPIRE's default
 *     {@code ["spire-server"]}); empty means the API server's own audience
 * @param kubeConfigFile {@code kube_config_file}, or null for the in-cluster configuration
 * @param allowedNodeLabelKeys {@code allowed_node_label_keys}: node labels that become selectors
 * @param allowedPodLabelKeys {@code allowed_pod_label_keys}: pod labels that become selectors
 * @param usePodUidForAgentId {@code use_pod_uid_for_agent_id}: the agent ID ends with {@code
 *     pod/<pod UID>} instead of the node UID
 */
public record PsatClusterConfig(
        String name,
        List<String> serviceAccountAllowList,
        List<String> audience,
        Path kubeConfigFile,
        List<String> allowedNodeLabelKeys,
        List<String> allowedPodLabelKeys,
        boolean usePodUidForAgentId) {

    /** SPIRE's default audience. */
    public static final List<String> DEFAULT_AUDIENCE = List.of("spire-server");

    public PsatClusterConfig {
        Objects.requireNonNull(name, "name");
        serviceAccountAllowList = List.copyOf(serviceAccountAllowList);
        audience = audience == null ? DEFAULT_AUDIENCE : List.copyOf(audience);
        allowedNodeLabelKeys = List.copyOf(allowedNodeLabelKeys);
        allowedPodLabelKeys = List.copyOf(allowedPodLabelKeys);
        if (serviceAccountAllowList.isEmpty()) {
            throw new IllegalArgumentException(
                    "cluster \""
                            + name
                            + "\" configuration must have at least one service account allowed");
        }
        for (String sa : serviceAccountAllowList) {
            int colon = sa.indexOf(':');
            if (colon <= 0 || colon == sa.length() - 1 || sa.indexOf(':', colon + 1) >= 0) {
                throw new IllegalArgumentException(
                        "cluster \""
                                + name
                                + "\": service_account_allow_list entry \""
                                + sa
                                + "\" must be \"<namespace>:<service account>\" (e.g. \"spire:spire-agent\")");
            }
        }
    }
}
