package io.mithril.server.ca;

import com.google.protobuf.ByteString;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.JwtKey;
import io.mithril.pki.Certificates;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.ASN1OctetString;

/**
 * Taint and revocation of a trust domain's own authorities in its stored bundle, as SPIRE's
 * datastore does them ({@code TaintX509CA}, {@code RevokeX509CA}, {@code TaintJWTKey}, {@code
 * RevokeJWTKey}): pure functions from the stored bundle to the new one, each bumping the sequence
 * number, or an {@link AuthorityException} with nothing changed.
 */
public final class BundleTaints {

    private BundleTaints() {}

    /**
     * SPIRE's authority ID of an X.509 CA: its Subject Key Identifier, lower-case hex ("" when it
     * has none).
     */
    public static String subjectKeyId(X509Certificate c) {
        byte[] ext = c.getExtensionValue("2.5.29.14");
        if (ext == null) {
            return "";
        }
        byte[] inner = ASN1OctetString.getInstance(ext).getOctets();
        return HexFormat.of().formatHex(ASN1OctetString.getInstance(inner).getOctets());
    }

    private static String subjectKeyId(ByteString der) {
        List<X509Certificate> certs = Certificates.parseDer(der.toByteArray());
        return certs.isEmpty() ? "" : subjectKeyId(certs.get(0));
    }

    /** Marks the X.509 authorities whose Subject Key ID is {@code skid} tainted. */
    public static Bundle taintX509(Bundle b, String skid) {
        boolean found = false;
        Bundle.Builder out = b.toBuilder();
        for (ByteString der : b.getX509AuthoritiesList()) {
            if (!skid.equals(subjectKeyId(der))) {
                continue;
            }
            if (b.getTaintedX509AuthoritiesList().contains(der)) {
                throw AuthorityException.invalid(
                        "the X.509 authority " + skid + " is already tainted");
            }
            out.addTaintedX509Authorities(der);
            found = true;
        }
        if (!found) {
            throw new AuthorityException(
                    AuthorityException.Reason.NOT_FOUND,
                    "no X.509 authority with Subject Key ID "
                            + skid
                            + " in the bundle of "
                            + b.getTrustDomain()
                            + " (already revoked?)");
        }
        return out.setSequenceNumber(b.getSequenceNumber() + 1).build();
    }

    /**
     * Removes the X.509 authorities whose Subject Key ID is {@code skid}; each must be tainted, and
     * at least one other authority must remain.
     */
    public static Bundle revokeX509(Bundle b, String skid) {
        Bundle.Builder out = b.toBuilder().clearX509Authorities().clearTaintedX509Authorities();
        boolean found = false;
        for (ByteString der : b.getX509AuthoritiesList()) {
            if (skid.equals(subjectKeyId(der))) {
                if (!b.getTaintedX509AuthoritiesList().contains(der)) {
                    throw AuthorityException.invalid(
                            "the X.509 authority "
                                    + skid
                                    + " is not tainted: it is not possible to revoke an untainted"
                                    + " authority (taint it first)");
                }
                found = true;
                continue;
            }
            out.addX509Authorities(der);
            if (b.getTaintedX509AuthoritiesList().contains(der)) {
                out.addTaintedX509Authorities(der);
            }
        }
        if (!found) {
            throw new AuthorityException(
                    AuthorityException.Reason.NOT_FOUND,
                    "no X.509 authority with Subject Key ID "
                            + skid
                            + " in the bundle of "
                            + b.getTrustDomain()
                            + " (already revoked?)");
        }
        if (out.getX509AuthoritiesCount() == 0) {
            throw new AuthorityException(
                    AuthorityException.Reason.FAILED_PRECONDITION,
                    "revoking " + skid + " would leave the bundle without an X.509 authority");
        }
        return out.setSequenceNumber(b.getSequenceNumber() + 1).build();
    }

    /** Marks the JWT authority with key ID {@code kid} tainted. */
    public static Bundle taintJwt(Bundle b, String kid) {
        Bundle.Builder out = b.toBuilder();
        for (int i = 0; i < b.getJwtAuthoritiesCount(); i++) {
            JwtKey k = b.getJwtAuthorities(i);
            if (k.getKeyId().equals(kid)) {
                if (k.getTainted()) {
                    throw AuthorityException.invalid(
                            "the JWT authority " + kid + " is already tainted");
                }
                out.setJwtAuthorities(i, k.toBuilder().setTainted(true));
                return out.setSequenceNumber(b.getSequenceNumber() + 1).build();
            }
        }
        throw new AuthorityException(
                AuthorityException.Reason.NOT_FOUND,
                "no JWT authority with key ID "
                        + kid
                        + " in the bundle of "
                        + b.getTrustDomain()
                        + " (already revoked?)");
    }

    /** Removes the JWT authority with key ID {@code kid}, which must be tainted. */
    public static Bundle revokeJwt(Bundle b, String kid) {
        Bundle.Builder out = b.toBuilder().clearJwtAuthorities();
        boolean found = false;
        for (JwtKey k : b.getJwtAuthoritiesList()) {
            if (k.getKeyId().equals(kid)) {
                if (!k.getTainted()) {
                    throw AuthorityException.invalid(
                            "the JWT authority "
                                    + kid
                                    + " is not tainted: it is not possible to revoke an untainted"
                                    + " key (taint it first)");
                }
                found = true;
                continue;
            }
            out.addJwtAuthorities(k);
        }
        if (!found) {
            throw new AuthorityException(
                    AuthorityException.Reason.NOT_FOUND,
                    "no JWT authority with key ID "
                            + kid
                            + " in the bundle of "
                            + b.getTrustDomain()
                            + " (already revoked?)");
        }
        return out.setSequenceNumber(b.getSequenceNumber() + 1).build();
    }
}
