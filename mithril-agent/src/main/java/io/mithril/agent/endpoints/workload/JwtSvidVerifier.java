package io.mithril.agent.endpoints.workload;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mithril.agent.cache.JwtAuthority;
import io.mithril.agent.cache.TrustBundle;
import io.mithril.spiffe.id.InvalidSpiffeIdException;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;

/**
 * Validates a JWT-SVID as {@code ValidateJWTSVID} must: compact JWS with an allowed {@code alg},
 * signed by a key ({@code kid}) of the bundle of the subject's trust domain, not expired, and
 * for the given audience. Each failure is an {@link InvalidJwtException} saying which rule broke.
 */
final class JwtSvidVerifier {

    private static final ObjectMapper JSON = new ObjectMapper();

    private JwtSvidVerifier() {
    }

    /** A verified token: its subject and its claims as JSON. */
    record Verified(SpiffeId subject, JsonNode claims) {
    }

    static final class InvalidJwtException extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidJwtException(String message) {
            super(message);
        }
    }

    static Verified verify(String token, String audience, Map<TrustDomain, TrustBundle> bundles, Instant now)
            throws InvalidJwtException {
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3) {
            throw new InvalidJwtException("token is not a compact JWS (expected 3 dot-separated parts, found " + parts.length + ")");
        }
        JsonNode header = json(parts[0], "header");
        JsonNode claims = json(parts[1], "claims");
        String alg = header.path("alg").asText("");
        String typ = header.path("typ").asText("");
        if (!typ.isEmpty() && !typ.equals("JWT") && !typ.equals("JOSE")) {
            throw new InvalidJwtException("token header typ \"" + typ + "\" is not JWT or JOSE");
        }
        String sub = claims.path("sub").asText("");
        if (sub.isEmpty()) {
            throw new InvalidJwtException("token has no subject (sub claim)");
        }
        SpiffeId subject;
        try {
            subject = SpiffeId.parse(sub);
        } catch (InvalidSpiffeIdException e) {
            throw new InvalidJwtException("token subject is not a SPIFFE ID: " + e.getMessage());
        }
        TrustBundle bundle = bundles.get(subject.trustDomain());
        if (bundle == null) {
            throw new InvalidJwtException("no JWT bundle for trust domain \"" + subject.trustDomain().name() + "\"");
        }
        String kid = header.path("kid").asText("");
        JwtAuthority key = null;
        for (JwtAuthority a : bundle.jwtAuthorities()) {
            if (a.keyId().equals(kid) || (kid.isEmpty() && bundle.jwtAuthorities().size() == 1)) {
                key = a;
            }
        }
        if (key == null) {
            throw new InvalidJwtException("no JWT authority \"" + kid + "\" in the bundle of \"" + subject.trustDomain().name() + "\"");
        }
        byte[] signed = (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII);
        byte[] sig = decode(parts[2], "signature");
        try {
            if (!check(alg, key, signed, sig)) {
                throw new InvalidJwtException("token signature is invalid");
            }
        } catch (GeneralSecurityException e) {
            throw new InvalidJwtException("token signature cannot be checked with key \"" + kid + "\": " + e.getMessage());
        }
        JsonNode exp = claims.get("exp");
        if (exp == null || !exp.isNumber()) {
            throw new InvalidJwtException("token has no expiry (exp claim)");
        }
        if (!now.isBefore(Instant.ofEpochSecond(exp.asLong()))) {
            throw new InvalidJwtException("token has expired (exp " + Instant.ofEpochSecond(exp.asLong()) + ")");
        }
        JsonNode aud = claims.get("aud");
        boolean audOk = false;
        if (aud != null && aud.isTextual()) {
            audOk = aud.asText().equals(audience);
        } else if (aud != null && aud.isArray()) {
            for (JsonNode a : aud) {
                audOk |= a.asText().equals(audience);
            }
        }
        if (!audOk) {
            throw new InvalidJwtException("expected audience in [\"" + audience + "\"] (audience=" + (aud == null ? "[]" : aud) + ")");
        }
        return new Verified(subject, claims);
    }

    private static boolean check(String alg, JwtAuthority key, byte[] signed, byte[] sig)
            throws GeneralSecurityException, InvalidJwtException {
        Signature s;
        switch (alg) {
            case "RS256", "RS384", "RS512" -> s = Signature.getInstance("SHA" + alg.substring(2) + "withRSA");
            case "PS256", "PS384", "PS512" -> {
                int bits = Integer.parseInt(alg.substring(2));
                String hash = "SHA-" + bits;
                s = Signature.getInstance("RSASSA-PSS");
                s.setParameter(new PSSParameterSpec(hash, "MGF1", new MGF1ParameterSpec(hash), bits / 8, 1));
            }
            case "ES256", "ES384", "ES512" -> {
                s = Signature.getInstance("SHA" + alg.substring(2) + "withECDSA");
                sig = joseToDer(sig);
            }
            default -> throw new InvalidJwtException("token alg \"" + alg + "\" is not allowed (RS/ES/PS 256/384/512)");
        }
        s.initVerify(key.publicKey());
        s.update(signed);
        return s.verify(sig);
    }

    /** A JOSE ECDSA signature (r || s, fixed size) as the DER SEQUENCE the JCA verifies. */
    static byte[] joseToDer(byte[] jose) throws InvalidJwtException {
        if (jose.length == 0 || jose.length % 2 != 0) {
            throw new InvalidJwtException("ECDSA signature has odd length " + jose.length);
        }
        int n = jose.length / 2;
        byte[] r = new BigInteger(1, Arrays.copyOfRange(jose, 0, n)).toByteArray();
        byte[] sv = new BigInteger(1, Arrays.copyOfRange(jose, n, jose.length)).toByteArray();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        derInt(body, r);
        derInt(body, sv);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x30);
        derLen(out, body.size());
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }

    private static void derInt(ByteArrayOutputStream out, byte[] v) {
        out.write(0x02);
        derLen(out, v.length);
        out.writeBytes(v);
    }

    private static void derLen(ByteArrayOutputStream out, int len) {
        if (len < 128) {
            out.write(len);
        } else if (len < 256) {
            out.write(0x81);
            out.write(len);
        } else {
            out.write(0x82);
            out.write(len >> 8);
            out.write(len & 0xff);
        }
    }

    private static JsonNode json(String part, String what) throws InvalidJwtException {
        try {
            JsonNode n = JSON.readTree(decode(part, what));
            if (n == null || !n.isObject()) {
                throw new InvalidJwtException("token " + what + " is not a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new InvalidJwtException("token " + what + " is not valid JSON: " + e.getMessage());
        }
    }

    private static byte[] decode(String part, String what) throws InvalidJwtException {
        try {
            return Base64.getUrlDecoder().decode(part);
        } catch (IllegalArgumentException e) {
            throw new InvalidJwtException("token " + what + " is not base64url: " + e.getMessage());
        }
    }
}
