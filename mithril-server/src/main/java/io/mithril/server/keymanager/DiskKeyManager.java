package io.mithril.server.keymanager;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mithril.pki.KeyType;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code KeyManager "disk"}: keys are kept in one JSON file ({@code keys_path}, by default {@code
 * <data_dir>/keys.json}) mapping each key ID to its PKCS#8 private key and X.509 public key (base64
 * DER). The file is rewritten atomically (temp file in the same directory with mode 0600 from
 * creation, fsync, rename) so a crash leaves either the old or the new set of keys.
 */
public final class DiskKeyManager implements KeyManager {

    private static final Logger log = LoggerFactory.getLogger(DiskKeyManager.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final Map<String, KeyPair> keys = new LinkedHashMap<>();

    private DiskKeyManager(Path file) {
        this.file = file;
    }

    /**
     * Opens the key file, loading every key in it (a missing file means no keys yet).
     *
     * @throws KeyManagerException naming the file when it is unreadable or corrupt
     */
    public static DiskKeyManager open(Path file) {
        DiskKeyManager km = new DiskKeyManager(file);
        if (Files.exists(file)) {
            km.load();
        }
        return km;
    }

    /** The key file. */
    public Path file() {
        return file;
    }

    private void load() {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new KeyManagerException(
                    "KeyManager \"disk\" keys_path "
                            + file
                            + ": cannot read keys: "
                            + e.getMessage()
                            + " (restore the file from a backup, or move it away to mint a new CA)",
                    e);
        }
        if (root == null || !root.path("keys").isObject()) {
            throw new KeyManagerException(
                    "KeyManager \"disk\" keys_path "
                            + file
                            + ": not a Mithril key file (no \"keys\" object)");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = root.path("keys").fields();
                it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            try {
                KeyType type = KeyType.fromConfig(e.getValue().path("type").asText());
                KeyFactory kf = KeyFactory.getInstance(type.algorithm());
                PrivateKey priv =
                        kf.generatePrivate(
                                new PKCS8EncodedKeySpec(
                                        Base64.getDecoder()
                                                .decode(
                                                        e.getValue()
                                                                .path("private_key")
                                                                .asText())));
                PublicKey pub =
                        kf.generatePublic(
                                new X509EncodedKeySpec(
                                        Base64.getDecoder()
                                                .decode(e.getValue().path("public_key").asText())));
                keys.put(e.getKey(), new KeyPair(pub, priv));
            } catch (GeneralSecurityException | IllegalArgumentException ex) {
                throw new KeyManagerException(
                        "KeyManager \"disk\" keys_path "
                                + file
                                + ": key \""
                                + e.getKey()
                                + "\" is corrupt: "
                                + ex.getMessage(),
                        ex);
            }
        }
    }

    @Override
    public String name() {
        return "disk";
    }

    @Override
    public synchronized KeyPair generateKey(String id, KeyType type) {
        KeyPair kp = type.generate();
        Map<String, KeyPair> next = new LinkedHashMap<>(keys);
        next.put(id, kp);
        write(next);
        keys.put(id, kp);
        log.info("Key generated: id={} type={} file={}", id, type.configName(), file);
        return kp;
    }

    @Override
    public synchronized Optional<KeyPair> getKey(String id) {
        return Optional.ofNullable(keys.get(id));
    }

    private void write(Map<String, KeyPair> all) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode ks = root.putObject("keys");
        Base64.Encoder b64 = Base64.getEncoder();
        for (Map.Entry<String, KeyPair> e : all.entrySet()) {
            ObjectNode k = ks.putObject(e.getKey());
            k.put("type", KeyType.of(e.getValue().getPrivate()).configName());
            k.put("private_key", b64.encodeToString(e.getValue().getPrivate().getEncoded()));
            k.put("public_key", b64.encodeToString(e.getValue().getPublic().getEncoded()));
        }
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp =
                    Files.createTempFile(
                            dir,
                            ".keys",
                            ".tmp",
                            PosixFilePermissions.asFileAttribute(
                                    PosixFilePermissions.fromString("rw-------")));
            try (OutputStream out =
                    Files.newOutputStream(
                            tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            try {
                Files.move(
                        tmp,
                        file,
                        StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new KeyManagerException(
                    "KeyManager \"disk\" keys_path "
                            + file
                            + ": cannot write keys: "
                            + e.getMessage(),
                    e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }
}
