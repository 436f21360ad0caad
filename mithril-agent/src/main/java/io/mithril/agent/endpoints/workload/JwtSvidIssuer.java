package io.mithril.agent.endpoints.workload;

import io.grpc.StatusException;
import io.mithril.agent.cache.RegistrationEntry;
import java.util.List;

/** Gets JWT-SVIDs signed (by the server) for the agent's entries. */
public interface JwtSvidIssuer {

    /**
     * A JWT-SVID for the entry and audience.
     *
     * @throws StatusException {@code UNAVAILABLE} when the server cannot be reached
     */
    String issue(RegistrationEntry entry, List<String> audience) throws StatusException;
}
