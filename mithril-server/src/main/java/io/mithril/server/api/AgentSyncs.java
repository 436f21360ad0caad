package io.mithril.server.api;

import io.mithril.spiffe.id.SpiffeId;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * When each agent last synced with this server: its last {@code GetAuthorizedEntries} call, the
 * call an agent makes at every sync (SPIRE's agent does the same every {@code sync_interval}, 5 s
 * by default). Kept in memory, not in the datastore: a write per agent per sync would load the
 * database and bump its change revision (which makes every server reload its entries). So it is
 * this server's view only: empty for an agent that has not synced since this server started, and,
 * with several servers on one datastore, each knows the syncs it served.
 */
public final class AgentSyncs {

    private final Clock clock;
    private final Map<SpiffeId, Instant> last = new ConcurrentHashMap<>();

    public AgentSyncs(Clock clock) {
        this.clock = clock;
    }

    /** Records a sync of this agent now. */
    public void synced(SpiffeId agent) {
        last.put(agent, clock.instant());
    }

    /** The agent's last sync with this server, if any since it started. */
    public Optional<Instant> lastSync(SpiffeId agent) {
        return Optional.ofNullable(last.get(agent));
    }

    /** Forgets an agent (evicted or banned). */
    public void forget(SpiffeId agent) {
        last.remove(agent);
    }
}
