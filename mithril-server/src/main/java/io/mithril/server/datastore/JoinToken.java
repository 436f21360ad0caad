package io.mithril.server.datastore;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A one-time join token. The datastore keeps only its {@link #hash}.
 *
 * @param token the secret (a UUID)
 * @param expiresAt unix seconds after which it is refused
 */
public record JoinToken(String token, long expiresAt) {

    /**
     * The SHA-256 of a token, in lower-case hex: what the datastore stores and looks up. Tokens are
     * random UUIDs (122 bits), so an unsalted hash cannot be reversed by guessing.
     */
    public static String hash(String token) {
        try {
            return HexFormat.of()
                    .formatHex(
                            MessageDigest.getInstance("SHA-256")
                                    .digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
