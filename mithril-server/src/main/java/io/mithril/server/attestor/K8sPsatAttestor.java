package io.mithril.server.attestor;

import io.mithril.api.selector.Selector;
import io.mithril.k8s.psat.PsatAgent;
import io.mithril.k8s.psat.PsatRefusal;
import io.mithril.k8s.psat.PsatVerifier;
import io.mithril.spiffe.id.TrustDomain;
import java.util.List;

/**
 * {@code NodeAttestor "k8s_psat"}: the agent presents its projected service-account token; the
 * cluster's TokenReview API must authenticate it for the configured audience and a service account
 * on the allow list; the agent's pod and node are read from the API server. Agent ID: {@code
 * spiffe://<td>/spire/agent/k8s_psat/<cluster>/<node UID>}; selectors {@code k8s_psat:cluster},
 * {@code agent_ns}, {@code agent_sa}, {@code agent_pod_name}, {@code agent_pod_uid}, {@code
 * agent_node_ip}, {@code agent_node_name}, {@code agent_node_uid}, {@code agent_node_label}, {@code
 * agent_pod_label} (see {@link PsatVerifier}). An agent may attest again with a fresh token, as in
 * SPIRE.
 */
public final class K8sPsatAttestor implements NodeAttestor, AutoCloseable {

    public static final String TYPE = PsatVerifier.PLUGIN;

    private final TrustDomain trustDomain;
    private final PsatVerifier verifier;

    public K8sPsatAttestor(TrustDomain trustDomain, PsatVerifier verifier) {
        this.trustDomain = trustDomain;
        this.verifier = verifier;
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Step begin(byte[] payload) throws AttestationException {
        PsatAgent agent;
        try {
            agent = verifier.verify(payload);
        } catch (PsatRefusal e) {
            throw new AttestationException(TYPE + ": " + e.getMessage());
        }
        List<Selector> selectors =
                agent.selectorValues().stream().map(v -> new Selector(TYPE, v)).toList();
        try {
            return new Done(
                    new AttestationResult(
                            trustDomain.spiffeId(agent.agentPath()), selectors, true));
        } catch (IllegalArgumentException e) {
            throw new AttestationException(
                    TYPE
                            + ": the agent ID path "
                            + agent.agentPath()
                            + " is not a valid SPIFFE ID path: "
                            + e.getMessage());
        }
    }

    @Override
    public void close() {
        verifier.close();
    }
}
