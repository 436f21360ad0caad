package io.mithril.spiffe.svid;

/**
 * A JWT-SVID is malformed or does not validate: not a compact JWS, a disallowed {@code alg} or
 * {@code typ}, a missing or invalid claim, a wrong audience, an expired token, an unknown {@code
 * kid} or a bad signature. The message says which part is wrong; it never contains the token
 * itself, which is a bearer credential.
 */
public class JwtSvidException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public JwtSvidException(String message) {
        super(message);
    }

    public JwtSvidException(String message, Throwable cause) {
        super(message, cause);
    }
}
