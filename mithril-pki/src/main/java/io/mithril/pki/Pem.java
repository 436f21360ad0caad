package io.mithril.pki;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * Reading and writing PEM: certificates ({@code CERTIFICATE} blocks, one or many) and private keys
 * (PKCS#8 {@code PRIVATE KEY}, SEC1 {@code EC PRIVATE KEY}, PKCS#1 {@code RSA PRIVATE KEY}). Keys
 * are always written as unencrypted PKCS#8 {@code PRIVATE KEY}, as SPIRE writes them.
 *
 * <p>Every failure is a {@link PemException} whose message starts with the source (the file path,
 * or "PEM input" for bytes and strings) and says what is wrong. Files are written atomically (a
 * temporary file in the same directory, then a rename), so a reader never sees a half-written file;
 * key files are created with mode 0600.
 */
public final class Pem {

    private static final String INPUT = "PEM input";
    private static final Set<PosixFilePermission> KEY_PERMS =
            PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> CERT_PERMS =
            PosixFilePermissions.fromString("rw-r--r--");

    private Pem() {}

    // ---- certificates ------------------------------------------------------------------

    /** Every {@code CERTIFICATE} block of the text, in order; at least one. */
    public static List<X509Certificate> readCertificates(String pem) {
        return readCertificates(pem, INPUT);
    }

    /** Every {@code CERTIFICATE} block of the bytes (UTF-8/ASCII PEM), in order; at least one. */
    public static List<X509Certificate> readCertificates(byte[] pem) {
        return readCertificates(new String(pem, StandardCharsets.UTF_8), INPUT);
    }

    /** Every {@code CERTIFICATE} block of the file, in order; at least one. */
    public static List<X509Certificate> readCertificates(Path file) {
        return readCertificates(readFile(file), file.toString());
    }

    /** The single certificate of the text; more or fewer than one is an error. */
    public static X509Certificate readCertificate(String pem) {
        return single(readCertificates(pem, INPUT), INPUT);
    }

    /** The single certificate of the file; more or fewer than one is an error. */
    public static X509Certificate readCertificate(Path file) {
        return single(readCertificates(readFile(file), file.toString()), file.toString());
    }

    private static X509Certificate single(List<X509Certificate> certs, String source) {
        if (certs.size() != 1) {
            throw new PemException(
                    source + ": expected exactly one certificate, found " + certs.size());
        }
        return certs.get(0);
    }

    private static List<X509Certificate> readCertificates(String text, String source) {
        List<PemObject> blocks = blocks(text, source);
        List<X509Certificate> out = new ArrayList<>();
        CertificateFactory cf = certificateFactory();
        int index = 0;
        for (PemObject b : blocks) {
            index++;
            if (!b.getType().equals("CERTIFICATE")
                    && !b.getType().equals("X509 CERTIFICATE")
                    && !b.getType().equals("TRUSTED CERTIFICATE")) {
                continue; // bundles often carry comments or keys beside certificates
            }
            try {
                out.add(
                        (X509Certificate)
                                cf.generateCertificate(new ByteArrayInputStream(b.getContent())));
            } catch (CertificateException | RuntimeException e) {
                throw new PemException(
                        source
                                + ": PEM block "
                                + index
                                + " (CERTIFICATE) is not a valid X.509 certificate: "
                                + e.getMessage(),
                        e);
            }
        }
        if (out.isEmpty()) {
            throw new PemException(source + ": no CERTIFICATE block found" + foundTypes(blocks));
        }
        return List.copyOf(out);
    }

    /** The certificate as one PEM block. */
    public static String encodeCertificate(X509Certificate cert) {
        return encodeCertificates(List.of(cert));
    }

    /** The certificates as consecutive PEM blocks, in order. */
    public static String encodeCertificates(List<X509Certificate> certs) {
        StringWriter sw = new StringWriter();
        try (PemWriter w = new PemWriter(sw)) {
            for (X509Certificate c : certs) {
                w.writeObject(new PemObject("CERTIFICATE", c.getEncoded()));
            }
        } catch (IOException | CertificateEncodingException e) {
            throw new PemException("cannot encode certificate: " + e.getMessage(), e);
        }
        return sw.toString();
    }

    /** Writes the certificates to the file atomically, mode 0644. */
    public static void writeCertificates(Path file, List<X509Certificate> certs) {
        writeAtomically(
                file, encodeCertificates(certs).getBytes(StandardCharsets.US_ASCII), CERT_PERMS);
    }

    // ---- private keys ------------------------------------------------------------------

    /**
     * The private key of the text ({@code PRIVATE KEY}, {@code EC PRIVATE KEY} or {@code RSA
     * PRIVATE KEY}).
     */
    public static PrivateKey readPrivateKey(String pem) {
        return readPrivateKey(pem, INPUT);
    }

    /** The private key of the bytes. */
    public static PrivateKey readPrivateKey(byte[] pem) {
        return readPrivateKey(new String(pem, StandardCharsets.UTF_8), INPUT);
    }

    /** The private key of the file. */
    public static PrivateKey readPrivateKey(Path file) {
        return readPrivateKey(readFile(file), file.toString());
    }

    private static PrivateKey readPrivateKey(String text, String source) {
        List<PemObject> blocks = blocks(text, source); // checks base64 and block framing first
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        PrivateKey found = null;
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
            Object o;
            while ((o = parser.readObject()) != null) {
                PrivateKey k;
                if (o instanceof PrivateKeyInfo info) {
                    k = converter.getPrivateKey(info);
                } else if (o instanceof PEMKeyPair pair) {
                    k = converter.getPrivateKey(pair.getPrivateKeyInfo());
                } else if (o instanceof PEMEncryptedKeyPair
                        || o instanceof PKCS8EncryptedPrivateKeyInfo) {
                    throw new PemException(
                            source
                                    + ": the private key is encrypted; write it unencrypted"
                                    + " (openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pem)");
                } else if (o instanceof X9ECParameters
                        || o instanceof ASN1ObjectIdentifier
                        || o instanceof X509CertificateHolder) {
                    continue; // "EC PARAMETERS" before an EC key, or a certificate beside it
                } else {
                    continue;
                }
                if (found != null) {
                    throw new PemException(
                            source + ": more than one private key found; keep one key per file");
                }
                found = k;
            }
        } catch (PemException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new PemException(source + ": malformed private key: " + e.getMessage(), e);
        }
        if (found == null) {
            throw new PemException(
                    source
                            + ": no PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block found"
                            + foundTypes(blocks));
        }
        return found;
    }

    /** The key as a PKCS#8 {@code PRIVATE KEY} PEM block. */
    public static String encodePrivateKey(PrivateKey key) {
        byte[] der = key.getEncoded();
        if (der == null || !"PKCS#8".equals(key.getFormat())) {
            throw new PemException(
                    "cannot encode "
                            + key.getAlgorithm()
                            + " private key as PKCS#8 (format "
                            + key.getFormat()
                            + "): the key is not exportable");
        }
        StringWriter sw = new StringWriter();
        try (PemWriter w = new PemWriter(sw)) {
            w.writeObject(new PemObject("PRIVATE KEY", der));
        } catch (IOException e) {
            throw new PemException("cannot encode private key: " + e.getMessage(), e);
        } finally {
            java.util.Arrays.fill(der, (byte) 0);
        }
        return sw.toString();
    }

    /** Writes the key as PKCS#8 PEM, atomically, with mode 0600 from the first byte on disk. */
    public static void writePrivateKey(Path file, PrivateKey key) {
        writeAtomically(file, encodePrivateKey(key).getBytes(StandardCharsets.US_ASCII), KEY_PERMS);
    }

    /**
     * Writes a secret that is not a key (a join token, a configuration file that holds one) as
     * {@link #writePrivateKey} writes keys: atomically, mode 0600 from the first byte on disk, so
     * no other local user can read it, not even while it is being written.
     */
    public static void writeSecret(Path file, String text) {
        writeAtomically(file, text.getBytes(StandardCharsets.UTF_8), KEY_PERMS);
    }

    // ---- internals ---------------------------------------------------------------------

    private static List<PemObject> blocks(String text, String source) {
        List<PemObject> out = new ArrayList<>();
        try (PemReader r = new PemReader(new StringReader(text))) {
            PemObject o;
            while ((o = r.readPemObject()) != null) {
                out.add(o);
            }
        } catch (IOException | RuntimeException e) {
            throw new PemException(source + ": malformed PEM: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new PemException(
                    source + ": no PEM block found (expected \"-----BEGIN ...-----\" lines)");
        }
        return out;
    }

    private static String foundTypes(List<PemObject> blocks) {
        List<String> types = new ArrayList<>();
        for (PemObject b : blocks) {
            types.add(b.getType());
        }
        return " (found " + String.join(", ", types) + ")";
    }

    private static String readFile(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new PemException(file + ": file does not exist", e);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new PemException(file + ": not a PEM file (not text)", e);
        } catch (IOException e) {
            throw new PemException(file + ": cannot read file: " + e, e);
        }
    }

    private static CertificateFactory certificateFactory() {
        try {
            return CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("the JDK has no X.509 certificate factory", e);
        }
    }

    static void writeAtomically(Path file, byte[] content, Set<PosixFilePermission> perms) {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            try {
                tmp =
                        Files.createTempFile(
                                dir,
                                "." + target.getFileName(),
                                ".tmp",
                                PosixFilePermissions.asFileAttribute(perms));
            } catch (UnsupportedOperationException e) {
                tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
            }
            try (var ch =
                    java.nio.channels.FileChannel.open(
                            tmp,
                            java.nio.file.StandardOpenOption.WRITE,
                            java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(content);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            try {
                Files.move(
                        tmp,
                        target,
                        StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new PemException(file + ": cannot write file: " + e, e);
        } finally {
            java.util.Arrays.fill(content, (byte) 0);
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: the temp file is 0600 and named after the target
                }
            }
        }
    }
}
