package io.mithril.server.datastore;

/**
 * A one-time join token.
 *
 * @param token the secret (a UUID)
 * @param expiresAt unix seconds after which it is refused
 */
public record JoinToken(String token, long expiresAt) {
}
