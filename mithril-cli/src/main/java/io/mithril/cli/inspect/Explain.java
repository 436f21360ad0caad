package io.mithril.cli.inspect;

import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import io.mithril.spiffe.tls.SvidRejectedException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;

/**
 * Explains certificate chains in words (what {@code mithril inspect} prints): each certificate's
 * subject, SPIFFE ID, key, validity and issuer, and, given a bundle, whether the chain would be
 * accepted as an X509-SVID (the same checks the proxies and the agent make, {@link
 * SpiffeTrustManager}) and if not, why: unknown CA, other trust domain, expired, not yet valid, ID
 * not allowed.
 */
final class Explain {

    /** The verdict on a chain: accepted, or refused with the reason in words. */
    record Verdict(boolean accepted, String reason, String words) {}

    private final Clock clock;

    Explain(Clock clock) {
        this.clock = clock;
    }

    /** Lines describing each certificate of {@code chain} (leaf first). */
    List<String> describe(List<X509Certificate> chain) {
        List<String> out = new ArrayList<>();
        Instant now = clock.instant();
        for (int i = 0; i < chain.size(); i++) {
            X509Certificate c = chain.get(i);
            boolean ca = c.getBasicConstraints() >= 0;
            boolean self = c.getSubjectX500Principal().equals(c.getIssuerX500Principal());
            String role =
                    i == 0 && !ca
                            ? "leaf"
                            : self ? "root CA" : ca ? "intermediate CA" : "certificate";
            out.add("certificate " + i + " (" + role + ")");
            out.add("  subject:   " + c.getSubjectX500Principal().getName());
            List<String> uris = uris(c);
            out.add(
                    "  SPIFFE ID: "
                            + (uris.isEmpty() ? "(none: no URI SAN)" : String.join(", ", uris)));
            out.add("  key:       " + key(c.getPublicKey()));
            Instant nb = c.getNotBefore().toInstant();
            Instant na = c.getNotAfter().toInstant();
            String state =
                    now.isBefore(nb)
                            ? "NOT YET VALID, starts in " + span(Duration.between(now, nb))
                            : now.isAfter(na)
                                    ? "EXPIRED " + span(Duration.between(na, now)) + " ago"
                                    : "valid, expires in " + span(Duration.between(now, na));
            out.add("  validity:  " + nb + " .. " + na + " (" + state + ")");
            out.add("  issuer:    " + c.getIssuerX500Principal().getName());
            out.add(
                    "  serial:    "
                            + c.getSerialNumber().toString(16)
                            + ", SHA-256 "
                            + fingerprint(c));
        }
        return out;
    }

    /**
     * Whether {@code chain} would be accepted as an X509-SVID under {@code bundle} (roots of {@code
     * bundleDomain}) by a peer that allows {@code allowed} (any ID when empty).
     */
    Verdict verdict(
            List<X509Certificate> chain,
            TrustDomain bundleDomain,
            Collection<X509Certificate> roots,
            Collection<SpiffeId> allowed) {
        SpiffeIdAuthorizer authorizer =
                allowed.isEmpty() ? SpiffeIdAuthorizer.any() : SpiffeIdAuthorizer.oneOf(allowed);
        SpiffeTrustManager tm =
                new SpiffeTrustManager(
                        X509BundleSet.of(X509Bundle.of(bundleDomain, roots)), authorizer, clock);
        try {
            SpiffeId id = tm.verify(chain.toArray(X509Certificate[]::new), "the");
            X509Certificate anchor = anchor(chain, roots);
            return new Verdict(
                    true,
                    "accepted",
                    "accepted: "
                            + id
                            + " chains to "
                            + (anchor == null
                                    ? "a root"
                                    : anchor.getSubjectX500Principal().getName()
                                            + " (SHA-256 "
                                            + fingerprint(anchor)
                                            + ")")
                            + " of the bundle of "
                            + bundleDomain.name()
                            + (allowed.isEmpty() ? "" : ", and its ID is allowed"));
        } catch (SvidRejectedException e) {
            return new Verdict(
                    false,
                    reasonName(e, chain, bundleDomain),
                    words(e, chain, bundleDomain, roots));
        } catch (CertificateException e) {
            return new Verdict(false, "bad certificate", "refused: " + e.getMessage());
        }
    }

    private static String reasonName(
            SvidRejectedException e, List<X509Certificate> chain, TrustDomain domain) {
        return switch (e.reason()) {
            case NO_CERTIFICATE -> "no certificate";
            case UNKNOWN_AUTHORITY ->
                    otherDomain(chain, domain) != null ? "other trust domain" : "unknown CA";
            case EXPIRED -> "expired";
            case NOT_YET_VALID -> "not yet valid";
            case NOT_AUTHORIZED -> "ID not allowed";
            case BAD_CERTIFICATE -> "not an X509-SVID";
        };
    }

    private String words(
            SvidRejectedException e,
            List<X509Certificate> chain,
            TrustDomain domain,
            Collection<X509Certificate> roots) {
        Instant now = clock.instant();
        String name = reasonName(e, chain, domain);
        String detail =
                switch (e.reason()) {
                    case UNKNOWN_AUTHORITY -> {
                        String other = otherDomain(chain, domain);
                        yield other != null
                                ? "the certificate is of trust domain "
                                        + other
                                        + ", the bundle is for "
                                        + domain.name()
                                        + " (federate the two, or give that domain's bundle)"
                                : "the chain does not lead to any of the bundle's "
                                        + roots.size()
                                        + " root(s) of "
                                        + domain.name()
                                        + " ("
                                        + String.join(
                                                ", ",
                                                roots.stream()
                                                        .map(
                                                                r ->
                                                                        r.getSubjectX500Principal()
                                                                                        .getName()
                                                                                + " SHA-256 "
                                                                                + fingerprint(r))
                                                        .toList())
                                        + "); its top issuer is "
                                        + chain.get(chain.size() - 1)
                                                .getIssuerX500Principal()
                                                .getName();
                    }
                    case EXPIRED -> {
                        for (int i = 0; i < chain.size(); i++) {
                            Instant na = chain.get(i).getNotAfter().toInstant();
                            if (now.isAfter(na)) {
                                yield "certificate "
                                        + i
                                        + " expired at "
                                        + na
                                        + " ("
                                        + span(Duration.between(na, now))
                                        + " ago)";
                            }
                        }
                        yield "a root of the bundle has expired";
                    }
                    case NOT_YET_VALID -> {
                        for (int i = 0; i < chain.size(); i++) {
                            Instant nb = chain.get(i).getNotBefore().toInstant();
                            if (now.isBefore(nb)) {
                                yield "certificate "
                                        + i
                                        + " is valid only from "
                                        + nb
                                        + " (in "
                                        + span(Duration.between(now, nb))
                                        + "; a clock behind?)";
                            }
                        }
                        yield "a root of the bundle is not valid yet";
                    }
                    default -> e.getMessage();
                };
        return "refused (" + name + "): " + detail;
    }

    private static String otherDomain(List<X509Certificate> chain, TrustDomain domain) {
        for (String u : uris(chain.get(0))) {
            if (SpiffeId.isValid(u)) {
                TrustDomain td = SpiffeId.parse(u).trustDomain();
                return td.equals(domain) ? null : td.name();
            }
        }
        return null;
    }

    private static X509Certificate anchor(
            List<X509Certificate> chain, Collection<X509Certificate> roots) {
        X509Certificate top = chain.get(chain.size() - 1);
        for (X509Certificate r : roots) {
            if (r.equals(top) || r.getSubjectX500Principal().equals(top.getIssuerX500Principal())) {
                return r;
            }
        }
        return null;
    }

    static List<String> uris(X509Certificate c) {
        List<String> out = new ArrayList<>();
        try {
            if (c.getSubjectAlternativeNames() != null) {
                for (List<?> san : c.getSubjectAlternativeNames()) {
                    if (Integer.valueOf(6).equals(san.get(0))) {
                        out.add(String.valueOf(san.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            out.add("(unparseable SAN: " + e.getMessage() + ")");
        }
        return out;
    }

    static String key(PublicKey k) {
        if (k instanceof ECPublicKey ec) {
            int bits = ec.getParams().getCurve().getField().getFieldSize();
            return "EC "
                    + (bits == 256
                            ? "P-256"
                            : bits == 384 ? "P-384" : bits == 521 ? "P-521" : bits + "-bit curve");
        }
        if (k instanceof RSAPublicKey rsa) {
            return "RSA " + rsa.getModulus().bitLength() + " bits";
        }
        return k.getAlgorithm();
    }

    static String fingerprint(X509Certificate c) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()))
                    .substring(0, 16);
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String span(Duration d) {
        long s = d.toSeconds();
        return s < 120
                ? s + "s"
                : s < 7200 ? s / 60 + "m" : s < 172800 ? s / 3600 + "h" : s / 86400 + "d";
    }
}
