package io.mithril.spiffe.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import io.mithril.spiffe.id.SpiffeId;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.Consumer;

/**
 * JWT-SVIDs an attacker would send, signed (where a signature is wanted) by the REAL keys of the
 * bundle under test, so that each is refused for the rule it breaks and not merely because some
 * signature failed. Every entry point that validates JWT-SVIDs runs this table: {@code
 * JwtSvid.parseAndValidate}, the agent's {@code ValidateJWTSVID} over gRPC and {@code agent api
 * validate jwt}. {@link #valid()} is the control: the same crafting, no defect, accepted.
 */
public final class HostileJwtSvids {

    /** One hostile token and a fragment of the refusal it must get. */
    public record Hostile(String name, String token, String refusal) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final SpiffeId subject;
    private final String audience;
    private final String kid;
    private final PrivateKey key;
    private final PublicKey publicKey;
    private final String foreignKid;
    private final PrivateKey foreignKey;
    private final Instant now;

    /**
     * @param kid and {@code key}: a JWT authority of the subject's trust domain, as its bundle has
     *     it
     * @param foreignKid and {@code foreignKey}: a JWT authority that only another trust domain's
     *     bundle has (or no bundle at all)
     */
    public HostileJwtSvids(
            SpiffeId subject,
            String audience,
            String kid,
            KeyPair key,
            String foreignKid,
            PrivateKey foreignKey,
            Instant now) {
        this.subject = subject;
        this.audience = audience;
        this.kid = kid;
        this.key = key.getPrivate();
        this.publicKey = key.getPublic();
        this.foreignKid = foreignKid;
        this.foreignKey = foreignKey;
        this.now = now;
    }

    /** A well-formed token for the audience, signed by the real key: every validator accepts it. */
    public String valid() {
        return token(h -> {}, c -> {}, algorithmFor(key), key);
    }

    /** The table. */
    public List<Hostile> all() {
        JWSAlgorithm alg = algorithmFor(key);
        List<Hostile> out = new ArrayList<>();
        out.add(
                new Hostile(
                        "forged signature (another key under the real kid)",
                        token(h -> {}, c -> {}, alg, freshKeyLike(key)),
                        "signature does not verify"));
        String[] genuine = valid().split("\\.");
        out.add(
                new Hostile(
                        "claims changed under a genuine signature",
                        genuine[0]
                                + "."
                                + b64(
                                        json(
                                                claims().put(
                                                                "sub",
                                                                subject.trustDomain()
                                                                        .spiffeId("/admin")
                                                                        .toString())))
                                + "."
                                + genuine[2],
                        "signature does not verify"));
        out.add(
                new Hostile(
                        "alg none",
                        b64(json(header("none"))) + "." + b64(json(claims())) + ".",
                        "\"alg\": \"none\" is not allowed"));
        out.add(
                new Hostile(
                        "HS256 keyed with the public key",
                        token(h -> h.put("alg", "HS256"), c -> {}, JWSAlgorithm.HS256, null),
                        "\"alg\": \"HS256\" is not allowed"));
        out.add(
                new Hostile(
                        "crit header",
                        token(h -> h.putArray("crit").add("exp"), c -> {}, alg, key),
                        "\"crit\""));
        out.add(
                new Hostile(
                        "nbf in the future",
                        token(
                                h -> {},
                                c ->
                                        c.put("nbf", now.getEpochSecond() + 3600)
                                                .put("exp", now.getEpochSecond() + 7200),
                                alg,
                                key),
                        "not valid before"));
        out.add(
                new Hostile(
                        "expired",
                        token(h -> {}, c -> c.put("exp", now.getEpochSecond() - 60), alg, key),
                        "expired"));
        out.add(
                new Hostile(
                        "wrong audience",
                        token(h -> {}, c -> c.putArray("aud").add("someone-else"), alg, key),
                        "does not contain the expected \"" + audience + "\""));
        out.add(
                new Hostile(
                        "sub not a SPIFFE ID",
                        token(
                                h -> {},
                                c -> c.put("sub", "https://" + subject.trustDomain() + "/admin"),
                                alg,
                                key),
                        "claim \"sub\" is not a SPIFFE ID"));
        out.add(
                new Hostile(
                        "kid of another trust domain",
                        token(
                                h -> h.put("kid", foreignKid),
                                c -> {},
                                algorithmFor(foreignKey),
                                foreignKey),
                        "no JWT authority with key ID \"" + foreignKid + "\""));
        out.add(
                new Hostile(
                        "typ wrong",
                        token(h -> h.put("typ", "at+jwt"), c -> {}, alg, key),
                        "\"typ\": \"at+jwt\" is not allowed"));
        return out;
    }

    private ObjectNode header(String alg) {
        return JSON.createObjectNode().put("alg", alg).put("kid", kid).put("typ", "JWT");
    }

    private ObjectNode claims() {
        ObjectNode c = JSON.createObjectNode().put("sub", subject.toString());
        c.putArray("aud").add(audience);
        return c.put("exp", now.getEpochSecond() + 600).put("iat", now.getEpochSecond());
    }

    private String token(
            Consumer<ObjectNode> headerEdit,
            Consumer<ObjectNode> claimsEdit,
            JWSAlgorithm alg,
            PrivateKey signingKey) {
        ObjectNode h = header(alg.getName());
        headerEdit.accept(h);
        ObjectNode c = claims();
        claimsEdit.accept(c);
        String input = b64(json(h)) + "." + b64(json(c));
        try {
            JWSSigner signer =
                    JWSAlgorithm.HS256.equals(alg)
                            ? new MACSigner(publicKey.getEncoded())
                            : signer(alg, signingKey);
            return input
                    + "."
                    + signer.sign(new JWSHeader(alg), input.getBytes(StandardCharsets.US_ASCII));
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Signs {@code header.payload} (any JSON, duplicates and all) with Nimbus. */
    public static String sign(
            String headerJson, String payloadJson, JWSAlgorithm alg, PrivateKey key) {
        String input =
                b64(headerJson.getBytes(StandardCharsets.UTF_8))
                        + "."
                        + b64(payloadJson.getBytes(StandardCharsets.UTF_8));
        try {
            return input
                    + "."
                    + signer(alg, key)
                            .sign(new JWSHeader(alg), input.getBytes(StandardCharsets.US_ASCII));
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JWSSigner signer(JWSAlgorithm alg, PrivateKey key) throws JOSEException {
        return JWSAlgorithm.Family.EC.contains(alg)
                ? new ECDSASigner(key, Curve.forJWSAlgorithm(alg).iterator().next())
                : new RSASSASigner(key);
    }

    /**
     * ES256/384/512 by the key's curve, RS256 for RSA: what a JWT authority of that key signs with.
     */
    public static JWSAlgorithm algorithmFor(PrivateKey key) {
        if (key instanceof ECKey ec) {
            Curve c = Curve.forECParameterSpec(ec.getParams());
            return Curve.P_384.equals(c)
                    ? JWSAlgorithm.ES384
                    : Curve.P_521.equals(c) ? JWSAlgorithm.ES512 : JWSAlgorithm.ES256;
        }
        return JWSAlgorithm.RS256;
    }

    private static PrivateKey freshKeyLike(PrivateKey key) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance(key.getAlgorithm());
            if (key instanceof ECKey ec) {
                g.initialize(ec.getParams());
            } else {
                g.initialize(2048);
            }
            return g.generateKeyPair().getPrivate();
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] json(ObjectNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String b64(byte[] bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
