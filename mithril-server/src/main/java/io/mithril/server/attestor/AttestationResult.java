package io.mithril.server.attestor;

import io.mithril.api.selector.Selector;
import io.mithril.spiffe.id.SpiffeId;
import java.util.List;

/**
 * What an attestor vouches for.
 *
 * @param agentId the agent's SPIFFE ID
 * @param selectors node selectors (matched by node alias entries parented by the server)
 * @param reattestable whether the agent may attest again with the same evidence (x509pop) rather
 *     than only renew (join_token)
 */
public record AttestationResult(SpiffeId agentId, List<Selector> selectors, boolean reattestable) {
    public AttestationResult {
        selectors = List.copyOf(selectors);
    }
}
