package io.mithril.k8s.psat;

import java.util.List;

/**
 * An agent that {@code k8s_psat} vouched for.
 *
 * @param agentPath the path of its agent ID: {@code /spire/agent/k8s_psat/<cluster>/<node UID>} (or
 *     {@code .../pod/<pod UID>} with {@code use_pod_uid_for_agent_id})
 * @param selectorValues SPIRE's selector values, without the {@code k8s_psat} type ({@code
 *     cluster:<name>}, {@code agent_ns:<ns>}, ...)
 */
public record PsatAgent(
        String cluster,
        String namespace,
        String serviceAccount,
        String podName,
        String podUid,
        String nodeName,
        String nodeUid,
        String nodeIp,
        String agentPath,
        List<String> selectorValues) {
    public PsatAgent {
        selectorValues = List.copyOf(selectorValues);
    }
}
