package io.mithril.spiffe.svid;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.JwtBundle;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.testing.HostileJwtSvids;
import io.mithril.spiffe.testing.TestCerts;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

class JwtSvidPropertiesTest {
    static final KeyPair KEY = TestCerts.ec256();
    static final JwtBundle BUNDLE =
            JwtBundle.of(TrustDomain.of("example.org"), Map.of("k", KEY.getPublic()));
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-27T12:00:00Z"), ZoneOffset.UTC);
    static final ObjectMapper JSON = new ObjectMapper();

    static void onlyJwtSvidOrBundleNotFound(String token) {
        try {
            JwtSvid.parseAndValidate(token, BUNDLE, "backend", CLOCK);
        } catch (JwtSvidException | BundleNotFoundException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    @Property(tries = 500)
    void arbitraryStringsOnlyFailWithJwtSvidException(@ForAll String token) {
        onlyJwtSvidOrBundleNotFound(token);
    }

    @Provide
    Arbitrary<String> jsonValues() {
        return Arbitraries.oneOf(
                Arbitraries.of(
                        "null",
                        "true",
                        "1",
                        "-1",
                        "1e308",
                        "1e400",
                        "-1e400",
                        "1.5",
                        "9223372036854775808",
                        "\"x\"",
                        "[]",
                        "{}",
                        "[1]",
                        "[\"backend\"]",
                        "\"backend\"",
                        "\"spiffe://example.org/a\"",
                        "\"spiffe://other.org/a\"",
                        "\"none\"",
                        "\"ES256\"",
                        "\"RS256\"",
                        "\"PS256\"",
                        "\"HS256\"",
                        "\"JWT\"",
                        "\"k\"",
                        "\"\"",
                        "1764244800",
                        "1764248400",
                        "NaN"),
                Arbitraries.strings()
                        .ofMaxLength(8)
                        .map(
                                s -> {
                                    try {
                                        return JSON.writeValueAsString(s);
                                    } catch (Exception e) {
                                        throw new IllegalStateException(e);
                                    }
                                }));
    }

    @Provide
    Arbitrary<String> objects() {
        Arbitrary<String> names =
                Arbitraries.of("alg", "typ", "kid", "crit", "sub", "aud", "exp", "nbf", "iat");
        return Arbitraries.maps(names, jsonValues())
                .ofMaxSize(6)
                .map(
                        m -> {
                            StringBuilder sb = new StringBuilder("{");
                            m.forEach(
                                    (k, v) ->
                                            sb.append(sb.length() > 1 ? "," : "")
                                                    .append('"')
                                                    .append(k)
                                                    .append("\":")
                                                    .append(v));
                            return sb.append('}').toString();
                        });
    }

    @Property(tries = 1000)
    void structuredGarbageOnlyFailsWithJwtSvidException(
            @ForAll("objects") String header,
            @ForAll("objects") String claims,
            @ForAll("signatures") String signature) {
        String input = b64(header) + "." + b64(claims);
        onlyJwtSvidOrBundleNotFound(input + "." + signature);
    }

    @Property(tries = 1000)
    void signedGarbageClaimsOnlyFailWithJwtSvidException(@ForAll("objects") String claims)
            throws Exception {
        // A valid ES256 signature by a bundle key, so that validation reaches the claim checks.
        onlyJwtSvidOrBundleNotFound(
                HostileJwtSvids.sign(
                        "{\"alg\":\"ES256\",\"kid\":\"k\"}",
                        claims,
                        JWSAlgorithm.ES256,
                        KEY.getPrivate()));
    }

    @Provide
    Arbitrary<String> signatures() {
        return Arbitraries.oneOf(
                Arbitraries.strings()
                        .withChars("ABCDEFabcdef0123456789-_")
                        .ofMinLength(1)
                        .ofMaxLength(100),
                Arbitraries.bytes()
                        .array(byte[].class)
                        .ofMaxSize(140)
                        .map(b -> Base64.getUrlEncoder().withoutPadding().encodeToString(b)));
    }

    static String b64(String s) {
        return Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
