package io.mithril.api.tls;

import io.mithril.spiffe.tls.SvidRejectedException;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslCertificateException;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Objects;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Makes Netty's native TLS (BoringSSL) send the alert that fits a refused SVID. Netty maps a trust
 * manager's {@link CertificateException} to an X.509 verify error, and anything it does not
 * recognise to {@code X509_V_ERR_UNSPECIFIED}, which BoringSSL sends as {@code internal_error}: a
 * client with a certificate from a foreign root would be told the server broke. Wrapped, a {@link
 * SvidRejectedException} becomes an {@link OpenSslCertificateException} with the verify error of
 * its reason: {@code unknown_ca} for an unknown authority, {@code certificate_expired}, {@code
 * bad_certificate} for the rest. The JDK's TLS needs none of this (it sends {@code bad_certificate}
 * or {@code certificate_unknown} for any refusal), so the wrapper is harmless there.
 */
public final class OpenSslAlerts {

    // OpenSSL's X509_V_ERR_* codes (x509_vfy.h; the same in BoringSSL and netty-tcnative's
    // CertificateVerifier, which is not on this module's compile path).
    static final int X509_V_ERR_CERT_NOT_YET_VALID = 9;
    static final int X509_V_ERR_CERT_HAS_EXPIRED = 10;
    static final int X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20;
    static final int X509_V_ERR_CERT_REJECTED = 28;

    private OpenSslAlerts() {}

    /** The X.509 verify error BoringSSL turns into the right alert for {@code reason}. */
    public static int verifyError(SvidRejectedException.Reason reason) {
        return switch (reason) {
            case UNKNOWN_AUTHORITY -> X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
            case EXPIRED -> X509_V_ERR_CERT_HAS_EXPIRED;
            case NOT_YET_VALID -> X509_V_ERR_CERT_NOT_YET_VALID;
            case NO_CERTIFICATE, BAD_CERTIFICATE, NOT_AUTHORIZED -> X509_V_ERR_CERT_REJECTED;
        };
    }

    /**
     * {@code delegate} with its {@link SvidRejectedException}s turned into alert-carrying
     * exceptions.
     */
    public static X509ExtendedTrustManager wrap(X509ExtendedTrustManager delegate) {
        Objects.requireNonNull(delegate, "delegate");
        return new X509ExtendedTrustManager() {
            @Override
            public void checkClientTrusted(
                    X509Certificate[] chain, String authType, SSLEngine engine)
                    throws CertificateException {
                translated(() -> delegate.checkClientTrusted(chain, authType, engine));
            }

            @Override
            public void checkServerTrusted(
                    X509Certificate[] chain, String authType, SSLEngine engine)
                    throws CertificateException {
                translated(() -> delegate.checkServerTrusted(chain, authType, engine));
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                    throws CertificateException {
                translated(() -> delegate.checkClientTrusted(chain, authType, socket));
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                    throws CertificateException {
                translated(() -> delegate.checkServerTrusted(chain, authType, socket));
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType)
                    throws CertificateException {
                translated(() -> delegate.checkClientTrusted(chain, authType));
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType)
                    throws CertificateException {
                translated(() -> delegate.checkServerTrusted(chain, authType));
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return delegate.getAcceptedIssuers();
            }
        };
    }

    @FunctionalInterface
    private interface Check {
        void run() throws CertificateException;
    }

    private static void translated(Check check) throws CertificateException {
        try {
            check.run();
        } catch (SvidRejectedException e) {
            throw translate(e);
        }
    }

    static CertificateException translate(SvidRejectedException e) {
        if (!OpenSsl.isAvailable()) {
            return e; // the JDK's TLS is in use (and OpenSslCertificateException needs
            // netty-tcnative)
        }
        return new OpenSslCertificateException(e.getMessage(), e, verifyError(e.reason()));
    }
}
