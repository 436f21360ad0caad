package io.mithril.server.federation;

import io.mithril.pki.Pem;
import io.mithril.pki.PkiException;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The https_web profile's {@code serving_cert_file}: a certificate chain and key read from PEM
 * files, re-read when either file's modification time changes (checked at most once per {@code
 * file_sync_interval}). A change that does not load (half-written files, a key that does not match)
 * is logged and the previous pair stays in use.
 */
public final class ServingCertFile extends X509ExtendedKeyManager {

    private static final Logger log = LoggerFactory.getLogger(ServingCertFile.class);
    private static final String ALIAS = "bundle-endpoint";

    private final Path certFile;
    private final Path keyFile;
    private final Duration syncInterval;
    private final Clock clock;
    private volatile Loaded loaded;
    private volatile Instant nextCheck;

    private record Loaded(
            List<X509Certificate> chain, PrivateKey key, FileTime certTime, FileTime keyTime) {}

    private ServingCertFile(
            Path certFile, Path keyFile, Duration syncInterval, Clock clock, Loaded loaded) {
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.syncInterval = syncInterval;
        this.clock = clock;
        this.loaded = loaded;
        this.nextCheck = clock.instant().plus(syncInterval);
    }

    /**
     * Loads the pair.
     *
     * @throws IllegalArgumentException naming the file that cannot be used
     */
    public static ServingCertFile load(
            Path certFile, Path keyFile, Duration syncInterval, Clock clock) {
        return new ServingCertFile(certFile, keyFile, syncInterval, clock, read(certFile, keyFile));
    }

    private static Loaded read(Path certFile, Path keyFile) {
        try {
            FileTime ct = Files.getLastModifiedTime(certFile);
            FileTime kt = Files.getLastModifiedTime(keyFile);
            List<X509Certificate> chain = Pem.readCertificates(certFile);
            if (chain.isEmpty()) {
                throw new IllegalArgumentException(
                        "serving_cert_file cert_file_path " + certFile + ": no CERTIFICATE block");
            }
            PrivateKey key = Pem.readPrivateKey(keyFile);
            String why = io.mithril.pki.KeyType.mismatch(key, chain.get(0).getPublicKey());
            if (why != null) {
                throw new IllegalArgumentException(
                        "serving_cert_file: key_file_path "
                                + keyFile
                                + " is not the key of "
                                + certFile
                                + " ("
                                + why
                                + "); write the matching pair");
            }
            return new Loaded(List.copyOf(chain), key, ct, kt);
        } catch (IOException | PkiException e) {
            throw new IllegalArgumentException(
                    "serving_cert_file " + certFile + " / " + keyFile + ": " + e.getMessage(), e);
        }
    }

    private Loaded current() {
        Instant now = clock.instant();
        if (now.isAfter(nextCheck)) {
            synchronized (this) {
                if (now.isAfter(nextCheck)) {
                    nextCheck = now.plus(syncInterval);
                    try {
                        Loaded l = loaded;
                        if (!Files.getLastModifiedTime(certFile).equals(l.certTime())
                                || !Files.getLastModifiedTime(keyFile).equals(l.keyTime())) {
                            loaded = read(certFile, keyFile);
                            log.info(
                                    "Bundle endpoint serving certificate reloaded from {}: subject={} notAfter={}",
                                    certFile,
                                    loaded.chain().get(0).getSubjectX500Principal(),
                                    loaded.chain().get(0).getNotAfter().toInstant());
                        }
                    } catch (IOException | IllegalArgumentException e) {
                        log.warn(
                                "Bundle endpoint serving certificate not reloaded, keeping the previous one: {}",
                                e.getMessage());
                    }
                }
            }
        }
        return loaded;
    }

    /** The chain in use. */
    public List<X509Certificate> chain() {
        return current().chain();
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return null;
    }

    // keyType is "EC", "RSA", "RSASSA-PSS", or for TLS 1.2 "EC_EC"/"EC_RSA"/"RSA": answer only for
    // our key's type.
    private String alias(String keyType) {
        String alg = current().key().getAlgorithm();
        alg = alg.equals("ECDSA") ? "EC" : alg;
        boolean fits =
                keyType.equals(alg)
                        || keyType.startsWith(alg + "_")
                        || keyType.equals("RSASSA-PSS") && alg.equals("RSA");
        return fits ? ALIAS : null;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return alias(keyType) == null ? null : new String[] {ALIAS};
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return alias(keyType);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return alias(keyType);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        return ALIAS.equals(alias) ? current().chain().toArray(X509Certificate[]::new) : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        return ALIAS.equals(alias) ? current().key() : null;
    }
}
