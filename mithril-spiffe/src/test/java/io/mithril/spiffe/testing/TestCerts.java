package io.mithril.spiffe.testing;

import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.x509.KeyUsage;

/**
 * The mutable-{@link Spec} form of {@link HeldCertificate} that the SPIFFE module's own X509-SVID
 * rule tests are written in: roots, intermediates and leaf SVIDs with any combination of the
 * extensions the rules look at. Every certificate is built by {@link HeldCertificate}; new tests
 * use that builder directly.
 */
public final class TestCerts {

    private TestCerts() {}

    public static KeyPair ec(String curve) {
        return HeldCertificate.ecKeyPair(curve);
    }

    public static KeyPair ec256() {
        return ec("secp256r1");
    }

    public static KeyPair rsa(int bits) {
        return HeldCertificate.rsaKeyPair(bits);
    }

    public static KeyPair ed25519() {
        return HeldCertificate.ed25519KeyPair();
    }

    /** What to put in a certificate. Mutable, for tests only. */
    public static final class Spec {
        public String cn = "test";

        /** null: no basicConstraints extension. */
        public Boolean ca = Boolean.FALSE;

        /** BouncyCastle KeyUsage bits; null: no keyUsage extension. */
        public Integer keyUsage =
                KeyUsage.digitalSignature | KeyUsage.keyEncipherment | KeyUsage.keyAgreement;

        public List<String> uris = new ArrayList<>();
        public List<String> dns = new ArrayList<>();
        public boolean eku = true;
        public Instant notBefore = Instant.now().minus(Duration.ofHours(1));
        public Instant notAfter = Instant.now().plus(Duration.ofHours(1));

        /**
         * The issuer's signature algorithm (BouncyCastle name, e.g. SHA1withRSA); null: SHA-256
         * with the issuer key's kind.
         */
        public String sigAlg;

        public static Spec leaf(String spiffeId) {
            Spec s = new Spec();
            s.uris.add(spiffeId);
            return s;
        }

        public static Spec ca(String cn, String... uris) {
            Spec s = new Spec();
            s.cn = cn;
            s.ca = Boolean.TRUE;
            s.keyUsage = KeyUsage.keyCertSign | KeyUsage.cRLSign;
            s.eku = false;
            s.uris.addAll(List.of(uris));
            s.notAfter = Instant.now().plus(Duration.ofDays(1));
            return s;
        }
    }

    /** A key pair and its certificate. */
    public record Issued(X509Certificate cert, KeyPair keys) {
        public PrivateKey privateKey() {
            return keys.getPrivate();
        }

        /** Issues a certificate for {@code subjectKeys} signed by this one. */
        public Issued issue(Spec spec, KeyPair subjectKeys) {
            return new Issued(
                    TestCerts.issue(spec, subjectKeys.getPublic(), cert, keys.getPrivate()),
                    subjectKeys);
        }

        public Issued issue(Spec spec) {
            return issue(spec, ec256());
        }

        /**
         * Issues a certificate signed with {@code sigAlg} (BouncyCastle name, e.g. SHA1withRSA).
         */
        public Issued issue(Spec spec, KeyPair subjectKeys, String sigAlg) {
            spec.sigAlg = sigAlg;
            return issue(spec, subjectKeys);
        }
    }

    /** A self-signed CA. */
    public static Issued root(String cn, KeyPair keys, String... uris) {
        return new Issued(
                issue(Spec.ca(cn, uris), keys.getPublic(), null, keys.getPrivate()), keys);
    }

    /**
     * A self-signed certificate made from {@code spec} (any extensions, any {@link Spec#sigAlg}).
     */
    public static Issued selfSigned(Spec spec, KeyPair keys) {
        return new Issued(issue(spec, keys.getPublic(), null, keys.getPrivate()), keys);
    }

    public static Issued root(String cn) {
        return root(cn, ec256());
    }

    /**
     * Issues a certificate; {@code issuer} null means self-signed. Built by {@link
     * HeldCertificate}.
     */
    public static X509Certificate issue(
            Spec spec, PublicKey subjectKey, X509Certificate issuer, PrivateKey issuerKey) {
        HeldCertificate.Builder b =
                HeldCertificate.builder()
                        .commonName(spec.cn)
                        .validityInterval(spec.notBefore, spec.notAfter)
                        .extendedKeyUsage(spec.eku);
        if (issuer == null) {
            b.keyPair(new KeyPair(subjectKey, issuerKey));
        } else {
            b.keyPair(new KeyPair(subjectKey, null))
                    .signedBy(
                            HeldCertificate.of(
                                    issuer, new KeyPair(issuer.getPublicKey(), issuerKey)));
        }
        if (spec.ca == null) {
            b.noBasicConstraints();
        } else if (spec.ca) {
            b.ca();
        }
        if (spec.keyUsage == null) {
            b.noKeyUsage();
        } else {
            b.keyUsage(spec.keyUsage);
        }
        spec.uris.forEach(b::uri);
        spec.dns.forEach(b::addDnsName);
        if (spec.sigAlg != null) {
            b.signatureAlgorithm(spec.sigAlg);
        }
        return b.build().certificate();
    }
}
