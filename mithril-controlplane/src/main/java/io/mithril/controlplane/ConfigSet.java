package io.mithril.controlplane;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;

/**
 * A validated set of mesh resources the control plane serves, with its version: the first 12 hex
 * digits of the SHA-256 of the documents, so the same files give the same version (also after a
 * restart) and any change gives another.
 *
 * @param loadedAt when the set was read
 */
public record ConfigSet(String version, List<MeshDocument> documents, Instant loadedAt) {

    public ConfigSet {
        documents = List.copyOf(documents);
    }

    /** A set and its content version. */
    public static ConfigSet of(List<MeshDocument> documents, Instant loadedAt) {
        return new ConfigSet(versionOf(documents), documents, loadedAt);
    }

    /** The empty set served before the first valid load. */
    public static ConfigSet empty() {
        return of(List.of(), Instant.EPOCH);
    }

    /** The content version of {@code documents}. */
    public static String versionOf(List<MeshDocument> documents) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (MeshDocument d : documents) {
                md.update(d.ref().getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(d.yaml().getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
