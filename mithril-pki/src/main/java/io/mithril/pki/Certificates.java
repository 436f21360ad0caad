package io.mithril.pki;

import io.mithril.spiffe.id.InvalidSpiffeIdException;
import io.mithril.spiffe.id.SpiffeId;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Small facts about certificates that several parts of Mithril need: the SPIFFE ID in the URI SAN,
 * whether a certificate is a CA or self-signed, and the concatenated-DER encoding the Workload API
 * uses for chains and bundles ({@code x509_svid}, {@code bundle}).
 */
public final class Certificates {

    private Certificates() {}

    /** The URI SANs of the certificate, in order. */
    public static List<String> uriSans(X509Certificate cert) {
        return sans(cert, 6);
    }

    /** The DNS SANs of the certificate, in order. */
    public static List<String> dnsSans(X509Certificate cert) {
        return sans(cert, 2);
    }

    private static List<String> sans(X509Certificate cert, int type) {
        List<String> out = new ArrayList<>();
        try {
            Collection<List<?>> all = cert.getSubjectAlternativeNames();
            if (all != null) {
                for (List<?> san : all) {
                    if (san.size() >= 2
                            && Integer.valueOf(type).equals(san.get(0))
                            && san.get(1) instanceof String s) {
                        out.add(s);
                    }
                }
            }
        } catch (CertificateParsingException e) {
            throw new PkiException(
                    "certificate "
                            + cert.getSubjectX500Principal()
                            + ": malformed subjectAltName: "
                            + e.getMessage(),
                    e);
        }
        return out;
    }

    /**
     * The certificate's SPIFFE ID: its single URI SAN, if that is a SPIFFE ID. Empty when there is
     * no URI SAN, more than one, or it is not a valid SPIFFE ID.
     */
    public static Optional<SpiffeId> spiffeId(X509Certificate cert) {
        List<String> uris = uriSans(cert);
        if (uris.size() != 1) {
            return Optional.empty();
        }
        try {
            return Optional.of(SpiffeId.parse(uris.get(0)));
        } catch (InvalidSpiffeIdException e) {
            return Optional.empty();
        }
    }

    /** Whether basicConstraints says {@code cA=true}. */
    public static boolean isCa(X509Certificate cert) {
        return cert.getBasicConstraints() >= 0;
    }

    /** Whether the certificate names itself as issuer and its own key verifies its signature. */
    public static boolean isSelfSigned(X509Certificate cert) {
        return cert.getSubjectX500Principal().equals(cert.getIssuerX500Principal())
                && isSignedBy(cert, cert.getPublicKey());
    }

    /** Whether {@code key} verifies the certificate's signature. */
    public static boolean isSignedBy(X509Certificate cert, PublicKey key) {
        try {
            cert.verify(key);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * The certificates' DER encodings concatenated (the Workload API's chain and bundle format).
     */
    public static byte[] concatDer(List<X509Certificate> certs) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (X509Certificate c : certs) {
            try {
                out.writeBytes(c.getEncoded());
            } catch (CertificateEncodingException e) {
                throw new PkiException(
                        "cannot encode certificate "
                                + c.getSubjectX500Principal()
                                + ": "
                                + e.getMessage(),
                        e);
            }
        }
        return out.toByteArray();
    }

    /**
     * Parses concatenated DER certificates.
     *
     * @throws PkiException if the bytes are empty or not a sequence of DER certificates
     */
    public static List<X509Certificate> parseDer(byte[] der) {
        if (der == null || der.length == 0) {
            throw new PkiException("no certificates: the DER input is empty");
        }
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (var c :
                    CertificateFactory.getInstance("X.509")
                            .generateCertificates(new ByteArrayInputStream(der))) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new PkiException("no certificates found in " + der.length + " bytes of DER");
            }
            return List.copyOf(out);
        } catch (CertificateException e) {
            throw new PkiException("malformed DER certificates: " + e.getMessage(), e);
        }
    }

    /** A short description for messages: subject, serial and validity. */
    public static String describe(X509Certificate cert) {
        return "\""
                + cert.getSubjectX500Principal()
                + "\" (serial "
                + cert.getSerialNumber().toString(16)
                + ", valid "
                + cert.getNotBefore().toInstant()
                + " to "
                + cert.getNotAfter().toInstant()
                + ")";
    }
}
