package io.mithril.cli.inspect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mithril.cli.Cli;
import io.mithril.pki.Certificates;
import io.mithril.pki.Pem;
import io.mithril.spiffe.bundle.BundleException;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.JwtBundle;
import io.mithril.spiffe.bundle.SpiffeBundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.JwtSvid;
import io.mithril.spiffe.svid.JwtSvidException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What {@code inspect} says about JOSE inputs: a JWT-SVID (header, claims, expiry, and with a
 * bundle which of its keys verifies the signature, by the project's own {@link JwtSvid} rules), and
 * a SPIFFE bundle / JWK Set (each key with its use, the sequence number and refresh hint). Also
 * reads a {@code -bundle} file that is a SPIFFE bundle rather than PEM roots.
 */
final class Jose {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern COMPACT_JWS =
            Pattern.compile("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*");

    /**
     * The trust domain a bundle file is parsed under when none is given: the format does not carry
     * one.
     */
    private static final TrustDomain UNNAMED = TrustDomain.parse("bundle.unnamed");

    /** A {@code -bundle} file: PEM roots, or a SPIFFE bundle (roots and JWT keys). */
    record BundleFile(
            Path path,
            List<X509Certificate> roots,
            Map<String, PublicKey> jwtKeys,
            boolean spiffe) {}

    private final Clock clock;

    Jose(Clock clock) {
        this.clock = clock;
    }

    static boolean isJwt(String text) {
        return COMPACT_JWS.matcher(text.strip()).matches();
    }

    static boolean isJson(String text) {
        return text.stripLeading().startsWith("{");
    }

    /** Reads {@code -bundle}: a SPIFFE bundle (JSON) or PEM roots. */
    static BundleFile readBundle(Path file) {
        String text = read(file, "-bundle");
        if (isJson(text)) {
            SpiffeBundle b = parseBundle(text, UNNAMED, "-bundle " + file);
            return new BundleFile(file, List.copyOf(b.x509Authorities()), b.jwtAuthorities(), true);
        }
        List<X509Certificate> certs;
        try {
            certs = Pem.readCertificates(text);
        } catch (RuntimeException e) {
            throw new Cli.UserException("-bundle " + file + ": " + e.getMessage());
        }
        if (certs.isEmpty()) {
            throw new Cli.UserException(
                    "-bundle " + file + ": no CERTIFICATE block, and not a SPIFFE bundle (JSON)");
        }
        return new BundleFile(file, certs, Map.of(), false);
    }

    static String read(Path file, String what) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Cli.UserException(what + ": cannot read " + file + ": " + e.getMessage());
        }
    }

    private static SpiffeBundle parseBundle(String json, TrustDomain td, String where) {
        try {
            return SpiffeBundle.parse(td, json);
        } catch (BundleException e) {
            throw new Cli.UserException(
                    where
                            + ": "
                            + e.getMessage()
                                    .replace(
                                            "SPIFFE bundle for \"" + UNNAMED + "\"",
                                            "SPIFFE bundle"));
        }
    }

    // ---------------------------------------------------------------- SPIFFE bundles

    /** Explains a SPIFFE bundle document; false when it is not a valid one. */
    boolean explainBundle(PrintWriter out, String name, String json, String trustDomain) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new Cli.UserException(name + ": not valid JSON: " + e.getMessage());
        }
        TrustDomain td = trustDomain == null ? UNNAMED : parseDomain(trustDomain);
        out.println(
                name
                        + ": SPIFFE bundle (JWK Set), trust domain "
                        + (trustDomain == null
                                ? "not named in the file (give -trustDomain)"
                                : td.name()));
        JsonNode seq = root.path("spiffe_sequence");
        out.println("  spiffe_sequence:     " + (seq.isMissingNode() ? "none" : seq.toString()));
        JsonNode hint = root.path("spiffe_refresh_hint");
        out.println(
                "  spiffe_refresh_hint: "
                        + (hint.isMissingNode()
                                ? "none (consumers poll at their own default)"
                                : hint.canConvertToLong()
                                        ? hint.asLong()
                                                + "s ("
                                                + Explain.span(Duration.ofSeconds(hint.asLong()))
                                                + ")"
                                        : hint.toString()));
        SpiffeBundle parsed;
        try {
            parsed = SpiffeBundle.parse(td, json);
        } catch (BundleException e) {
            out.println(
                    "verdict: not a valid SPIFFE bundle: "
                            + e.getMessage()
                                    .replace(
                                            "SPIFFE bundle for \"" + UNNAMED + "\"",
                                            "SPIFFE bundle"));
            return false;
        }
        Explain explain = new Explain(clock);
        JsonNode keys = root.path("keys");
        for (int i = 0; i < keys.size(); i++) {
            JsonNode k = keys.get(i);
            String use = k.path("use").asText("");
            String kty =
                    k.path("kty").asText("?") + (k.has("crv") ? " " + k.path("crv").asText() : "");
            switch (use) {
                case SpiffeBundle.USE_X509_SVID -> {
                    JsonNode x5c = k.path("x5c");
                    if (!x5c.isArray() || x5c.isEmpty()) {
                        out.println(
                                "key "
                                        + i
                                        + ": use x509-svid, "
                                        + kty
                                        + ": ignored (no x5c certificate)");
                        continue;
                    }
                    X509Certificate cert =
                            Certificates.parseDer(Base64.getDecoder().decode(x5c.get(0).asText()))
                                    .get(0);
                    out.println(
                            "key "
                                    + i
                                    + ": use x509-svid (an X.509 authority), "
                                    + kty
                                    + (x5c.size() > 1
                                            ? "; only the first of its "
                                                    + x5c.size()
                                                    + " x5c certificates counts"
                                            : ""));
                    explain.describe(List.of(cert)).stream()
                            .skip(1)
                            .forEach(l -> out.println("  " + l.strip()));
                }
                case SpiffeBundle.USE_JWT_SVID ->
                        out.println(
                                "key "
                                        + i
                                        + ": use jwt-svid (a JWT authority), kid \""
                                        + k.path("kid").asText()
                                        + "\", "
                                        + Explain.key(
                                                parsed.jwtAuthorities()
                                                        .get(k.path("kid").asText())));
                default ->
                        out.println(
                                "key "
                                        + i
                                        + ": "
                                        + (use.isEmpty() ? "no use" : "use \"" + use + "\"")
                                        + ", "
                                        + kty
                                        + ": ignored (a SPIFFE bundle's keys are x509-svid or jwt-svid)");
            }
        }
        out.println(
                "verdict: a valid SPIFFE bundle: "
                        + parsed.x509Authorities().size()
                        + " X.509 authorit"
                        + (parsed.x509Authorities().size() == 1 ? "y" : "ies")
                        + ", "
                        + parsed.jwtAuthorities().size()
                        + " JWT authorit"
                        + (parsed.jwtAuthorities().size() == 1 ? "y" : "ies"));
        return true;
    }

    private static TrustDomain parseDomain(String name) {
        try {
            return TrustDomain.parse(name);
        } catch (RuntimeException e) {
            throw new Cli.UserException("-trustDomain " + name + ": " + e.getMessage());
        }
    }

    // ---------------------------------------------------------------- JWT-SVIDs

    /**
     * Explains a JWT-SVID and, with a bundle, whether it would be accepted and which key verifies
     * it; false when it would be refused.
     */
    boolean explainJwt(
            PrintWriter out,
            String name,
            String token,
            BundleFile bundle,
            String trustDomain,
            List<String> audiences,
            List<SpiffeId> allowed) {
        token = token.strip();
        String[] parts = token.split("\\.", -1);
        JsonNode header = part(parts[0], "header", name);
        JsonNode claims = part(parts[1], "payload", name);
        Instant now = clock.instant();
        out.println(
                name
                        + ": JWT-SVID of "
                        + token.length()
                        + " characters (a bearer credential: the signature is not printed)");
        out.println(
                "  header:   alg "
                        + header.path("alg").asText("(none)")
                        + ", kid "
                        + text(header, "kid")
                        + ", typ "
                        + text(header, "typ"));
        out.println("  subject:  " + text(claims, "sub"));
        JsonNode aud = claims.path("aud");
        out.println(
                "  audience: "
                        + (aud.isArray() ? String.join(", ", strings(aud)) : text(claims, "aud")));
        for (String t : List.of("iat", "nbf", "exp")) {
            if (claims.path(t).canConvertToLong()) {
                Instant at = Instant.ofEpochSecond(claims.path(t).asLong());
                String rel =
                        at.isAfter(now)
                                ? "in " + Explain.span(Duration.between(now, at))
                                : Explain.span(Duration.between(at, now)) + " ago";
                String state =
                        !t.equals("exp") ? "" : at.isAfter(now) ? "valid, expires " : "EXPIRED ";
                out.println(
                        "  "
                                + (t + ":").concat("     ").substring(0, 9)
                                + " "
                                + at
                                + " ("
                                + state
                                + rel
                                + ")");
            }
        }
        Map<String, String> other = new LinkedHashMap<>();
        claims.fields()
                .forEachRemaining(
                        e -> {
                            if (!Set.of("sub", "aud", "iat", "nbf", "exp").contains(e.getKey())) {
                                other.put(e.getKey(), e.getValue().toString());
                            }
                        });
        if (!other.isEmpty()) {
            out.println("  other claims: " + other);
        }

        Set<String> expected = new LinkedHashSet<>(audiences);
        boolean audienceChecked = !expected.isEmpty();
        if (!audienceChecked) {
            expected.addAll(
                    aud.isArray()
                            ? strings(aud)
                            : aud.isTextual() ? List.of(aud.asText()) : List.of("(none)"));
        }
        JwtSvid svid;
        String keyWords;
        try {
            if (bundle == null) {
                svid = JwtSvid.parseInsecure(token, expected, clock);
                keyWords = null;
            } else {
                Map<String, PublicKey> keys = bundle.jwtKeys();
                TrustDomain subjectDomain = subjectDomain(claims);
                TrustDomain bundleDomain =
                        trustDomain == null ? subjectDomain : parseDomain(trustDomain);
                svid =
                        JwtSvid.parseAndValidate(
                                token, JwtBundle.of(bundleDomain, keys), expected, clock);
                keyWords = verifyingKey(token, svid, bundleDomain, keys, expected);
            }
        } catch (JwtSvidException | BundleNotFoundException e) {
            out.println(
                    "verdict: refused ("
                            + reason(e)
                            + "): "
                            + e.getMessage()
                            + (bundle != null && !bundle.spiffe()
                                    ? " (the -bundle is PEM: it has no JWT keys; give a SPIFFE bundle, "
                                            + "e.g. `mithril server bundle show -format spiffe`)"
                                    : ""));
            return false;
        }
        if (!allowed.isEmpty() && !allowed.contains(svid.spiffeId())) {
            out.println(
                    "verdict: refused (ID not allowed): "
                            + svid.spiffeId()
                            + " is not one of "
                            + allowed);
            return false;
        }
        String audWords =
                audienceChecked
                        ? "; audience " + svid.audience() + " contains " + audiences
                        : "; audience not checked (give -audience)";
        out.println(
                "verdict: "
                        + (keyWords == null
                                ? "not expired, well formed"
                                        + audWords
                                        + "; signature not checked (give -bundle, a SPIFFE bundle)"
                                : "accepted: "
                                        + svid.spiffeId()
                                        + ", signed by "
                                        + keyWords
                                        + audWords));
        return true;
    }

    /**
     * Which of the bundle's keys verifies the token: the one {@code kid} names, or (no kid) the
     * first that does.
     */
    private String verifyingKey(
            String token,
            JwtSvid svid,
            TrustDomain td,
            Map<String, PublicKey> keys,
            Set<String> expected) {
        String kid = svid.keyId();
        if (kid.isEmpty()) {
            for (Map.Entry<String, PublicKey> k : keys.entrySet()) {
                try {
                    JwtSvid.parseAndValidate(
                            token,
                            JwtBundle.of(td, Map.of(k.getKey(), k.getValue())),
                            expected,
                            clock);
                    kid = k.getKey();
                    break;
                } catch (JwtSvidException e) {
                    // not this one
                }
            }
        }
        return "the JWT authority kid \""
                + kid
                + "\" ("
                + Explain.key(keys.get(kid))
                + ") of the bundle of "
                + td.name();
    }

    private static String reason(RuntimeException e) {
        String m = e.getMessage();
        if (e instanceof BundleNotFoundException) {
            return "other trust domain";
        } else if (m.startsWith("token expired")) {
            return "expired";
        } else if (m.startsWith("token is not valid before")) {
            return "not yet valid";
        } else if (m.startsWith("audience")) {
            return "audience";
        } else if (m.startsWith("no JWT authority")) {
            return "unknown key";
        } else if (m.startsWith("signature does not verify")) {
            return "bad signature";
        }
        return "not a JWT-SVID";
    }

    private static TrustDomain subjectDomain(JsonNode claims) {
        try {
            return SpiffeId.parse(claims.path("sub").asText()).trustDomain();
        } catch (RuntimeException e) {
            throw new JwtSvidException("claim \"sub\" is not a SPIFFE ID: " + e.getMessage(), e);
        }
    }

    private static JsonNode part(String b64, String what, String name) {
        try {
            return JSON.readTree(Base64.getUrlDecoder().decode(b64));
        } catch (IOException | IllegalArgumentException e) {
            throw new Cli.UserException(
                    name + ": the JWT's " + what + " is not base64url JSON: " + e.getMessage());
        }
    }

    private static String text(JsonNode n, String member) {
        JsonNode v = n.path(member);
        return v.isMissingNode() ? "(none)" : v.isTextual() ? v.asText() : v.toString();
    }

    private static List<String> strings(JsonNode arr) {
        List<String> out = new ArrayList<>();
        arr.forEach(a -> out.add(a.asText()));
        return out;
    }
}
