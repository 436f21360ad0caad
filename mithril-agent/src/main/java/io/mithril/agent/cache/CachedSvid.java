package io.mithril.agent.cache;

import io.mithril.spiffe.id.SpiffeId;
import java.io.ByteArrayOutputStream;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * An X509-SVID the agent holds for an entry: the chain (leaf first) the server signed, the key the
 * agent generated, and when the agent should replace it (half its life, with jitter).
 */
public record CachedSvid(
        String entryId,
        SpiffeId spiffeId,
        List<X509Certificate> chain,
        PrivateKey privateKey,
        Instant rotateAt,
        RegistrationEntry mintedFor) {

    public CachedSvid {
        chain = List.copyOf(chain);
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }

    public Instant expiresAt() {
        return leaf().getNotAfter().toInstant();
    }

    /** The chain as concatenated DER, the Workload API's {@code x509_svid} encoding. */
    public byte[] chainDer() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (X509Certificate c : chain) {
            try {
                out.writeBytes(c.getEncoded());
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException("cannot encode the SVID of " + spiffeId, e);
            }
        }
        return out.toByteArray();
    }

    /**
     * When to rotate an SVID received at {@code receivedAt} and valid until {@code notAfter}: at
     * half the life it has from its receipt (its NotBefore is backdated by the server, which would
     * make a short-lived SVID look half-spent on arrival), jittered as in {@link
     * #rotationTime(Instant, Instant, double)}.
     */
    public static Instant rotationTimeFromReceipt(
            Instant notBefore, Instant receivedAt, Instant notAfter, double random) {
        Instant start =
                receivedAt.isAfter(notBefore) && receivedAt.isBefore(notAfter)
                        ? receivedAt
                        : notBefore;
        return rotationTime(start, notAfter, random);
    }

    /**
     * When to rotate an SVID valid from {@code notBefore} to {@code notAfter}: at half its life,
     * moved by up to a tenth of its life either way (jitter, so that many SVIDs minted together are
     * not renewed together). {@code random} is in [0, 1).
     */
    public static Instant rotationTime(Instant notBefore, Instant notAfter, double random) {
        long life = notAfter.toEpochMilli() - notBefore.toEpochMilli();
        long offset = (long) (life * (0.5 + (random - 0.5) * 0.2));
        return notBefore.plusMillis(offset);
    }

    @Override
    public String toString() {
        return "CachedSvid["
                + spiffeId
                + ", serial "
                + leaf().getSerialNumber()
                + ", until "
                + expiresAt()
                + "]";
    }
}
