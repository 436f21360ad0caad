package io.mithril.agent.cache;

import java.security.PublicKey;
import java.time.Instant;

/** A key that signs JWT-SVIDs of a trust domain. {@code expiresAt} is null when unknown. */
public record JwtAuthority(String keyId, PublicKey publicKey, Instant expiresAt) {}
