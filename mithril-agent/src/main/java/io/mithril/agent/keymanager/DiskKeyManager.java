package io.mithril.agent.keymanager;

import io.mithril.agent.fs.TrustedDirectory;
import io.mithril.pki.Pem;
import io.mithril.pki.PemException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.util.Optional;

/**
 * The {@code disk} key manager: the agent key is a PKCS#8 PEM file {@code agent_svid.key} in {@code
 * directory} (0700, see {@link TrustedDirectory#owned}), written atomically with mode 0600.
 */
public final class DiskKeyManager implements KeyManager {

    /** The key file's name inside the directory. */
    public static final String KEY_FILE = "agent_svid.key";

    private final Path file;

    public DiskKeyManager(Path directory) {
        this.file = directory.resolve(KEY_FILE);
    }

    @Override
    public Optional<PrivateKey> loadAgentKey() throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Pem.readPrivateKey(file));
        } catch (PemException e) {
            throw new IOException(
                    "agent key "
                            + file
                            + " is unreadable ("
                            + e.getMessage()
                            + "); remove it to attest again",
                    e);
        }
    }

    @Override
    public void storeAgentKey(PrivateKey key) throws IOException {
        TrustedDirectory.owned(file.getParent(), "KeyManager \"disk\" directory");
        try {
            Pem.writePrivateKey(file, key);
        } catch (PemException e) {
            throw new IOException("cannot write agent key " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public boolean persistent() {
        return true;
    }
}
