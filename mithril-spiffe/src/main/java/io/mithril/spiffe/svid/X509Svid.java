package io.mithril.spiffe.svid;

import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.internal.Der;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/**
 * An X509-SVID: a SPIFFE ID, its certificate chain (leaf first, then the intermediates that lead
 * towards the trust domain's root, which is not included) and the leaf's private key.
 *
 * <p>Every instance holds the X509-SVID rules: the leaf has exactly one URI SAN, a SPIFFE ID with a
 * non-root path, equal to {@link #spiffeId()}; it is not a CA; its keyUsage has digitalSignature
 * and neither keyCertSign nor cRLSign; every further certificate is a CA with keyCertSign (and a
 * path-less SPIFFE ID if it carries one); the private key matches the leaf's public key.
 * Construction does not check the validity period or the signatures; that is {@link
 * X509SvidValidator}'s job, against a bundle.
 *
 * @param spiffeId the SVID's SPIFFE ID (the leaf's URI SAN); null in the constructor means "read it
 *     from the leaf"
 * @param chain the certificate chain, leaf first
 * @param privateKey the leaf's private key
 * @param hint the Workload API's operator hint for choosing among SVIDs ("" if none)
 */
public record X509Svid(
        SpiffeId spiffeId, List<X509Certificate> chain, PrivateKey privateKey, String hint) {

    /**
     * @throws X509SvidException if the chain or key breaks an X509-SVID rule
     */
    public X509Svid {
        Objects.requireNonNull(chain, "chain");
        Objects.requireNonNull(privateKey, "privateKey");
        chain = List.copyOf(chain);
        hint = hint == null ? "" : hint;
        if (chain.isEmpty()) {
            throw new X509SvidException(
                    "certificate chain is empty; an X509-SVID needs at least its leaf certificate");
        }
        SpiffeId leafId = X509SvidRules.leafSpiffeId(chain.get(0));
        if (spiffeId != null && !spiffeId.equals(leafId)) {
            throw new X509SvidException(
                    "SPIFFE ID \""
                            + spiffeId
                            + "\" does not match the leaf certificate's URI SAN \""
                            + leafId
                            + "\"");
        }
        spiffeId = leafId;
        X509SvidRules.checkLeafConstraints(chain.get(0));
        for (int i = 1; i < chain.size(); i++) {
            X509SvidRules.checkSigningCertificate(chain.get(i), i);
        }
        X509SvidRules.checkKeyMatches(privateKey, chain.get(0));
    }

    /**
     * An SVID from a chain (leaf first) and the leaf's key; the SPIFFE ID is read from the leaf.
     *
     * @throws X509SvidException if the chain or key breaks an X509-SVID rule
     */
    public static X509Svid of(List<X509Certificate> chain, PrivateKey privateKey) {
        return new X509Svid(null, chain, privateKey, "");
    }

    public static X509Svid of(List<X509Certificate> chain, PrivateKey privateKey, String hint) {
        return new X509Svid(null, chain, privateKey, hint);
    }

    /**
     * Parses PEM certificates (leaf first) and a PEM PKCS#8 {@code PRIVATE KEY}, as written by
     * {@code spire-agent api fetch x509 -write} ({@code svid.0.pem}, {@code svid.0.key}).
     *
     * @throws X509SvidException if either is malformed or breaks an X509-SVID rule
     */
    public static X509Svid parsePem(String chainPem, String keyPem) {
        List<X509Certificate> chain;
        try {
            chain = Der.certificatesFromPem(chainPem);
        } catch (Der.MalformedException e) {
            throw new X509SvidException("certificate chain: " + e.getMessage(), e);
        }
        if (chain.isEmpty()) {
            throw new X509SvidException("certificate chain: no CERTIFICATE block found in PEM");
        }
        PrivateKey key;
        try {
            key = Der.privateKeyFromPem(keyPem);
        } catch (Der.MalformedException e) {
            throw new X509SvidException("private key: " + e.getMessage(), e);
        }
        return of(chain, key);
    }

    public static X509Svid parsePem(byte[] chainPem, byte[] keyPem) {
        return parsePem(
                new String(chainPem, StandardCharsets.UTF_8),
                new String(keyPem, StandardCharsets.UTF_8));
    }

    /**
     * Parses concatenated DER certificates (leaf first) and a PKCS#8 DER key: the Workload API's
     * {@code x509_svid} and {@code x509_svid_key} fields.
     *
     * @throws X509SvidException if either is malformed or breaks an X509-SVID rule
     */
    public static X509Svid parseDer(byte[] chainDer, byte[] pkcs8Key) {
        return parseDer(chainDer, pkcs8Key, "");
    }

    public static X509Svid parseDer(byte[] chainDer, byte[] pkcs8Key, String hint) {
        List<X509Certificate> chain;
        try {
            chain = Der.certificatesFromDer(chainDer);
        } catch (Der.MalformedException e) {
            throw new X509SvidException("certificate chain: " + e.getMessage(), e);
        }
        PrivateKey key;
        try {
            key = Der.privateKeyFromPkcs8(pkcs8Key);
        } catch (Der.MalformedException e) {
            throw new X509SvidException("private key: " + e.getMessage(), e);
        }
        return of(chain, key, hint);
    }

    /** The leaf certificate, {@code chain().get(0)}. */
    public X509Certificate leaf() {
        return chain.get(0);
    }

    /** The chain as PEM {@code CERTIFICATE} blocks, leaf first. */
    public String chainPem() {
        return Der.toPem(chain);
    }

    /** The chain as concatenated DER, leaf first (Workload API {@code x509_svid}). */
    public byte[] chainDer() {
        return Der.concat(chain);
    }

    /** The key as a PEM PKCS#8 {@code PRIVATE KEY} block. Write it to files with mode 0600. */
    public String privateKeyPem() {
        return Der.pemBlock("PRIVATE KEY", privateKeyDer());
    }

    /** The key as PKCS#8 DER (Workload API {@code x509_svid_key}). */
    public byte[] privateKeyDer() {
        return Der.pkcs8(privateKey);
    }

    /** Describes the SVID without its key material. */
    @Override
    public String toString() {
        return "X509Svid["
                + spiffeId
                + ", chain of "
                + chain.size()
                + ", expires "
                + leaf().getNotAfter().toInstant()
                + (hint.isEmpty() ? "" : ", hint=" + hint)
                + "]";
    }
}
