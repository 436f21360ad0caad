package io.mithril.server.attestor;

import io.mithril.api.selector.Selector;
import io.mithril.pki.Certificates;
import io.mithril.pki.Pem;
import io.mithril.pki.PkiException;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.x509.CertificatePolicy;
import io.mithril.spiffe.x509.WeakCertificateException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * {@code NodeAttestor "x509pop"} (proof of possession): the agent presents its certificate chain
 * (DER, leaf first, concatenated); the chain must validate (RFC 5280) against the CA bundle at
 * {@code ca_bundle_path}; the server then sends a 32-byte random nonce and the agent must return a
 * signature over it made with the leaf's private key: {@code SHA256withECDSA} (DER) for EC keys,
 * {@code SHA256withRSA} (PKCS#1 v1.5) for RSA keys, {@code Ed25519} for Ed25519 keys.
 *
 * <p>Agent ID: {@code spiffe://<td>/spire/agent/x509pop/<sha1 hex of the leaf DER>}. Selectors:
 * {@code x509pop:subject:cn:<CN>}, {@code x509pop:ca:fingerprint:<sha1 hex>} for each CA
 * certificate of the chain and bundle used, {@code x509pop:serialnumber:<hex>}.
 */
public final class X509PopAttestor implements NodeAttestor {

    public static final String TYPE = "x509pop";

    private final TrustDomain trustDomain;
    private final List<X509Certificate> caBundle;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    private X509PopAttestor(TrustDomain trustDomain, List<X509Certificate> caBundle, Clock clock) {
        this.trustDomain = trustDomain;
        this.caBundle = List.copyOf(caBundle);
        this.clock = clock;
    }

    /**
     * Loads the CA bundle files.
     *
     * @throws IllegalArgumentException naming the file when one cannot be read
     */
    public static X509PopAttestor load(TrustDomain td, List<Path> caBundlePaths, Clock clock) {
        List<X509Certificate> all = new ArrayList<>();
        for (Path p : caBundlePaths) {
            try {
                all.addAll(Pem.readCertificates(p));
            } catch (PkiException e) {
                throw new IllegalArgumentException(
                        "NodeAttestor \"x509pop\" ca_bundle_path " + p + ": " + e.getMessage(), e);
            }
        }
        return new X509PopAttestor(td, all, clock);
    }

    public static X509PopAttestor of(TrustDomain td, List<X509Certificate> caBundle, Clock clock) {
        return new X509PopAttestor(td, caBundle, clock);
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Step begin(byte[] payload) throws AttestationException {
        List<X509Certificate> chain;
        try {
            chain = Certificates.parseDer(payload);
        } catch (PkiException e) {
            throw new AttestationException(
                    "x509pop: payload is not a DER certificate chain: " + e.getMessage());
        }
        X509Certificate leaf = chain.get(0);
        validate(chain);
        byte[] nonce = new byte[32];
        random.nextBytes(nonce);
        return new Challenge(
                nonce,
                response -> {
                    verifySignature(leaf.getPublicKey(), nonce, response);
                    return new AttestationResult(
                            trustDomain.spiffeId("/spire/agent/x509pop/" + sha1Hex(der(leaf))),
                            selectors(chain),
                            true);
                });
    }

    private void validate(List<X509Certificate> chain) throws AttestationException {
        try {
            // PKIX alone accepts SHA-1 signatures and RSA-1024 keys under a CA outside the JDK's
            // store.
            CertificatePolicy.checkPeerChain(chain);
        } catch (WeakCertificateException e) {
            throw new AttestationException("x509pop: " + e.getMessage());
        }
        try {
            Set<TrustAnchor> anchors = new HashSet<>();
            for (X509Certificate ca : caBundle) {
                anchors.add(new TrustAnchor(ca, null));
            }
            CertPath path =
                    CertificateFactory.getInstance("X.509")
                            .generateCertPath(
                                    chain.stream().filter(c -> !caBundle.contains(c)).toList());
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            params.setDate(Date.from(clock.instant()));
            CertPathValidator.getInstance("PKIX").validate(path, params);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new AttestationException(
                    "x509pop: certificate "
                            + chain.get(0).getSubjectX500Principal()
                            + " does not chain to the configured CA bundle: "
                            + e.getMessage());
        }
    }

    private static void verifySignature(PublicKey key, byte[] nonce, byte[] signature)
            throws AttestationException {
        String alg =
                switch (key.getAlgorithm()) {
                    case "EC" -> "SHA256withECDSA";
                    case "RSA" -> "SHA256withRSA";
                    case "Ed25519", "EdDSA" -> "Ed25519";
                    default ->
                            throw new AttestationException(
                                    "x509pop: unsupported key algorithm " + key.getAlgorithm());
                };
        try {
            Signature s = Signature.getInstance(alg);
            s.initVerify(key);
            s.update(nonce);
            if (signature == null || signature.length == 0 || !s.verify(signature)) {
                throw new AttestationException(
                        "x509pop: challenge response signature does not verify with the certificate's key");
            }
        } catch (GeneralSecurityException e) {
            throw new AttestationException(
                    "x509pop: challenge response signature is malformed: " + e.getMessage());
        }
    }

    private List<Selector> selectors(List<X509Certificate> chain) throws AttestationException {
        List<Selector> out = new ArrayList<>();
        X509Certificate leaf = chain.get(0);
        try {
            for (Rdn rdn : new LdapName(leaf.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    out.add(new Selector(TYPE, "subject:cn:" + rdn.getValue()));
                }
            }
        } catch (javax.naming.InvalidNameException e) {
            throw new AttestationException("x509pop: leaf subject unreadable: " + e.getMessage());
        }
        for (X509Certificate c : chain.subList(1, chain.size())) {
            out.add(new Selector(TYPE, "ca:fingerprint:" + sha1Hex(der(c))));
        }
        for (X509Certificate c : caBundle) {
            if (leaf.getIssuerX500Principal().equals(c.getSubjectX500Principal())
                    || chain.stream()
                            .anyMatch(
                                    x ->
                                            x.getIssuerX500Principal()
                                                    .equals(c.getSubjectX500Principal()))) {
                out.add(new Selector(TYPE, "ca:fingerprint:" + sha1Hex(der(c))));
            }
        }
        out.add(new Selector(TYPE, "serialnumber:" + leaf.getSerialNumber().toString(16)));
        return out.stream().distinct().toList();
    }

    private static byte[] der(X509Certificate c) {
        try {
            return c.getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha1Hex(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(data));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
