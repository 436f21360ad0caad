package io.mithril.k8s.psat;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.mithril.k8s.KubeClients;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The server side of {@code k8s_psat}, as SPIRE's plugin does it: the agent's projected
 * service-account token is sent to the cluster's TokenReview API with the configured audiences; the
 * token must be authenticated, valid for one of the audiences, and bound to a service account on
 * the allow list and to a pod; the pod and its node are then read from the API server, and the
 * agent gets its ID and selectors from them.
 */
public final class PsatVerifier implements AutoCloseable {

    public static final String PLUGIN = "k8s_psat";
    static final String POD_NAME_KEY = "authentication.kubernetes.io/pod-name";
    static final String POD_UID_KEY = "authentication.kubernetes.io/pod-uid";

    private record Cluster(PsatClusterConfig config, KubernetesClient client) {}

    private final Map<String, Cluster> clusters = new LinkedHashMap<>();

    /**
     * @param clients makes the API client of each cluster (tests point it at their API server)
     */
    public PsatVerifier(
            List<PsatClusterConfig> configs,
            Function<PsatClusterConfig, KubernetesClient> clients) {
        try {
            for (PsatClusterConfig c : configs) {
                clusters.put(c.name(), new Cluster(c, clients.apply(c)));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Clients from each cluster's {@code kube_config_file}, or the in-cluster configuration. */
    public static PsatVerifier connect(List<PsatClusterConfig> configs) {
        return new PsatVerifier(
                configs,
                c ->
                        KubeClients.create(
                                c.kubeConfigFile(),
                                "NodeAttestor \"k8s_psat\" cluster \"" + c.name() + "\""));
    }

    /** The configured cluster names. */
    public List<String> clusterNames() {
        return List.copyOf(clusters.keySet());
    }

    /**
     * Attests an agent from its payload.
     *
     * @throws PsatRefusal saying why, in SPIRE's words (unauthenticated token, audience not
     *     validated, service account not allowed, pod UID mismatch, ...)
     */
    public PsatAgent verify(byte[] payload) throws PsatRefusal {
        PsatAttestationData data;
        try {
            data = PsatAttestationData.parse(payload);
        } catch (IllegalArgumentException e) {
            throw new PsatRefusal(e.getMessage());
        }
        Cluster cluster = clusters.get(data.cluster());
        if (cluster == null) {
            throw new PsatRefusal("not configured for cluster \"" + data.cluster() + "\"");
        }
        String name = "\"" + data.cluster() + "\"";
        TokenReviewStatus status = review(cluster, data.token(), name);
        if (!Boolean.TRUE.equals(status.getAuthenticated())) {
            throw new PsatRefusal(
                    "token not authenticated according to TokenReview API for cluster " + name);
        }
        String username = status.getUser() == null ? null : status.getUser().getUsername();
        String[] names = username == null ? new String[0] : username.split(":", -1);
        if (names.length != 4
                || !names[0].equals("system")
                || !names[1].equals("serviceaccount")
                || names[2].isEmpty()
                || names[3].isEmpty()) {
            throw new PsatRefusal(
                    "failed to parse username from token review status for cluster "
                            + name
                            + ": \""
                            + username
                            + "\" is not system:serviceaccount:<namespace>:<name>");
        }
        String namespace = names[2];
        String serviceAccount = names[3];
        String full = namespace + ":" + serviceAccount;
        if (!cluster.config().serviceAccountAllowList().contains(full)) {
            throw new PsatRefusal(
                    "\"" + full + "\" is not an allowed service account for cluster " + name);
        }
        String podName = extra(status, POD_NAME_KEY, "pod name", name);
        String podUid = extra(status, POD_UID_KEY, "pod UID", name);
        Pod pod;
        Node node;
        try {
            pod = cluster.client().pods().inNamespace(namespace).withName(podName).get();
            if (pod == null) {
                throw new PsatRefusal(
                        "failed to get pod from k8s API server for cluster "
                                + name
                                + ": pod "
                                + namespace
                                + "/"
                                + podName
                                + " not found");
            }
            if (!podUid.equals(pod.getMetadata().getUid())) {
                throw new PsatRefusal(
                        "pod UID mismatch for pod \""
                                + podName
                                + "\" in cluster "
                                + name
                                + ": token bound to pod UID \""
                                + podUid
                                + "\"");
            }
            String nodeName = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
            if (nodeName == null || nodeName.isEmpty()) {
                throw new PsatRefusal(
                        "failed to get node from k8s API server for cluster "
                                + name
                                + ": pod "
                                + podName
                                + " is not scheduled on a node");
            }
            node = cluster.client().nodes().withName(nodeName).get();
            if (node == null) {
                throw new PsatRefusal(
                        "failed to get node from k8s API server for cluster "
                                + name
                                + ": node "
                                + nodeName
                                + " not found");
            }
        } catch (KubernetesClientException e) {
            throw new PsatRefusal(
                    "failed to read the agent's pod or node from the k8s API server for cluster "
                            + name
                            + ": "
                            + e.getMessage());
        }
        String nodeUid = node.getMetadata().getUid();
        if (nodeUid == null || nodeUid.isEmpty()) {
            throw new PsatRefusal("node UID is empty for cluster " + name);
        }
        String nodeName = pod.getSpec().getNodeName();
        String hostIp =
                pod.getStatus() == null || pod.getStatus().getHostIP() == null
                        ? ""
                        : pod.getStatus().getHostIP();
        List<String> selectors =
                new ArrayList<>(
                        List.of(
                                "cluster:" + data.cluster(),
                                "agent_ns:" + namespace,
                                "agent_sa:" + serviceAccount,
                                "agent_pod_name:" + podName,
                                "agent_pod_uid:" + podUid,
                                "agent_node_ip:" + hostIp,
                                "agent_node_name:" + nodeName,
                                "agent_node_uid:" + nodeUid));
        new TreeMap<>(labels(node.getMetadata().getLabels()))
                .forEach(
                        (k, v) -> {
                            if (cluster.config().allowedNodeLabelKeys().contains(k)) {
                                selectors.add("agent_node_label:" + k + ":" + v);
                            }
                        });
        new TreeMap<>(labels(pod.getMetadata().getLabels()))
                .forEach(
                        (k, v) -> {
                            if (cluster.config().allowedPodLabelKeys().contains(k)) {
                                selectors.add("agent_pod_label:" + k + ":" + v);
                            }
                        });
        String suffix = cluster.config().usePodUidForAgentId() ? "pod/" + podUid : nodeUid;
        return new PsatAgent(
                data.cluster(),
                namespace,
                serviceAccount,
                podName,
                podUid,
                nodeName,
                nodeUid,
                hostIp,
                "/spire/agent/" + PLUGIN + "/" + data.cluster() + "/" + suffix,
                selectors);
    }

    private static Map<String, String> labels(Map<String, String> l) {
        return l == null ? Map.of() : l;
    }

    private static TokenReviewStatus review(Cluster cluster, String token, String name)
            throws PsatRefusal {
        List<String> audiences = cluster.config().audience();
        TokenReview request =
                new TokenReviewBuilder()
                        .withNewSpec()
                        .withToken(token)
                        .withAudiences(audiences)
                        .endSpec()
                        .build();
        TokenReview response;
        try {
            response = cluster.client().resource(request).create();
        } catch (KubernetesClientException e) {
            throw new PsatRefusal(
                    "unable to validate token with TokenReview API for cluster "
                            + name
                            + ": unable to query token review API: "
                            + e.getMessage());
        }
        TokenReviewStatus status = response == null ? null : response.getStatus();
        if (status == null) {
            throw new PsatRefusal(
                    "unable to validate token with TokenReview API for cluster "
                            + name
                            + ": the response has no status");
        }
        if (status.getError() != null && !status.getError().isEmpty()) {
            throw new PsatRefusal(
                    "unable to validate token with TokenReview API for cluster "
                            + name
                            + ": token review API response contains an error: "
                            + status.getError());
        }
        if (Boolean.TRUE.equals(status.getAuthenticated()) && !audiences.isEmpty()) {
            List<String> got = status.getAudiences() == null ? List.of() : status.getAudiences();
            if (audiences.stream().noneMatch(got::contains)) {
                throw new PsatRefusal(
                        "unable to validate token with TokenReview API for cluster "
                                + name
                                + ": token review API did not validate audience: wanted one of "
                                + audiences
                                + " but got "
                                + got);
            }
        }
        return status;
    }

    private static String extra(TokenReviewStatus status, String key, String what, String name)
            throws PsatRefusal {
        Map<String, List<String>> extra = status.getUser().getExtra();
        List<String> v = extra == null ? null : extra.get(key);
        if (v == null || v.size() != 1 || v.get(0) == null || v.get(0).isEmpty()) {
            throw new PsatRefusal(
                    "failed to get "
                            + what
                            + " from token review status for cluster "
                            + name
                            + ": expected exactly one "
                            + key
                            + " (is the token a projected service account token bound to a pod?)");
        }
        return v.get(0);
    }

    @Override
    public void close() {
        for (Cluster c : clusters.values()) {
            c.client().close();
        }
    }
}
