package io.mithril.server.datastore;

import io.mithril.api.selector.Selector;
import io.mithril.spiffe.id.SpiffeId;
import java.util.List;

/**
 * An attested agent (node) as the datastore keeps it.
 *
 * @param spiffeId the agent ID, e.g. {@code spiffe://example.org/spire/agent/join_token/<token>}
 * @param attestationType the node attestor that vouched for it ({@code join_token}, {@code
 *     x509pop})
 * @param serialNumber decimal serial of the current agent SVID
 * @param expiresAt unix seconds when the current agent SVID expires
 * @param banned whether the agent was evicted and banned (refused until deleted)
 * @param selectors node selectors the attestor produced
 * @param createdAt unix seconds of the first attestation
 */
public record AttestedNode(
        SpiffeId spiffeId,
        String attestationType,
        String serialNumber,
        long expiresAt,
        boolean banned,
        List<Selector> selectors,
        long createdAt) {
    public AttestedNode {
        selectors = List.copyOf(selectors);
    }

    public AttestedNode withSvid(String serial, long expires) {
        return new AttestedNode(
                spiffeId, attestationType, serial, expires, banned, selectors, createdAt);
    }
}
