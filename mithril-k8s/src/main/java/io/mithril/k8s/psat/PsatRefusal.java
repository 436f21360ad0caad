package io.mithril.k8s.psat;

/**
 * A {@code k8s_psat} attestation refused; the message says why, in SPIRE's words, and never holds
 * the token.
 */
public final class PsatRefusal extends Exception {
    private static final long serialVersionUID = 1L;

    public PsatRefusal(String message) {
        super(message);
    }
}
