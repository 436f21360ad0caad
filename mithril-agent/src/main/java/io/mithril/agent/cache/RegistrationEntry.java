package io.mithril.agent.cache;

import io.mithril.api.selector.Selector;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.util.List;
import java.util.Set;

/**
 * A registration entry as the agent sees it: who gets the SPIFFE ID (all of {@code selectors} must
 * be among the workload's), and how the SVID is made.
 */
public record RegistrationEntry(
        String id,
        SpiffeId spiffeId,
        SpiffeId parentId,
        Set<Selector> selectors,
        int x509SvidTtl,
        int jwtSvidTtl,
        List<String> dnsNames,
        Set<TrustDomain> federatesWith,
        String hint,
        long revision) {

    public RegistrationEntry {
        selectors = Set.copyOf(selectors);
        dnsNames = List.copyOf(dnsNames);
        federatesWith = Set.copyOf(federatesWith);
        hint = hint == null ? "" : hint;
    }

    /** Whether a workload with {@code workloadSelectors} gets this entry's identity. */
    public boolean matches(Set<Selector> workloadSelectors) {
        return !selectors.isEmpty() && workloadSelectors.containsAll(selectors);
    }

    /** Whether an SVID minted for {@code other} would still be right for this entry. */
    public boolean sameSvidShape(RegistrationEntry other) {
        return other != null
                && spiffeId.equals(other.spiffeId)
                && dnsNames.equals(other.dnsNames)
                && x509SvidTtl == other.x509SvidTtl;
    }
}
