package io.mithril.spiffe.x509;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.pkcs.RSAPublicKey;
import org.bouncycastle.asn1.pkcs.RSASSAPSSparams;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Certificate;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;

/**
 * The cryptography a peer's certificates must use, wherever a peer is checked: X509-SVID chains
 * ({@code X509SvidValidator}, hence every {@code SpiffeTrustManager}: the server's agent API, the
 * agent, the proxies, the control plane) and any other chain a caller validates itself (a proxy's
 * MUTUAL TLS with CA files, for instance) through {@link #checkPeerChain(List)}.
 *
 * <p>The rule, as Go's crypto/x509 applies it since Go 1.18 (hence SPIRE and Envoy's Go peers),
 * with the key sizes of the CA/Browser Forum baseline:
 *
 * <ul>
 *   <li>Signatures: RSA PKCS#1 v1.5 or RSASSA-PSS with SHA-256, SHA-384 or SHA-512 (PSS: the MGF1
 *       hash too), ECDSA with SHA-256, SHA-384 or SHA-512, Ed25519, Ed448. Anything else is
 *       refused, SHA-1 and MD5 first of all (a chosen-prefix collision forges them).
 *   <li>Keys: RSA of at least 2048 bits; EC on the named curves P-256, P-384 or P-521 (explicit
 *       curve parameters are refused); Ed25519, Ed448. Anything else (DSA, ...) is refused.
 * </ul>
 *
 * The signature rule applies to every certificate whose signature a verifier relies on: the leaf
 * and the intermediates. A trust anchor is trusted by configuration, not by its signature, so its
 * own self-signature is not looked at (Go does not verify it either), but its key signs the chain,
 * so the key rule applies to it too. Failures are {@link WeakCertificateException}s whose message
 * names the certificate's subject and the algorithm.
 */
public final class CertificatePolicy {
    private CertificatePolicy() {}

    /**
     * The accepted signature algorithms by OID, except RSASSA-PSS, whose hash is in its parameters.
     */
    private static final Set<String> SIGNATURES =
            Set.of(
                    "1.2.840.113549.1.1.11",
                    "1.2.840.113549.1.1.12",
                    "1.2.840.113549.1.1.13", // sha256/384/512WithRSAEncryption
                    "1.2.840.10045.4.3.2",
                    "1.2.840.10045.4.3.3",
                    "1.2.840.10045.4.3.4", // ecdsa-with-SHA256/384/512
                    "1.3.101.112",
                    "1.3.101.113"); // Ed25519, Ed448

    private static final String RSASSA_PSS = "1.2.840.113549.1.1.10";
    private static final Set<String> PSS_HASHES =
            Set.of(
                    "2.16.840.1.101.3.4.2.1",
                    "2.16.840.1.101.3.4.2.2",
                    "2.16.840.1.101.3.4.2.3"); // SHA-256/384/512
    private static final Map<String, String> PSS_HASH_NAMES =
            Map.of(
                    "1.3.14.3.2.26",
                    "SHA-1",
                    "2.16.840.1.101.3.4.2.4",
                    "SHA-224",
                    "2.16.840.1.101.3.4.2.1",
                    "SHA-256",
                    "2.16.840.1.101.3.4.2.2",
                    "SHA-384",
                    "2.16.840.1.101.3.4.2.3",
                    "SHA-512");

    private static final String RSA_KEY = "1.2.840.113549.1.1.1";
    private static final String EC_KEY = "1.2.840.10045.2.1";
    private static final Set<String> ED_KEYS = Set.of("1.3.101.112", "1.3.101.113");
    private static final Map<String, String> CURVES =
            Map.of(
                    "1.2.840.10045.3.1.7",
                    "P-256",
                    "1.3.132.0.34",
                    "P-384",
                    "1.3.132.0.35",
                    "P-521");

    /** The smallest RSA modulus accepted, in bits. */
    public static final int MIN_RSA_BITS = 2048;

    private static final String ACCEPTED_SIGNATURES =
            "accepted: RSA (PKCS#1 v1.5 or PSS) or ECDSA with SHA-256, SHA-384 "
                    + "or SHA-512, Ed25519, Ed448";

    /**
     * Checks a chain as a TLS peer presents it (leaf first, then intermediates, possibly its root):
     * the signature and the key of every certificate, except the self-signature of a self-signed
     * certificate that ends the chain (a root, which the verifier trusts or not by configuration;
     * its key is still checked). Call it after the chain validated (or before: it does not validate
     * the chain itself).
     *
     * @throws WeakCertificateException naming the first offending certificate, its subject and
     *     algorithm
     */
    public static void checkPeerChain(List<X509Certificate> chain) throws WeakCertificateException {
        for (int i = 0; i < chain.size(); i++) {
            X509Certificate cert = chain.get(i);
            boolean root = i > 0 && i == chain.size() - 1 && selfSigned(cert);
            String role = root ? "root certificate" : role(i);
            if (!root) {
                checkSignature(cert, role);
            }
            checkKey(cert, role);
        }
    }

    /** {@link #checkPeerChain(List)} for the array a trust manager receives. */
    public static void checkPeerChain(X509Certificate[] chain) throws WeakCertificateException {
        checkPeerChain(List.of(chain));
    }

    /**
     * Checks the signature and the key of one certificate the verifier relies on: a leaf or an
     * intermediate at {@code index} of its chain (0 is the leaf).
     */
    public static void checkCertificate(X509Certificate cert, int index)
            throws WeakCertificateException {
        checkSignature(cert, role(index));
        checkKey(cert, role(index));
    }

    /** Checks the key of a trust anchor (a bundle's or a CA file's root), which signs the chain. */
    public static void checkTrustAnchor(X509Certificate anchor) throws WeakCertificateException {
        checkKey(anchor, "trust anchor");
    }

    private static String role(int index) {
        return index == 0 ? "leaf certificate" : "intermediate certificate " + index;
    }

    private static String name(X509Certificate cert, String role) {
        return role + " (subject \"" + cert.getSubjectX500Principal().getName() + "\")";
    }

    private static boolean selfSigned(X509Certificate cert) {
        if (!cert.getSubjectX500Principal().equals(cert.getIssuerX500Principal())) {
            return false;
        }
        try {
            cert.verify(cert.getPublicKey());
            return true;
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    private static void checkSignature(X509Certificate cert, String role)
            throws WeakCertificateException {
        String oid = cert.getSigAlgOID();
        if (SIGNATURES.contains(oid)) {
            return;
        }
        String algorithm = cert.getSigAlgName() + " (" + oid + ")";
        if (RSASSA_PSS.equals(oid)) {
            String hash = pssHash(cert);
            if (hash == null) {
                return;
            }
            algorithm = "RSASSA-PSS with " + hash;
        }
        String upper = algorithm.toUpperCase(java.util.Locale.ROOT);
        String why =
                upper.contains("SHA1")
                                || upper.contains("SHA-1")
                                || upper.contains("MD5")
                                || upper.contains("MD2")
                        ? "SHA-1 and MD5 signatures are refused (collisions forge them)"
                        : "this signature algorithm is not accepted";
        throw new WeakCertificateException(
                name(cert, role)
                        + " is signed with "
                        + algorithm
                        + ": "
                        + why
                        + "; "
                        + ACCEPTED_SIGNATURES);
    }

    /**
     * The hash of a PSS signature that is not accepted (as its name), or null when it and MGF1's
     * are SHA-256/384/512.
     */
    private static String pssHash(X509Certificate cert) {
        RSASSAPSSparams params;
        try {
            byte[] der = cert.getSigAlgParams();
            // Absent parameters mean the defaults: SHA-1 and MGF1 with SHA-1.
            params =
                    der == null
                            ? new RSASSAPSSparams()
                            : RSASSAPSSparams.getInstance(ASN1Primitive.fromByteArray(der));
        } catch (IOException | RuntimeException e) {
            return "unreadable parameters";
        }
        String hash = params.getHashAlgorithm().getAlgorithm().getId();
        if (!PSS_HASHES.contains(hash)) {
            return PSS_HASH_NAMES.getOrDefault(hash, hash);
        }
        ASN1Encodable mgfHash = params.getMaskGenAlgorithm().getParameters();
        String mgf =
                mgfHash == null
                        ? ""
                        : AlgorithmIdentifier.getInstance(mgfHash).getAlgorithm().getId();
        return PSS_HASHES.contains(mgf)
                ? null
                : "MGF1 with " + PSS_HASH_NAMES.getOrDefault(mgf, mgf);
    }

    private static void checkKey(X509Certificate cert, String role)
            throws WeakCertificateException {
        SubjectPublicKeyInfo spki;
        try {
            // The key as the certificate encodes it (a JDK key object may re-encode explicit curves
            // as named ones).
            spki = Certificate.getInstance(cert.getEncoded()).getSubjectPublicKeyInfo();
        } catch (CertificateEncodingException | RuntimeException e) {
            throw new WeakCertificateException(
                    name(cert, role) + ": its public key cannot be read: " + e.getMessage());
        }
        String alg = spki.getAlgorithm().getAlgorithm().getId();
        if (ED_KEYS.contains(alg)) {
            return;
        }
        if (alg.equals(RSA_KEY) || alg.equals(RSASSA_PSS)) {
            int bits;
            try {
                bits = RSAPublicKey.getInstance(spki.parsePublicKey()).getModulus().bitLength();
            } catch (IOException | RuntimeException e) {
                throw new WeakCertificateException(
                        name(cert, role)
                                + ": its RSA public key cannot be read: "
                                + e.getMessage());
            }
            if (bits < MIN_RSA_BITS) {
                throw new WeakCertificateException(
                        name(cert, role)
                                + " has an RSA key of "
                                + bits
                                + " bits: RSA keys under "
                                + MIN_RSA_BITS
                                + " bits are refused");
            }
            return;
        }
        if (alg.equals(EC_KEY)) {
            ASN1Encodable params = spki.getAlgorithm().getParameters();
            if (params instanceof ASN1ObjectIdentifier curve && CURVES.containsKey(curve.getId())) {
                return;
            }
            String curve =
                    params instanceof ASN1ObjectIdentifier oid
                            ? (ECNamedCurveTable.getName(oid) == null
                                    ? oid.getId()
                                    : ECNamedCurveTable.getName(oid) + " (" + oid.getId() + ")")
                            : "explicit curve parameters";
            throw new WeakCertificateException(
                    name(cert, role)
                            + " has an EC key on "
                            + curve
                            + ": only the named curves P-256, P-384 and P-521 are accepted");
        }
        throw new WeakCertificateException(
                name(cert, role)
                        + " has a "
                        + cert.getPublicKey().getAlgorithm()
                        + " key ("
                        + alg
                        + "): only RSA (2048 bits or more), EC on P-256, P-384 or P-521, Ed25519 and Ed448 keys are accepted");
    }
}
