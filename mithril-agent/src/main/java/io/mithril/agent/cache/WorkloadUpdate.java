package io.mithril.agent.cache;

import io.mithril.spiffe.bundle.SpiffeBundle;
import io.mithril.spiffe.id.TrustDomain;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Everything one workload may have, at one moment: its identities with SVIDs, its trust domain's
 * bundle, and the bundles of the trust domains its entries federate with. {@code matchedEntries}
 * counts the entries that match the workload, with or without an SVID yet: zero means the workload
 * has no identity at all.
 */
public record WorkloadUpdate(
        List<Identity> identities,
        SpiffeBundle bundle,
        Map<TrustDomain, SpiffeBundle> federatedBundles,
        int matchedEntries) {

    public WorkloadUpdate {
        identities = List.copyOf(identities);
        federatedBundles = Map.copyOf(federatedBundles);
    }

    /** Whether the workload gets no identity at all (the Workload API's PERMISSION_DENIED). */
    public boolean denied() {
        return matchedEntries == 0;
    }

    /**
     * What a stream must be re-sent on: the SVIDs (by serial) and the bundles. Two updates with
     * equal fingerprints carry the same state.
     */
    public List<Object> fingerprint() {
        List<Object> f = new ArrayList<>();
        for (Identity i : identities) {
            f.add(i.entry().id());
            f.add(i.svid().leaf().getSerialNumber());
            f.add(i.entry().hint());
        }
        f.add(bundle);
        f.add(federatedBundles);
        f.add(matchedEntries == 0);
        return f;
    }
}
