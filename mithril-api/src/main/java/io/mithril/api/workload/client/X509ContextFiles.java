package io.mithril.api.workload.client;

import io.mithril.spiffe.id.TrustDomain;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * Writes an X.509 context to a directory exactly as {@code spire-agent api fetch x509 -write} does,
 * for tools that read files (curl, nginx, Envoy): per SVID {@code i}, {@code svid.i.pem} (the leaf,
 * then its intermediates), {@code svid.i.key} (PKCS#8 {@code PRIVATE KEY}, mode 0600), {@code
 * bundle.i.pem} (the roots of the SVID's trust domain), and {@code federated_bundle.i.j.pem} for
 * each federated trust domain {@code j} (sorted by name). Each file is written atomically
 * (temporary file, then rename); certificates are 0644.
 */
public final class X509ContextFiles {

    private X509ContextFiles() {}

    /** One file written, with what it holds (for the command's "Writing ..." lines). */
    public record Written(Path path, String description) {}

    /**
     * Writes the files and returns them in order.
     *
     * @throws IOException naming the file that could not be written
     */
    public static List<Written> write(X509Context ctx, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Map.Entry<TrustDomain, List<X509Certificate>>> federated =
                new ArrayList<>(ctx.federatedBundles().entrySet());
        federated.sort(Map.Entry.comparingByKey());
        List<Written> out = new ArrayList<>();
        for (int i = 0; i < ctx.svids().size(); i++) {
            X509Context.Svid s = ctx.svids().get(i);
            Path svid = dir.resolve("svid." + i + ".pem");
            write(
                    svid,
                    certificatesPem(s.chain()).getBytes(StandardCharsets.US_ASCII),
                    "rw-r--r--");
            out.add(new Written(svid, "SVID #" + i));
            Path key = dir.resolve("svid." + i + ".key");
            write(
                    key,
                    privateKeyPem(s.privateKey()).getBytes(StandardCharsets.US_ASCII),
                    "rw-------");
            out.add(new Written(key, "key #" + i));
            Path bundle = dir.resolve("bundle." + i + ".pem");
            write(
                    bundle,
                    certificatesPem(s.bundle()).getBytes(StandardCharsets.US_ASCII),
                    "rw-r--r--");
            out.add(new Written(bundle, "bundle #" + i));
            for (int j = 0; j < federated.size(); j++) {
                Path fb = dir.resolve("federated_bundle." + i + "." + j + ".pem");
                write(
                        fb,
                        certificatesPem(federated.get(j).getValue())
                                .getBytes(StandardCharsets.US_ASCII),
                        "rw-r--r--");
                out.add(
                        new Written(
                                fb,
                                "federated bundle #"
                                        + j
                                        + " for trust domain "
                                        + federated.get(j).getKey().id()));
            }
        }
        return out;
    }

    /** Certificates as concatenated PEM {@code CERTIFICATE} blocks. */
    public static String certificatesPem(List<X509Certificate> certs) {
        StringBuilder b = new StringBuilder();
        for (X509Certificate c : certs) {
            try {
                b.append(pem("CERTIFICATE", c.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException(
                        "cannot encode certificate " + c.getSubjectX500Principal(), e);
            }
        }
        return b.toString();
    }

    /** A private key as a PKCS#8 {@code PRIVATE KEY} PEM block. */
    public static String privateKeyPem(PrivateKey key) {
        if (!"PKCS#8".equals(key.getFormat())) {
            throw new IllegalStateException(
                    "the "
                            + key.getAlgorithm()
                            + " key is not PKCS#8-encodable ("
                            + key.getFormat()
                            + ")");
        }
        return pem("PRIVATE KEY", key.getEncoded());
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN "
                + type
                + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END "
                + type
                + "-----\n";
    }

    private static void write(Path file, byte[] content, String perms) throws IOException {
        Path tmp =
                Files.createTempFile(
                        file.toAbsolutePath().getParent(),
                        "." + file.getFileName(),
                        ".tmp",
                        PosixFilePermissions.asFileAttribute(
                                PosixFilePermissions.fromString("rw-------")));
        try {
            Files.write(tmp, content);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString(perms));
            try {
                Files.move(
                        tmp,
                        file,
                        StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new IOException("cannot write " + file + ": " + e.getMessage(), e);
        } finally {
            Files.deleteIfExists(tmp);
            java.util.Arrays.fill(content, (byte) 0);
        }
    }
}
