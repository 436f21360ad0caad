package io.mithril.spiffe.x509;

import java.security.cert.CertificateException;

/**
 * A certificate of a peer's chain uses cryptography that {@link CertificatePolicy} refuses: a SHA-1
 * or MD5 signature (or another algorithm outside the accepted list), an RSA key under 2048 bits, or
 * an EC key on a curve other than P-256, P-384 and P-521. The message names the certificate (its
 * place in the chain and its subject) and the algorithm.
 */
public final class WeakCertificateException extends CertificateException {
    private static final long serialVersionUID = 1L;

    public WeakCertificateException(String message) {
        super(message);
    }
}
