package io.mithril.server.config;

import java.time.Duration;
import java.util.Objects;

/**
 * How the server's APIs treat their callers, as SPIRE's {@code server} block sets it: {@code
 * ratelimit { attestation, signing }} (per client IP: one node attestation per second, 500 signed
 * SVIDs per second, as SPIRE's limits), {@code audit_log_enabled} (one audit line per admin API
 * call) and {@code cache_reload_interval} (also under {@code experimental}: how often the index of
 * authorised entries looks for other servers' writes).
 *
 * @param rateLimitAttestation limit node attestations to {@link #ATTESTATIONS_PER_IP} per second
 *     per client IP; further ones wait their turn
 * @param rateLimitSigning limit signing (agent renewals, X509-SVIDs, JWT-SVIDs) to {@link
 *     #SIGNATURES_PER_IP} per second per client IP
 * @param auditLog log one line per admin API call: method, status and caller
 * @param cacheReloadInterval how often the index of authorised entries reads the datastore's change
 *     revision
 */
public record ApiPolicy(
        boolean rateLimitAttestation,
        boolean rateLimitSigning,
        boolean auditLog,
        Duration cacheReloadInterval) {

    /** SPIRE's {@code AttestLimitPerIP}. */
    public static final int ATTESTATIONS_PER_IP = 1;

    /** SPIRE's {@code SignLimitPerIP}. */
    public static final int SIGNATURES_PER_IP = 500;

    /** Mithril's index refresh when no {@code cache_reload_interval} is set (SPIRE's is 5 s). */
    public static final Duration DEFAULT_CACHE_RELOAD_INTERVAL = Duration.ofSeconds(1);

    /**
     * What a {@code server.conf} without these keys asks for, as in SPIRE: both rate limits on, no
     * audit log.
     */
    public static final ApiPolicy SPIRE_DEFAULTS =
            new ApiPolicy(true, true, false, DEFAULT_CACHE_RELOAD_INTERVAL);

    /**
     * A server built in code (tests, benchmarks, embedding) without a policy: no rate limits, so
     * many agents on one host attest at once.
     */
    public static final ApiPolicy UNLIMITED =
            new ApiPolicy(false, false, false, DEFAULT_CACHE_RELOAD_INTERVAL);

    public ApiPolicy {
        Objects.requireNonNull(cacheReloadInterval, "cacheReloadInterval");
        if (cacheReloadInterval.isNegative()) {
            throw new IllegalArgumentException(
                    "cache_reload_interval must not be negative (found "
                            + cacheReloadInterval
                            + ")");
        }
    }
}
