package io.mithril.samples.bookinfo;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The productpage session, like Flask's: the signed-in user name kept in a cookie named {@code
 * session}, signed with HMAC-SHA256 so a client cannot claim another user. The key is random per
 * process, so sessions end when productpage restarts.
 */
final class SessionCookie {
    static final String NAME = "session";

    private final byte[] key;

    SessionCookie() {
        key = new byte[32];
        new SecureRandom().nextBytes(key);
    }

    String encode(String user) {
        String payload =
                Base64.getUrlEncoder()
                        .withoutPadding()
                        .encodeToString(user.getBytes(StandardCharsets.UTF_8));
        return payload + "." + sign(payload);
    }

    /** The user of a valid cookie value; empty if absent, malformed or forged. */
    Optional<String> decode(String value) {
        int dot = value.indexOf('.');
        if (dot <= 0) {
            return Optional.empty();
        }
        String payload = value.substring(0, dot);
        byte[] expected = sign(payload).getBytes(StandardCharsets.US_ASCII);
        byte[] given = value.substring(dot + 1).getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(expected, given)) {
            return Optional.empty();
        }
        try {
            return Optional.of(
                    new String(Base64.getUrlDecoder().decode(payload), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private String sign(String payload) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return Base64.getUrlEncoder()
                    .withoutPadding()
                    .encodeToString(mac.doFinal(payload.getBytes(StandardCharsets.US_ASCII)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }
}
