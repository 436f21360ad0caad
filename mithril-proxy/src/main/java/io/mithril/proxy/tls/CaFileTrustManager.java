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
 * The peer check of the TLS modes that read a CA file (SIMPLE, MUTUAL, OPTIONAL_MUTUAL): the JDK's
 * PKIX validation against those CAs, then {@link CertificatePolicy} on the presented chain (no
 * SHA-1 or MD5 signature, no RSA key under 2048 bits), which PKIX alone lets through for CAs
 * outside the JDK's own store. A weak chain fails the handshake with {@code bad_certificate}. As
 * TLS origination's server check ({@link #forServer}), also the system's trust store instead of a
 * file, and the DestinationRule's {@code subjectAltNames}: the server's certificate must name one
 * of them (a DNS, URI or IP SAN equal to it; a wildcard DNS SAN {@code *.example.com} covers one
 * label), as Envoy's {@code match_typed_subject_alt_names} requires.
 */
final class CaFileTrustManager extends X509ExtendedTrustManager {

    private final X509ExtendedTrustManager pkix;
    private final List<String> serverNames;

    private CaFileTrustManager(X509ExtendedTrustManager pkix, List<String> serverNames) {
        this.pkix = pkix;
        this.serverNames = List.copyOf(serverNames);
    }

    /**
     * The server check of TLS origination: PKIX against the CAs of {@code caFile} (null: the
     * system's trust store, the JDK's default), then the weak-certificate policy, then {@code
     * subjectAltNames} (none: any name).
     */
    static X509ExtendedTrustManager forServer(
            List<X509Certificate> cas, String caFile, List<String> subjectAltNames)
            throws SSLException {
        if (caFile != null) {
            return of(cas, caFile, subjectAltNames);
        }
        try {
            TrustManagerFactory tmf =
                    TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init((KeyStore) null);
            return OpenSslAlerts.wrap(new CaFileTrustManager(pkix(tmf), subjectAltNames));
        } catch (GeneralSecurityException e) {
            throw new SSLException("the system's trust store: " + e.getMessage(), e);
        }
    }

    private static X509ExtendedTrustManager pkix(TrustManagerFactory tmf) throws SSLException {
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509ExtendedTrustManager x) {
                return x;
            }
        }
        throw new SSLException("no PKIX trust manager in this JDK");
    }

    private void names(X509Certificate[] chain) throws CertificateException {
        if (serverNames.isEmpty()) {
            return;
        }
        java.util.Collection<List<?>> sans =
                chain.length == 0 ? null : chain[0].getSubjectAlternativeNames();
        List<String> presented = new java.util.ArrayList<>();
        if (sans != null) {
            for (List<?> san : sans) {
                if (san.get(1) instanceof String v
                        && ((Integer) san.get(0) == 2
                                || (Integer) san.get(0) == 6
                                || (Integer) san.get(0) == 7)) {
                    presented.add(v);
                }
            }
        }
        for (String want : serverNames) {
            for (String have : presented) {
                if (have.equalsIgnoreCase(want)
                        || have.startsWith("*.")
                                && want.indexOf('.') > 0
                                && want.substring(want.indexOf('.'))
                                        .equalsIgnoreCase(have.substring(1))) {
                    return;
                }
            }
        }
        throw new SvidRejectedException(
                SvidRejectedException.Reason.BAD_CERTIFICATE,
                "server certificate names "
                        + presented
                        + ", none of the expected subjectAltNames "
                        + serverNames,
                null);
    }

    /**
     * @throws SSLException when a CA is itself too weak to be trusted, or the JDK has no PKIX trust
     *     manager
     */
    static X509ExtendedTrustManager of(List<X509Certificate> cas, String file) throws SSLException {
        return of(cas, file, List.of());
    }

    private static X509ExtendedTrustManager of(
            List<X509Certificate> cas, String file, List<String> serverNames) throws SSLException {
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
            return OpenSslAlerts.wrap(new CaFileTrustManager(pkix(tmf), serverNames));
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
            throw new SvidRejectedException(
                    SvidRejectedException.Reason.BAD_CERTIFICATE, e.getMessage(), e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        policy(chain);
        pkix.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        policy(chain);
        pkix.checkServerTrusted(chain, authType, socket);
        names(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        policy(chain);
        pkix.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        policy(chain);
        pkix.checkServerTrusted(chain, authType, engine);
        names(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
            throws CertificateException {
        policy(chain);
        pkix.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
            throws CertificateException {
        policy(chain);
        pkix.checkServerTrusted(chain, authType);
        names(chain);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }
}
