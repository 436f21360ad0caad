package io.mithril.spiffe.tls;

import io.mithril.spiffe.bundle.BundleSource;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.svid.X509SvidValidator;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Objects;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A TLS trust manager that accepts a peer only if its certificate chain is a valid X509-SVID for
 * the bundle of the peer's own trust domain (looked up at each handshake, so bundle updates apply
 * to the next handshake) and the {@link SpiffeIdAuthorizer} accepts its SPIFFE ID. Used on both
 * sides: a server requiring client SVIDs, a client checking the server's SPIFFE ID.
 *
 * <p>No host name check is made: SVIDs identify workloads by SPIFFE ID, not by DNS name (and an
 * {@link X509ExtendedTrustManager} is responsible for endpoint identification, so the JDK adds
 * none). Failures throw {@link CertificateException} whose message names the peer's SPIFFE ID
 * and the reason; the TLS engine turns it into a handshake failure.
 */
public final class SpiffeTrustManager extends X509ExtendedTrustManager {

    private final BundleSource<X509Bundle> bundles;
    private final SpiffeIdAuthorizer authorizer;

    public SpiffeTrustManager(BundleSource<X509Bundle> bundles, SpiffeIdAuthorizer authorizer) {
        this.bundles = Objects.requireNonNull(bundles, "bundles");
        this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
    }

    /**
     * Validates {@code chain} (leaf first) and authorizes its SPIFFE ID.
     *
     * @return the peer's SPIFFE ID
     * @throws CertificateException if the chain is not a valid SVID or its ID is not authorized
     */
    public SpiffeId verify(X509Certificate[] chain, String who) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException(who + " presented no certificate; an X509-SVID is required");
        }
        SpiffeId id;
        try {
            id = X509SvidValidator.verify(Arrays.asList(chain), bundles);
        } catch (RuntimeException e) {
            throw new CertificateException(who + " certificate is not a valid X509-SVID: " + e.getMessage(), e);
        }
        if (!authorizer.authorize(id)) {
            throw new CertificateException(who + " SPIFFE ID " + id + " is not authorized: expected " + authorizer.describe());
        }
        return id;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain, "client");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain, "server");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        verify(chain, "client");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        verify(chain, "server");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        verify(chain, "client");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        verify(chain, "server");
    }

    /**
     * No CA names are sent in the CertificateRequest: SVIDs of several trust domains may be
     * acceptable, and the key manager on the other side presents its one SVID anyway.
     */
    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
