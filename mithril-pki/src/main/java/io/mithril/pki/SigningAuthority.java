package io.mithril.pki;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/**
 * A CA that can sign: its certificate, its private key, and the chain a verifier needs between a
 * certificate it signs and a trust anchor.
 *
 * @param certificate the CA certificate ({@code cA=true}, keyCertSign)
 * @param privateKey the private key matching {@code certificate}
 * @param chain the CA's own certificate first, then its upstream intermediates; the root only when
 *     the CA is itself the root. An empty list means {@code [certificate]}.
 */
public record SigningAuthority(
        X509Certificate certificate, PrivateKey privateKey, List<X509Certificate> chain) {

    /**
     * @throws IllegalArgumentException if {@code chain} does not start with {@code certificate}
     */
    public SigningAuthority {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(privateKey, "privateKey");
        chain = chain == null || chain.isEmpty() ? List.of(certificate) : List.copyOf(chain);
        if (!chain.get(0).equals(certificate)) {
            throw new IllegalArgumentException(
                    "signing authority chain must start with the CA's own certificate ("
                            + certificate.getSubjectX500Principal()
                            + "), found "
                            + chain.get(0).getSubjectX500Principal());
        }
    }

    /**
     * A CA whose chain is just its own certificate (a root, or an intermediate whose parents the
     * peer already has).
     */
    public static SigningAuthority of(X509Certificate certificate, PrivateKey privateKey) {
        return new SigningAuthority(certificate, privateKey, List.of(certificate));
    }
}
