package io.mithril.spiffe.svid;

import io.mithril.spiffe.id.InvalidSpiffeIdException;
import io.mithril.spiffe.id.SpiffeId;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** The leaf and signing-certificate rules of the X509-SVID specification (sections 3, 4, 5.2). */
final class X509SvidRules {
    private X509SvidRules() {}

    private static final int DIGITAL_SIGNATURE = 0;
    private static final int KEY_CERT_SIGN = 5;
    private static final int CRL_SIGN = 6;
    private static final int SAN_URI = 6;

    static String describe(X509Certificate cert, int index) {
        String role = index == 0 ? "leaf certificate" : "signing certificate " + index;
        return role + " (subject \"" + cert.getSubjectX500Principal().getName() + "\")";
    }

    static List<String> uriSans(X509Certificate cert, int index) {
        Collection<List<?>> sans;
        try {
            sans = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            throw new X509SvidException(
                    describe(cert, index) + ": subjectAltName cannot be parsed: " + e.getMessage(),
                    e);
        }
        List<String> uris = new ArrayList<>();
        if (sans != null) {
            for (List<?> san : sans) {
                if (san.size() >= 2 && Integer.valueOf(SAN_URI).equals(san.get(0))) {
                    uris.add(String.valueOf(san.get(1)));
                }
            }
        }
        return uris;
    }

    /** The leaf's SPIFFE ID: exactly one URI SAN, a SPIFFE ID with a non-root path. */
    static SpiffeId leafSpiffeId(X509Certificate leaf) {
        List<String> uris = uriSans(leaf, 0);
        if (uris.isEmpty()) {
            throw new X509SvidException(
                    describe(leaf, 0)
                            + " has no URI SAN; an X509-SVID carries its SPIFFE ID as exactly one URI SAN");
        }
        if (uris.size() > 1) {
            throw new X509SvidException(
                    describe(leaf, 0)
                            + " has "
                            + uris.size()
                            + " URI SANs "
                            + uris
                            + "; an X509-SVID must have exactly one");
        }
        SpiffeId id;
        try {
            id = SpiffeId.parse(uris.get(0));
        } catch (InvalidSpiffeIdException e) {
            throw new X509SvidException(
                    describe(leaf, 0) + ": URI SAN is not a SPIFFE ID: " + e.getMessage(), e);
        }
        if (id.isTrustDomainId()) {
            throw new X509SvidException(
                    describe(leaf, 0)
                            + ": SPIFFE ID \""
                            + id
                            + "\" has no path; a leaf SVID's ID must have a non-root path");
        }
        return id;
    }

    /**
     * basicConstraints cA=false; keyUsage with digitalSignature and without keyCertSign and
     * cRLSign.
     */
    static void checkLeafConstraints(X509Certificate leaf) {
        if (leaf.getBasicConstraints() >= 0) {
            throw new X509SvidException(
                    describe(leaf, 0)
                            + " is a CA (basicConstraints CA=true); a leaf SVID must have CA=false");
        }
        boolean[] ku = leaf.getKeyUsage();
        if (ku == null) {
            throw new X509SvidException(
                    describe(leaf, 0) + " has no keyUsage extension; digitalSignature is required");
        }
        if (!bit(ku, DIGITAL_SIGNATURE)) {
            throw new X509SvidException(describe(leaf, 0) + ": keyUsage lacks digitalSignature");
        }
        if (bit(ku, KEY_CERT_SIGN)) {
            throw new X509SvidException(
                    describe(leaf, 0)
                            + ": keyUsage has keyCertSign, which a leaf SVID must not have");
        }
        if (bit(ku, CRL_SIGN)) {
            throw new X509SvidException(
                    describe(leaf, 0) + ": keyUsage has cRLSign, which a leaf SVID must not have");
        }
    }

    /** cA=true with keyCertSign; a SPIFFE ID URI SAN, if any, has no path. */
    static void checkSigningCertificate(X509Certificate cert, int index) {
        if (cert.getBasicConstraints() < 0) {
            throw new X509SvidException(
                    describe(cert, index) + " is not a CA (basicConstraints CA=false or absent)");
        }
        boolean[] ku = cert.getKeyUsage();
        if (ku == null || !bit(ku, KEY_CERT_SIGN)) {
            throw new X509SvidException(describe(cert, index) + ": keyUsage lacks keyCertSign");
        }
        for (String uri : uriSans(cert, index)) {
            if (SpiffeId.isValid(uri) && !SpiffeId.parse(uri).isTrustDomainId()) {
                throw new X509SvidException(
                        describe(cert, index)
                                + ": SPIFFE ID \""
                                + uri
                                + "\" has a path; a signing certificate's SPIFFE ID must have none");
            }
        }
    }

    private static boolean bit(boolean[] bits, int i) {
        return bits.length > i && bits[i];
    }

    /** Proves the private key belongs to the leaf by signing and verifying a fixed message. */
    static void checkKeyMatches(PrivateKey key, X509Certificate leaf) {
        PublicKey pub = leaf.getPublicKey();
        String alg = key.getAlgorithm();
        if (!sameFamily(alg, pub.getAlgorithm())) {
            throw new X509SvidException(
                    "private key is "
                            + alg
                            + " but the leaf certificate's public key is "
                            + pub.getAlgorithm());
        }
        String sigAlg =
                switch (alg) {
                    case "EC" -> "SHA256withECDSA";
                    case "RSA" -> "SHA256withRSA";
                    case "Ed25519", "EdDSA", "Ed448" -> "EdDSA";
                    default ->
                            throw new X509SvidException(
                                    "unsupported private key algorithm \"" + alg + "\"");
                };
        byte[] message =
                "mithril: does this key belong to the leaf?"
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try {
            Signature signer = Signature.getInstance(sigAlg);
            signer.initSign(key);
            signer.update(message);
            byte[] sig = signer.sign();
            Signature verifier = Signature.getInstance(sigAlg);
            verifier.initVerify(pub);
            verifier.update(message);
            if (!verifier.verify(sig)) {
                throw new X509SvidException(
                        "private key does not match the leaf certificate's public key");
            }
        } catch (GeneralSecurityException | RuntimeException e) {
            if (e instanceof X509SvidException x) {
                throw x;
            }
            throw new X509SvidException(
                    "private key does not match the leaf certificate's public key: "
                            + e.getMessage(),
                    e);
        }
    }

    private static boolean sameFamily(String a, String b) {
        if (a.equals(b)) {
            return true;
        }
        return isEdDsa(a) && isEdDsa(b);
    }

    private static boolean isEdDsa(String alg) {
        return alg.equals("Ed25519") || alg.equals("EdDSA") || alg.equals("Ed448");
    }
}
