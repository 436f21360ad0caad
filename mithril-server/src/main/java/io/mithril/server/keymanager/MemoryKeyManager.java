package io.mithril.server.keymanager;

import io.mithril.pki.KeyType;
import java.security.KeyPair;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** {@code KeyManager "memory"}: keys live in the process only; a restart mints a new CA. */
public final class MemoryKeyManager implements KeyManager {

    private final Map<String, KeyPair> keys = new ConcurrentHashMap<>();

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public KeyPair generateKey(String id, KeyType type) {
        KeyPair kp = type.generate();
        keys.put(id, kp);
        return kp;
    }

    @Override
    public Optional<KeyPair> getKey(String id) {
        return Optional.ofNullable(keys.get(id));
    }
}
