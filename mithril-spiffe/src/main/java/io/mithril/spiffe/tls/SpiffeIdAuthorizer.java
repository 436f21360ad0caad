package io.mithril.spiffe.tls;

import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.util.Objects;

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

    /** Accepts exactly {@code expected}. */
    static SpiffeIdAuthorizer exactly(SpiffeId expected) {
        Objects.requireNonNull(expected, "expected");
        return new SpiffeIdAuthorizer() {
            @Override
            public boolean authorize(SpiffeId id) {
                return expected.equals(id);
            }

            @Override
            public String describe() {
                return "the SPIFFE ID " + expected;
            }
        };
    }

    /** Accepts any SPIFFE ID of {@code trustDomain}. */
    static SpiffeIdAuthorizer memberOf(TrustDomain trustDomain) {
        Objects.requireNonNull(trustDomain, "trustDomain");
        return new SpiffeIdAuthorizer() {
            @Override
            public boolean authorize(SpiffeId id) {
                return id.memberOf(trustDomain);
            }

            @Override
            public String describe() {
                return "a SPIFFE ID of trust domain " + trustDomain;
            }
        };
    }
}
