package io.mithril.agent.client;

import io.mithril.pki.Certificates;
import io.mithril.spiffe.id.SpiffeId;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Verifies the identity server on the agent API: its chain must validate (RFC 5280) against the
 * trust domain's current roots, and its leaf must carry exactly the server's SPIFFE ID
 * ({@code spiffe://<td>/spire/server}). Host names play no part: SPIFFE identifies the server
 * by its ID. In insecure-bootstrap mode (roots supplier returns null) every server is accepted;
 * that is only used for the very first attestation, and loudly logged by the caller.
 */
final class ServerTrustManager extends X509ExtendedTrustManager {

    private final Supplier<List<X509Certificate>> roots;
    private final SpiffeId serverId;

    ServerTrustManager(Supplier<List<X509Certificate>> roots, SpiffeId serverId) {
        this.roots = roots;
        this.serverId = serverId;
    }

    private void check(X509Certificate[] chain) throws CertificateException {
        List<X509Certificate> anchors = roots.get();
        if (anchors == null) {
            return; // insecure bootstrap
        }
        if (chain == null || chain.length == 0) {
            throw new CertificateException("the server presented no certificate");
        }
        Optional<SpiffeId> id = Certificates.spiffeId(chain[0]);
        if (id.isEmpty() || !id.get().equals(serverId)) {
            throw new CertificateException("the server presented " + id.map(Object::toString).orElse("a certificate without SPIFFE ID")
                    + ", expected " + serverId);
        }
        try {
            Set<TrustAnchor> ta = new HashSet<>();
            for (X509Certificate r : anchors) {
                ta.add(new TrustAnchor(r, null));
            }
            List<X509Certificate> path = new ArrayList<>();
            for (X509Certificate c : chain) {
                if (!anchors.contains(c)) {
                    path.add(c);
                }
            }
            PKIXParameters params = new PKIXParameters(ta);
            params.setRevocationEnabled(false);
            CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
        } catch (GeneralSecurityException e) {
            throw new CertificateException("the server's certificate " + serverId + " does not chain to the trust bundle: " + e.getMessage(), e);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        throw new CertificateException("the agent does not accept client connections");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw new CertificateException("the agent does not accept client connections");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the agent does not accept client connections");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
