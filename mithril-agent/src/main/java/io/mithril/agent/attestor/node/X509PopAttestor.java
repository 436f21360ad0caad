package io.mithril.agent.attestor.node;

import io.mithril.pki.Pem;
import io.mithril.pki.PkiException;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code x509pop} node attestor (proof of possession): the payload is the node's certificate
 * chain (DER, leaf first, concatenated); the server answers with a nonce, which the agent signs
 * with the leaf's private key ({@code SHA256withECDSA} for EC keys, {@code SHA256withRSA} for RSA
 * keys, Ed25519). The agent ID becomes {@code spiffe://<td>/spire/agent/x509pop/<sha1 hex of the
 * leaf DER>}.
 */
public final class X509PopAttestor implements NodeAttestor {

    private final List<X509Certificate> chain;
    private final PrivateKey key;

    /**
     * @param certificatePath PEM with the node certificate (and optionally its intermediates)
     * @param privateKeyPath PEM with the node key
     * @param intermediatesPath optional PEM with more intermediates, or null
     * @throws NodeAttestationException naming the file that cannot be read
     */
    public X509PopAttestor(Path certificatePath, Path privateKeyPath, Path intermediatesPath)
            throws NodeAttestationException {
        List<X509Certificate> certs = new ArrayList<>();
        try {
            certs.addAll(Pem.readCertificates(certificatePath));
            if (intermediatesPath != null) {
                certs.addAll(Pem.readCertificates(intermediatesPath));
            }
            key = Pem.readPrivateKey(privateKeyPath);
        } catch (PkiException e) {
            throw new NodeAttestationException("x509pop: " + e.getMessage(), e);
        }
        if (certs.isEmpty()) {
            throw new NodeAttestationException("x509pop: no certificate in " + certificatePath);
        }
        chain = List.copyOf(certs);
    }

    @Override
    public String type() {
        return "x509pop";
    }

    @Override
    public boolean reattestable() {
        return true;
    }

    @Override
    public byte[] payload() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (X509Certificate c : chain) {
            try {
                out.writeBytes(c.getEncoded());
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException("x509pop: cannot encode the node certificate", e);
            }
        }
        return out.toByteArray();
    }

    @Override
    public byte[] respond(byte[] challenge) throws NodeAttestationException {
        try {
            // The server verifies with SHA-256 whatever the curve or modulus size.
            String alg =
                    switch (key.getAlgorithm()) {
                        case "EC" -> "SHA256withECDSA";
                        case "RSA" -> "SHA256withRSA";
                        case "Ed25519", "EdDSA" -> "Ed25519";
                        default ->
                                throw new NodeAttestationException(
                                        "x509pop: unsupported key algorithm " + key.getAlgorithm());
                    };
            Signature s = Signature.getInstance(alg);
            s.initSign(key);
            s.update(challenge);
            return s.sign();
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new NodeAttestationException(
                    "x509pop: cannot sign the server's challenge: " + e.getMessage(), e);
        }
    }
}
