package io.mithril.pki.upstream;

import io.mithril.pki.Certificates;
import io.mithril.pki.KeyType;
import io.mithril.pki.Pem;
import io.mithril.pki.PemException;
import io.mithril.pki.PkiException;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.spiffe.id.TrustDomain;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import javax.security.auth.x500.X500Principal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SPIRE's {@code UpstreamAuthority "disk"}: an operator's CA, kept in PEM files, signs the server's
 * CA key as an intermediate.
 *
 * <p>Settings: {@code cert_file_path}, {@code key_file_path} and optional {@code bundle_file_path}.
 *
 * <ul>
 *   <li>Without a bundle file, the certificate file must hold exactly one certificate, a
 *       self-signed CA; it is the trust domain's root.
 *   <li>With a bundle file, the certificate file holds the chain from the upstream signing
 *       certificate up to (not including) a root of the bundle, and the bundle's certificates are
 *       the roots.
 * </ul>
 *
 * The minted intermediate is a CA ({@code cA=true}, keyCertSign|cRLSign) whose URI SAN is the trust
 * domain ID and whose NotAfter is never later than the upstream chain's. The returned chain is
 * {@code [intermediate, upstream intermediates...]}; the roots go to the bundle.
 *
 * <p>The files are checked when loaded (so a bad configuration fails at start-up) and read again on
 * every mint, so an operator can rotate the upstream CA on disk without a restart. Every problem is
 * an {@link UpstreamAuthorityException} naming the file and the fault.
 *
 * <p>Two servers given the same disk CA and trust domain each mint their own intermediate; SVIDs of
 * either validate against the one shared root.
 */
public final class DiskUpstreamAuthority implements UpstreamAuthority {

    private static final Logger log = LoggerFactory.getLogger(DiskUpstreamAuthority.class);

    private final Path certFile;
    private final Path keyFile;
    private final Path bundleFile;
    private final X509Minter minter;

    private DiskUpstreamAuthority(Path certFile, Path keyFile, Path bundleFile, X509Minter minter) {
        this.certFile = Objects.requireNonNull(certFile, "cert_file_path");
        this.keyFile = Objects.requireNonNull(keyFile, "key_file_path");
        this.bundleFile = bundleFile;
        this.minter = Objects.requireNonNull(minter, "minter");
    }

    /**
     * Loads and checks the upstream CA files.
     *
     * @param certFile {@code cert_file_path}
     * @param keyFile {@code key_file_path}
     * @param bundleFileOrNull {@code bundle_file_path}, or null when the certificate is a
     *     self-signed root
     * @param clock the time used for validity checks and for minting
     * @throws UpstreamAuthorityException naming the file and the problem
     */
    public static DiskUpstreamAuthority load(
            Path certFile, Path keyFile, Path bundleFileOrNull, Clock clock)
            throws UpstreamAuthorityException {
        return load(certFile, keyFile, bundleFileOrNull, new X509Minter(clock));
    }

    /**
     * As {@link #load(Path, Path, Path, Clock)}, minting with the given minter (and its clock and
     * provider).
     */
    public static DiskUpstreamAuthority load(
            Path certFile, Path keyFile, Path bundleFileOrNull, X509Minter minter)
            throws UpstreamAuthorityException {
        DiskUpstreamAuthority ua =
                new DiskUpstreamAuthority(certFile, keyFile, bundleFileOrNull, minter);
        Credentials c = ua.readCredentials();
        log.info(
                "upstream CA disk: loaded {} from {}{}",
                c.authority.certificate().getSubjectX500Principal(),
                certFile,
                bundleFileOrNull == null
                        ? " (self-signed root)"
                        : " with " + c.roots.size() + " root(s) from " + bundleFileOrNull);
        return ua;
    }

    @Override
    public String name() {
        return "disk";
    }

    /** {@code cert_file_path}. */
    public Path certFile() {
        return certFile;
    }

    /** {@code key_file_path}. */
    public Path keyFile() {
        return keyFile;
    }

    /** {@code bundle_file_path}, if configured. */
    public Optional<Path> bundleFile() {
        return Optional.ofNullable(bundleFile);
    }

    /**
     * The upstream trust anchors as the files say now (the bundle's certificates, or the
     * self-signed certificate).
     *
     * @throws UpstreamAuthorityException if the files are no longer valid
     */
    public List<X509Certificate> roots() throws UpstreamAuthorityException {
        return readCredentials().roots;
    }

    @Override
    public MintedX509Ca mintX509Ca(
            KeyPair serverCaKey, TrustDomain trustDomain, Duration ttl, X500Principal subject)
            throws UpstreamAuthorityException {
        Objects.requireNonNull(serverCaKey, "serverCaKey");
        Credentials c = readCredentials(); // re-read: the operator may have rotated the files
        X509Certificate ca;
        try {
            ca = minter.signCa(c.authority, serverCaKey.getPublic(), trustDomain, ttl, subject);
        } catch (PkiException | IllegalArgumentException e) {
            throw new UpstreamAuthorityException(
                    "upstream CA " + certFile + ": cannot sign the server CA: " + e.getMessage(),
                    e);
        }
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(ca);
        if (bundleFile != null) {
            chain.addAll(c.authority.chain()); // the upstream signing cert and its intermediates
        }
        log.info(
                "upstream CA disk: signed server CA for {} (serial {}, valid until {}) with {}",
                trustDomain,
                ca.getSerialNumber().toString(16),
                ca.getNotAfter().toInstant(),
                c.authority.certificate().getSubjectX500Principal());
        return new MintedX509Ca(chain, c.roots);
    }

    private record Credentials(SigningAuthority authority, List<X509Certificate> roots) {}

    private Credentials readCredentials() throws UpstreamAuthorityException {
        List<X509Certificate> certs = read(() -> Pem.readCertificates(certFile));
        PrivateKey key = read(() -> Pem.readPrivateKey(keyFile));
        List<X509Certificate> bundle =
                bundleFile == null ? null : read(() -> Pem.readCertificates(bundleFile));

        if (bundle == null && certs.size() != 1) {
            throw fail(
                    certFile,
                    "holds "
                            + certs.size()
                            + " certificates; without bundle_file_path it must hold exactly one"
                            + " self-signed CA certificate (to use a chain, put its root in a file named by bundle_file_path)");
        }
        X509Certificate signer = certs.get(0);
        checkCa(signer, "certificate");
        checkValidity(signer, "certificate");
        checkKeyMatches(signer, key);

        if (bundle == null) {
            if (!Certificates.isSelfSigned(signer)) {
                throw fail(
                        certFile,
                        "certificate \""
                                + signer.getSubjectX500Principal()
                                + "\" is not self-signed (issued by \""
                                + signer.getIssuerX500Principal()
                                + "\"); without bundle_file_path the certificate must be a"
                                + " self-signed root, or set bundle_file_path to the file holding its root");
            }
            return new Credentials(SigningAuthority.of(signer, key), List.of(signer));
        }
        List<X509Certificate> chain = chainToBundle(certs, bundle);
        return new Credentials(new SigningAuthority(signer, key, chain), bundle);
    }

    /** Checks that the cert file's chain links up to a bundle root; returns it without any root. */
    private List<X509Certificate> chainToBundle(
            List<X509Certificate> certs, List<X509Certificate> bundle)
            throws UpstreamAuthorityException {
        List<X509Certificate> chain = new ArrayList<>(certs);
        // Operators often append the root itself; it is a trust anchor, not part of the chain.
        while (chain.size() > 1 && bundle.contains(chain.get(chain.size() - 1))) {
            chain.remove(chain.size() - 1);
        }
        for (int i = 0; i + 1 < chain.size(); i++) {
            X509Certificate child = chain.get(i);
            X509Certificate parent = chain.get(i + 1);
            if (!child.getIssuerX500Principal().equals(parent.getSubjectX500Principal())
                    || !Certificates.isSignedBy(child, parent.getPublicKey())) {
                throw fail(
                        certFile,
                        "certificate "
                                + (i + 2)
                                + " (\""
                                + parent.getSubjectX500Principal()
                                + "\") did not issue certificate "
                                + (i + 1)
                                + " (\""
                                + child.getSubjectX500Principal()
                                + "\"); the file must hold the chain in order, the signing certificate first");
            }
            checkCa(parent, "certificate " + (i + 2));
            checkValidity(parent, "certificate " + (i + 2));
        }
        X509Certificate last = chain.get(chain.size() - 1);
        X509Certificate root = null;
        for (X509Certificate r : bundle) {
            if (last.getIssuerX500Principal().equals(r.getSubjectX500Principal())
                    && Certificates.isSignedBy(last, r.getPublicKey())) {
                root = r;
                break;
            }
        }
        if (root == null) {
            throw fail(
                    certFile,
                    "chain does not reach any root in bundle "
                            + bundleFile
                            + " (the last certificate \""
                            + last.getSubjectX500Principal()
                            + "\" is issued by \""
                            + last.getIssuerX500Principal()
                            + "\"; the bundle holds "
                            + bundle.stream()
                                    .map(c -> "\"" + c.getSubjectX500Principal() + "\"")
                                    .collect(Collectors.joining(", "))
                            + ")");
        }
        // Full RFC 5280 path validation at the configured clock catches what the checks above do
        // not
        // (an expired root, a path length constraint, a critical extension nobody understands).
        try {
            PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
            params.setRevocationEnabled(false);
            params.setDate(Date.from(minter.clock().instant()));
            CertPathValidator.getInstance("PKIX")
                    .validate(
                            CertificateFactory.getInstance("X.509").generateCertPath(chain),
                            params);
        } catch (CertPathValidatorException e) {
            throw fail(
                    certFile,
                    "chain fails validation against bundle " + bundleFile + ": " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw fail(certFile, "cannot validate chain against bundle " + bundleFile + ": " + e);
        }
        return List.copyOf(chain);
    }

    private void checkCa(X509Certificate cert, String what) throws UpstreamAuthorityException {
        if (cert.getBasicConstraints() < 0) {
            boolean hasExtension = cert.getExtensionValue("2.5.29.19") != null;
            throw fail(
                    certFile,
                    what
                            + " is not a CA ("
                            + (hasExtension
                                    ? "basicConstraints CA=false"
                                    : "no basicConstraints extension")
                            + "): \""
                            + cert.getSubjectX500Principal()
                            + "\"");
        }
        boolean[] ku = cert.getKeyUsage();
        if (ku != null && (ku.length < 6 || !ku[5])) {
            throw fail(
                    certFile,
                    what
                            + " \""
                            + cert.getSubjectX500Principal()
                            + "\" may not sign certificates (its keyUsage lacks keyCertSign)");
        }
        if (what.equals("certificate") && cert.getBasicConstraints() == 0) {
            throw fail(
                    certFile,
                    what
                            + " \""
                            + cert.getSubjectX500Principal()
                            + "\" has pathLenConstraint=0, so it"
                            + " cannot sign the server's intermediate CA");
        }
    }

    private void checkValidity(X509Certificate cert, String what)
            throws UpstreamAuthorityException {
        Instant now = minter.clock().instant();
        Instant notBefore = cert.getNotBefore().toInstant();
        Instant notAfter = cert.getNotAfter().toInstant();
        if (now.isBefore(notBefore)) {
            throw fail(
                    certFile,
                    what
                            + " \""
                            + cert.getSubjectX500Principal()
                            + "\" is not yet valid: NotBefore "
                            + notBefore
                            + " is after now ("
                            + now
                            + ")");
        }
        if (!now.isBefore(notAfter)) {
            throw fail(
                    certFile,
                    what
                            + " \""
                            + cert.getSubjectX500Principal()
                            + "\" expired at "
                            + notAfter
                            + " (now "
                            + now
                            + ")");
        }
    }

    private void checkKeyMatches(X509Certificate cert, PrivateKey key)
            throws UpstreamAuthorityException {
        String why = KeyType.mismatch(key, cert.getPublicKey());
        if (why != null) {
            throw fail(
                    keyFile,
                    "private key does not match the certificate in "
                            + certFile
                            + " (\""
                            + cert.getSubjectX500Principal()
                            + "\"): "
                            + why);
        }
    }

    private interface Reader<T> {
        T read();
    }

    private static <T> T read(Reader<T> r) throws UpstreamAuthorityException {
        try {
            return r.read();
        } catch (PemException e) {
            // PemException messages start with the file path already.
            throw new UpstreamAuthorityException("upstream CA " + e.getMessage(), e);
        }
    }

    private static UpstreamAuthorityException fail(Path file, String problem) {
        return new UpstreamAuthorityException("upstream CA " + file + ": " + problem);
    }
}
