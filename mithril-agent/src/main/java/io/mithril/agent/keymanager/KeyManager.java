package io.mithril.agent.keymanager;

import java.io.IOException;
import java.security.PrivateKey;
import java.util.Optional;

/**
 * Keeps the agent's own private key (the key of its agent SVID). {@code disk} keeps it across
 * restarts, so the agent can reuse its SVID instead of attesting again; {@code memory} forgets it,
 * and a restarted agent must attest again (a new join token).
 */
public interface KeyManager {

    /** The stored agent key, if there is one. */
    Optional<PrivateKey> loadAgentKey() throws IOException;

    /** Stores (replaces) the agent key. */
    void storeAgentKey(PrivateKey key) throws IOException;

    /** Whether keys survive a restart. */
    boolean persistent();
}
