package io.mithril.server.api.agent;

import io.mithril.server.datastore.DataStore;
import io.mithril.server.datastore.EntryFilter;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.entry.Selector;
import io.mithril.spiffe.id.SpiffeId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Computes the registration entries an agent may serve, as SPIRE does: starting from the agent's
 * own ID and the node aliases that match it (entries parented by the server ID whose selectors are
 * all among the agent's node selectors), every entry whose parent is one of those IDs, and then,
 * transitively, every entry parented by an ID already reached. Cycles are harmless. Entries
 * whose {@code expires_at} has passed are left out (and so are their children).
 */
public final class AuthorizedEntries {

    private final DataStore dataStore;
    private final SpiffeId serverId;

    private final java.time.Clock clock;

    public AuthorizedEntries(DataStore dataStore, SpiffeId serverId, java.time.Clock clock) {
        this.dataStore = dataStore;
        this.serverId = serverId;
        this.clock = clock;
    }

    private boolean expired(RegistrationEntry e, long now) {
        return e.expiresAt() != 0 && e.expiresAt() < now;
    }

    /** The entries authorised for the agent, keyed by entry ID, in discovery order. */
    public Map<String, RegistrationEntry> forAgent(SpiffeId agentId) {
        long now = clock.instant().getEpochSecond();
        Set<Selector> nodeSelectors = new HashSet<>(dataStore.nodeSelectors(agentId));
        Set<SpiffeId> reached = new HashSet<>();
        List<SpiffeId> frontier = new ArrayList<>();
        reached.add(agentId);
        frontier.add(agentId);
        if (!nodeSelectors.isEmpty()) {
            for (RegistrationEntry alias : dataStore.listEntries(new EntryFilter(null, serverId, null, null))) {
                if (!expired(alias, now) && nodeSelectors.containsAll(alias.selectors()) && reached.add(alias.spiffeId())) {
                    frontier.add(alias.spiffeId());
                }
            }
        }
        Map<String, RegistrationEntry> out = new LinkedHashMap<>();
        while (!frontier.isEmpty()) {
            List<SpiffeId> next = new ArrayList<>();
            for (RegistrationEntry e : dataStore.listEntriesByParent(frontier)) {
                if (expired(e, now)) {
                    continue; // an expired entry authorises nothing, nor its children
                }
                if (out.putIfAbsent(e.id(), e) == null && reached.add(e.spiffeId())) {
                    next.add(e.spiffeId());
                }
            }
            frontier = next;
        }
        return out;
    }
}
