package io.mithril.proxy.tls;

import io.mithril.api.tls.OpenSslAlerts;
import io.mithril.spiffe.tls.SvidRejectedException;
import io.mithril.spiffe.x509.CertificatePolicy;
import io.mithril.spiffe.x509.WeakCertificateException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The peer check of the TLS modes that read a CA file (SIMPLE, MUTUAL, OPTIONAL_MUTUAL): the
 * JDK's PKIX validation against those CAs, then {@link CertificatePolicy} on the presented chain
 * (no SHA-1 or MD5 signature, no RSA key under 2048 bits), which PKIX alone lets through for CAs
 * outside the JDK's own store. A weak chain fails the handshake with {@code bad_certificate}.
 */
final class CaFileTrustManager extends X509ExtendedTrustManager {

    private final X509ExtendedTrustManager pkix;

    private CaFileTrustManager(X509ExtendedTrustManager pkix) {
        this.pkix = pkix;
    }

    /**
     * @throws SSLException when a CA is itself too weak to be trusted, or the JDK has no PKIX trust manager
     */
    static X509ExtendedTrustManager of(List<X509Certificate> cas, String file) throws SSLException {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            int i = 0;
            for (X509Certificate ca : cas) {
                CertificatePolicy.checkTrustAnchor(ca);
                ks.setCertificateEntry("ca" + i++, ca);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(ks);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) {
                    return OpenSslAlerts.wrap(new CaFileTrustManager(x));
                }
            }
            throw new SSLException("no PKIX trust manager in this JDK");
        } catch (WeakCertificateException e) {
            throw new SSLException(file + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new SSLException(file + ": " + e.getMessage(), e);
        }
    }

    private static void policy(X509Certificate[] chain) throws CertificateException {
        try {
            CertificatePolicy.checkPeerChain(chain);
        } catch (WeakCertificateException e) {
            throw new SvidRejectedException(SvidRejectedException.Reason.BAD_CERTIFICATE, e.getMessage(), e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        policy(chain);
        pkix.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        policy(chain);
        pkix.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        policy(chain);
        pkix.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        policy(chain);
        pkix.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        policy(chain);
        pkix.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        policy(chain);
        pkix.checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }
}
