package io.mithril.agent.keymanager;

import java.security.PrivateKey;
import java.util.Optional;

/** The {@code memory} key manager: the agent key lives only as long as the process. */
public final class MemoryKeyManager implements KeyManager {
    private volatile PrivateKey key;

    @Override
    public Optional<PrivateKey> loadAgentKey() {
        return Optional.ofNullable(key);
    }

    @Override
    public void storeAgentKey(PrivateKey key) {
        this.key = key;
    }

    @Override
    public boolean persistent() {
        return false;
    }
}
