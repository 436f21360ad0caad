package io.mithril.spiffe.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringReader;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

/**
 * Certificate and key encodings shared by the bundle and SVID packages: PEM, concatenated DER and
 * PKCS#8. Not part of the module's API; its failures are {@link MalformedException}s that the
 * public types rethrow as their own exception kind.
 */
public final class Der {
    private Der() {}

    /** A malformed encoding; the message says what was found where. */
    public static final class MalformedException extends Exception {
        private static final long serialVersionUID = 1L;

        public MalformedException(String message) {
            super(message);
        }

        public MalformedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static CertificateFactory x509Factory() {
        try {
            return CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("the JDK has no X.509 certificate factory", e);
        }
    }

    /** Parses one DER certificate. */
    public static X509Certificate certificate(byte[] der) throws MalformedException {
        List<X509Certificate> certs = certificatesFromDer(der);
        if (certs.size() != 1) {
            throw new MalformedException("expected one DER certificate, found " + certs.size());
        }
        return certs.get(0);
    }

    /**
     * Parses concatenated DER certificates (the Workload API's encoding). Empty input gives an
     * empty list; anything that is not a sequence of complete certificates is rejected.
     */
    public static List<X509Certificate> certificatesFromDer(byte[] der) throws MalformedException {
        CertificateFactory factory = x509Factory();
        ByteArrayInputStream in = new ByteArrayInputStream(der);
        List<X509Certificate> certs = new ArrayList<>();
        while (in.available() > 0) {
            int offset = der.length - in.available();
            // A DER certificate is a SEQUENCE; the JDK factory would also accept PEM or base64
            // here.
            if ((der[offset] & 0xff) != 0x30) {
                throw new MalformedException(
                        String.format(
                                "byte %d: expected a DER certificate (ASN.1 SEQUENCE, 0x30), found 0x%02x",
                                offset, der[offset] & 0xff));
            }
            try {
                certs.add((X509Certificate) factory.generateCertificate(in));
            } catch (CertificateException | RuntimeException e) {
                throw new MalformedException(
                        "certificate "
                                + (certs.size() + 1)
                                + " at byte "
                                + offset
                                + " is not valid DER: "
                                + e.getMessage(),
                        e);
            }
        }
        return certs;
    }

    /** The PEM blocks of a text, in order; text outside blocks is skipped. */
    private static List<PemObject> pemBlocks(String pem, String what) throws MalformedException {
        List<PemObject> blocks = new ArrayList<>();
        try (PemReader reader = new PemReader(new StringReader(pem))) {
            PemObject o;
            while ((o = reader.readPemObject()) != null) {
                blocks.add(o);
            }
        } catch (IOException | RuntimeException e) {
            throw new MalformedException(
                    what + " PEM block " + (blocks.size() + 1) + " is malformed: " + e.getMessage(),
                    e);
        }
        return blocks;
    }

    /**
     * Parses every {@code CERTIFICATE} block of a PEM text, in order. Text outside PEM blocks
     * (comments, openssl's "Bag Attributes") is ignored; any other kind of block is rejected. The
     * certificates keep their exact encoding (nothing is re-encoded), so signatures hold.
     */
    public static List<X509Certificate> certificatesFromPem(String pem) throws MalformedException {
        List<X509Certificate> certs = new ArrayList<>();
        int n = 0;
        for (PemObject block : pemBlocks(pem, "certificate")) {
            n++;
            if (!"CERTIFICATE".equals(block.getType())) {
                throw new MalformedException(
                        "PEM block " + n + " is '" + block.getType() + "', expected a CERTIFICATE");
            }
            List<X509Certificate> one;
            try {
                one = certificatesFromDer(block.getContent());
            } catch (MalformedException e) {
                throw new MalformedException(
                        "PEM block " + n + " is malformed: " + e.getMessage(), e);
            }
            if (one.size() != 1) {
                throw new MalformedException(
                        "PEM block "
                                + n
                                + " is malformed: it holds "
                                + one.size()
                                + " certificates");
            }
            certs.addAll(one);
        }
        return certs;
    }

    /** Parses a PKCS#8 ({@code PrivateKeyInfo}) DER private key. */
    public static PrivateKey privateKeyFromPkcs8(byte[] der) throws MalformedException {
        PrivateKeyInfo info;
        try {
            info = PrivateKeyInfo.getInstance(ASN1Primitive.fromByteArray(der));
        } catch (IOException | RuntimeException e) {
            throw new MalformedException("private key is not PKCS#8 DER: " + e.getMessage(), e);
        }
        if (info == null) {
            throw new MalformedException("private key is empty");
        }
        return privateKey(info);
    }

    /** Parses the single {@code PRIVATE KEY} (PKCS#8) block of a PEM text. */
    public static PrivateKey privateKeyFromPem(String pem) throws MalformedException {
        List<PemObject> blocks = pemBlocks(pem, "private key");
        if (blocks.isEmpty()) {
            throw new MalformedException("no PRIVATE KEY block found");
        }
        if (blocks.size() > 1) {
            throw new MalformedException(
                    "PEM holds " + blocks.size() + " blocks, expected a single PRIVATE KEY");
        }
        String type = blocks.get(0).getType();
        if (!"PRIVATE KEY".equals(type)) {
            String why =
                    type.equals("ENCRYPTED PRIVATE KEY")
                            ? " (encrypted keys are not supported)"
                            : type.endsWith("PRIVATE KEY")
                                    ? " (a traditional key; convert it with `openssl pkcs8 -topk8 -nocrypt`)"
                                    : "";
            throw new MalformedException(
                    "PEM block is '" + type + "'" + why + ", expected a PKCS#8 PRIVATE KEY");
        }
        return privateKeyFromPkcs8(blocks.get(0).getContent());
    }

    private static PrivateKey privateKey(PrivateKeyInfo info) throws MalformedException {
        try {
            return new JcaPEMKeyConverter().getPrivateKey(info);
        } catch (IOException | RuntimeException e) {
            throw new MalformedException(
                    "private key (algorithm "
                            + info.getPrivateKeyAlgorithm().getAlgorithm()
                            + ") cannot be decoded: "
                            + e.getMessage(),
                    e);
        }
    }

    /** Concatenated DER of the certificates, in order. */
    public static byte[] concat(List<X509Certificate> certs) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (X509Certificate cert : certs) {
            out.writeBytes(encoded(cert));
        }
        return out.toByteArray();
    }

    public static byte[] encoded(X509Certificate cert) {
        try {
            return cert.getEncoded();
        } catch (CertificateException e) {
            throw new IllegalStateException(
                    "certificate cannot be re-encoded: " + e.getMessage(), e);
        }
    }

    /** PEM {@code CERTIFICATE} blocks, in order. */
    public static String toPem(List<X509Certificate> certs) {
        StringBuilder sb = new StringBuilder();
        for (X509Certificate cert : certs) {
            sb.append(pemBlock("CERTIFICATE", encoded(cert)));
        }
        return sb.toString();
    }

    /** One PEM block with 64-column base64, ending in a newline. */
    public static String pemBlock(String type, byte[] der) {
        return "-----BEGIN "
                + type
                + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END "
                + type
                + "-----\n";
    }

    /** PKCS#8 DER of a private key. */
    public static byte[] pkcs8(PrivateKey key) {
        if (!"PKCS#8".equals(key.getFormat()) || key.getEncoded() == null) {
            throw new IllegalArgumentException(
                    "private key (" + key.getAlgorithm() + ") has no PKCS#8 encoding");
        }
        return key.getEncoded();
    }
}
