package io.mithril.server.keymanager;

import io.mithril.pki.KeyType;
import java.security.KeyPair;
import java.util.Optional;

/**
 * Holds the server's CA and JWT signing keys by ID, as SPIRE's KeyManager plug-point: {@link
 * DiskKeyManager} ({@code KeyManager "disk"}, persisted under {@code data_dir} with mode 0600) and
 * {@link MemoryKeyManager} ({@code KeyManager "memory"}, lost on restart). Implementations are
 * thread-safe. Private keys are never logged.
 */
public interface KeyManager {

    /** The plug-in name, {@code disk} or {@code memory}. */
    String name();

    /**
     * Generates a new key under {@code id}, replacing any key with that ID, and persists it before
     * returning.
     *
     * @throws KeyManagerException when the key cannot be stored (the message names the file)
     */
    KeyPair generateKey(String id, KeyType type);

    /** The key with that ID, if any. */
    Optional<KeyPair> getKey(String id);
}
