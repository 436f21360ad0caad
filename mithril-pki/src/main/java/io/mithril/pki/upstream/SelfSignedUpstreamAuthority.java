package io.mithril.pki.upstream;

import io.mithril.pki.PkiException;
import io.mithril.pki.X509Minter;
import io.mithril.spiffe.id.TrustDomain;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import javax.security.auth.x500.X500Principal;

/**
 * No upstream configured: the server's CA certificate is self-signed with the server's own key, and
 * is both the whole chain and the trust anchor ({@code chain = roots = [ca]}), as SPIRE does
 * without an UpstreamAuthority.
 */
public final class SelfSignedUpstreamAuthority implements UpstreamAuthority {

    private final X509Minter minter;

    public SelfSignedUpstreamAuthority(Clock clock) {
        this(new X509Minter(clock));
    }

    public SelfSignedUpstreamAuthority(X509Minter minter) {
        this.minter = minter;
    }

    @Override
    public String name() {
        return "self-signed";
    }

    @Override
    public MintedX509Ca mintX509Ca(
            KeyPair serverCaKey, TrustDomain trustDomain, Duration ttl, X500Principal subject)
            throws UpstreamAuthorityException {
        try {
            X509Certificate ca = minter.selfSignedCa(serverCaKey, trustDomain, ttl, subject);
            return new MintedX509Ca(List.of(ca), List.of(ca));
        } catch (PkiException | IllegalArgumentException e) {
            throw new UpstreamAuthorityException(
                    "self-signed CA for " + trustDomain + ": " + e.getMessage(), e);
        }
    }
}
