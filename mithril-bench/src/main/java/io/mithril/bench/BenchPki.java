package io.mithril.bench;

import io.mithril.pki.KeyType;
import io.mithril.pki.Pem;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * The certificates the proxy benches share: one root of {@code example.org} and an intermediate
 * under it (as an identity server's), and one-hour X509-SVIDs minted from the intermediate.
 */
public final class BenchPki {

    private final X509Minter minter = new X509Minter(Clock.systemUTC());
    private final X509Certificate root;
    private final X509Certificate intermediate;
    private final SigningAuthority ca;

    /** One SVID: its chain (leaf, intermediate) and key. */
    public record Svid(List<X509Certificate> chain, KeyPair key) {}

    public BenchPki() {
        TrustDomain td = TrustDomain.of("example.org");
        KeyPair rootKey = KeyType.EC_P256.generate();
        root = minter.selfSignedCa(rootKey, td, Duration.ofDays(1), null);
        KeyPair intKey = KeyType.EC_P256.generate();
        intermediate =
                minter.signCa(
                        SigningAuthority.of(root, rootKey.getPrivate()),
                        intKey.getPublic(),
                        td,
                        Duration.ofHours(12),
                        null);
        ca = new SigningAuthority(intermediate, intKey.getPrivate(), List.of(intermediate));
    }

    /** An SVID for {@code id} with the given DNS SANs. */
    public Svid svid(String id, List<String> dnsNames) {
        KeyPair key = KeyType.EC_P256.generate();
        X509Certificate leaf =
                minter.signX509Svid(
                        ca, key.getPublic(), SpiffeId.parse(id), dnsNames, Duration.ofHours(1));
        return new Svid(List.of(leaf, intermediate), key);
    }

    /** Writes the root as {@code file} (PEM). */
    public void writeRoot(Path file) {
        Pem.writeCertificates(file, List.of(root));
    }

    /**
     * Writes an SVID's chain and key into one PEM file, as {@code ab -E} wants it; owner-only
     * (0600) from the start, since it holds the key.
     */
    public static void writeCombined(Svid svid, Path file) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(
                file,
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(
                file,
                Pem.encodeCertificates(svid.chain())
                        + Pem.encodePrivateKey(svid.key().getPrivate()));
    }

    /**
     * Writes an SVID as {@code name.pem} (chain) and {@code name.key} (PKCS#8, 0600) in {@code
     * dir}.
     */
    public static void write(Svid svid, Path dir, String name) {
        Pem.writeCertificates(dir.resolve(name + ".pem"), svid.chain());
        Pem.writePrivateKey(dir.resolve(name + ".key"), svid.key().getPrivate());
    }
}
