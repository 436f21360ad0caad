package io.mithril.pki;

import io.mithril.spiffe.id.InvalidSpiffeIdException;
import io.mithril.spiffe.id.SpiffeId;
import java.io.IOException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1IA5String;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * A PKCS#10 certificate signing request as SPIFFE uses it: the public key to certify, and the
 * requested SPIFFE ID and DNS names as subject alternative names in an {@code extensionRequest}
 * attribute. The subject name is left empty; the signer decides the certificate's subject.
 *
 * <p>{@link #parse(byte[])} only returns requests whose self-signature verifies (proof that the
 * requester holds the private key) and whose URI SANs are at most one valid SPIFFE ID.
 */
public final class Csr {

    private final PublicKey publicKey;
    private final Optional<SpiffeId> spiffeId;
    private final List<String> dnsNames;
    private final byte[] der;

    private Csr(
            PublicKey publicKey, Optional<SpiffeId> spiffeId, List<String> dnsNames, byte[] der) {
        this.publicKey = publicKey;
        this.spiffeId = spiffeId;
        this.dnsNames = dnsNames;
        this.der = der;
    }

    /**
     * Creates a CSR signed by the key pair.
     *
     * @param keyPair the key to certify; its private half signs the request
     * @param id the SPIFFE ID to request as the URI SAN, or null for none
     * @param dnsNames DNS SANs to request (may be empty)
     * @return the DER encoding
     * @throws CsrException if a DNS name is not a valid IA5 string or the key cannot sign
     */
    public static byte[] create(KeyPair keyPair, SpiffeId id, List<String> dnsNames) {
        return create(keyPair, id, dnsNames, CryptoProvider.get());
    }

    /** As {@link #create(KeyPair, SpiffeId, List)}, signing with the given provider. */
    public static byte[] create(
            KeyPair keyPair, SpiffeId id, List<String> dnsNames, CryptoProvider provider) {
        List<String> dns = dnsNames == null ? List.of() : dnsNames;
        try {
            JcaPKCS10CertificationRequestBuilder b =
                    new JcaPKCS10CertificationRequestBuilder(
                            new X500Name(new org.bouncycastle.asn1.x500.RDN[0]),
                            keyPair.getPublic());
            List<GeneralName> names = new ArrayList<>();
            if (id != null) {
                names.add(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString()));
            }
            for (String d : dns) {
                if (d == null || d.isBlank()) {
                    throw new CsrException("DNS name must not be empty");
                }
                names.add(new GeneralName(GeneralName.dNSName, d));
            }
            if (!names.isEmpty()) {
                ExtensionsGenerator eg = new ExtensionsGenerator();
                eg.addExtension(
                        Extension.subjectAlternativeName,
                        false,
                        new GeneralNames(names.toArray(new GeneralName[0])));
                b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, eg.generate());
            }
            String alg = KeyType.signatureAlgorithmFor(keyPair.getPrivate());
            return b.build(provider.contentSigner(keyPair.getPrivate(), alg)).getEncoded();
        } catch (IOException | IllegalArgumentException e) {
            throw new CsrException("cannot create CSR: " + e.getMessage(), e);
        }
    }

    /**
     * Parses a DER CSR and verifies its signature with the process's {@link CryptoProvider}.
     *
     * @throws CsrException if the DER is malformed, the signature does not verify, there is more
     *     than one URI SAN, or the URI SAN is not a valid SPIFFE ID
     */
    public static Csr parse(byte[] der) {
        return parse(der, CryptoProvider.get());
    }

    /** As {@link #parse(byte[])}, verifying with the given provider. */
    public static Csr parse(byte[] der, CryptoProvider provider) {
        if (der == null || der.length == 0) {
            throw new CsrException("CSR is empty");
        }
        JcaPKCS10CertificationRequest req;
        PublicKey key;
        try {
            req = new JcaPKCS10CertificationRequest(new PKCS10CertificationRequest(der));
            provider.provider().ifPresent(req::setProvider);
            key = req.getPublicKey();
        } catch (IOException | RuntimeException | java.security.GeneralSecurityException e) {
            throw new CsrException("malformed CSR: " + e.getMessage(), e);
        }
        try {
            if (!req.isSignatureValid(provider.contentVerifierProvider(key))) {
                throw new CsrException(
                        "CSR signature does not verify: the request was altered or not signed by the key it carries");
            }
        } catch (PKCSException | CryptoException e) {
            throw new CsrException("cannot verify CSR signature: " + e.getMessage(), e);
        }
        List<SpiffeId> ids = new ArrayList<>();
        List<String> dns = new ArrayList<>();
        for (Attribute a : req.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
            for (ASN1Encodable v : a.getAttributeValues()) {
                Extensions exts;
                try {
                    exts = Extensions.getInstance(v);
                } catch (RuntimeException e) {
                    throw new CsrException(
                            "malformed extensionRequest in CSR: " + e.getMessage(), e);
                }
                GeneralNames sans =
                        GeneralNames.fromExtensions(exts, Extension.subjectAlternativeName);
                if (sans == null) {
                    continue;
                }
                for (GeneralName n : sans.getNames()) {
                    if (n.getTagNo() == GeneralName.uniformResourceIdentifier) {
                        String uri = ASN1IA5String.getInstance(n.getName()).getString();
                        try {
                            ids.add(SpiffeId.parse(uri));
                        } catch (InvalidSpiffeIdException e) {
                            throw new CsrException(
                                    "CSR URI SAN \""
                                            + uri
                                            + "\" is not a valid SPIFFE ID: "
                                            + e.getMessage(),
                                    e);
                        }
                    } else if (n.getTagNo() == GeneralName.dNSName) {
                        dns.add(ASN1IA5String.getInstance(n.getName()).getString());
                    }
                }
            }
        }
        if (ids.size() > 1) {
            throw new CsrException(
                    "CSR has "
                            + ids.size()
                            + " URI SANs "
                            + ids
                            + ": a SPIFFE CSR carries at most one");
        }
        return new Csr(key, ids.stream().findFirst(), List.copyOf(dns), der.clone());
    }

    /** The public key to certify. */
    public PublicKey publicKey() {
        return publicKey;
    }

    /** The requested SPIFFE ID (the URI SAN), if any. */
    public Optional<SpiffeId> spiffeId() {
        return spiffeId;
    }

    /** The requested DNS SANs, in order. */
    public List<String> dnsNames() {
        return dnsNames;
    }

    /** The DER encoding this was parsed from. */
    public byte[] encoded() {
        return der.clone();
    }
}
