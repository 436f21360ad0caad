package io.mithril.spiffe.tls;

import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.util.Collection;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Decides whether a peer whose X509-SVID validated may talk to us, from its SPIFFE ID alone
 * (go-spiffe's {@code tlsconfig.Authorizer}). {@link #describe()} says what is accepted, for the
 * error an unauthorized peer gets.
 */
public interface SpiffeIdAuthorizer {

    /** Whether {@code id} is authorized. */
    boolean authorize(SpiffeId id);

    /** What this authorizer accepts, e.g. {@code the SPIFFE ID spiffe://example.org/istiod}. */
    String describe();

    /** Accepts the IDs {@code accepts} holds for; {@code description} completes "expected ...". */
    static SpiffeIdAuthorizer of(String description, Predicate<SpiffeId> accepts) {
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(accepts, "accepts");
        return new SpiffeIdAuthorizer() {
            @Override
            public boolean authorize(SpiffeId id) {
                return accepts.test(id);
            }

            @Override
            public String describe() {
                return description;
            }
        };
    }

    /** Accepts exactly {@code expected}. */
    static SpiffeIdAuthorizer exactly(SpiffeId expected) {
        Objects.requireNonNull(expected, "expected");
        return of("the SPIFFE ID " + expected, expected::equals);
    }

    /** Accepts any SPIFFE ID of {@code trustDomain}. */
    static SpiffeIdAuthorizer memberOf(TrustDomain trustDomain) {
        Objects.requireNonNull(trustDomain, "trustDomain");
        return of("a SPIFFE ID of trust domain " + trustDomain, id -> id.memberOf(trustDomain));
    }

    /** Accepts any SPIFFE ID whose SVID validated against the bundle of its trust domain. */
    static SpiffeIdAuthorizer any() {
        return of("any SPIFFE ID", id -> true);
    }

    /**
     * Accepts one of {@code allowed} (Istio's {@code subjectAltNames}); an empty collection accepts
     * nothing (use {@link #any()} for Envoy's "no list, any ID").
     */
    static SpiffeIdAuthorizer oneOf(Collection<SpiffeId> allowed) {
        Set<SpiffeId> ids = Set.copyOf(allowed);
        return of("one of the SPIFFE IDs " + ids, ids::contains);
    }
}
