package io.mithril.server.attestor;

/**
 * A server-side node attestor, as SPIRE's NodeAttestor plug-point: turns the evidence an agent
 * presents into an agent ID and node selectors, possibly after a challenge. Implementations: {@link
 * JoinTokenAttestor} ({@code join_token}), {@link X509PopAttestor} ({@code x509pop}).
 */
public interface NodeAttestor {

    /** The attestor type the agent names in {@code AttestationData.type}. */
    String type();

    /**
     * Starts attesting from the agent's payload.
     *
     * @return either the result, or a challenge to send whose response completes the attestation
     * @throws AttestationException when the evidence is refused; the message is the reason
     */
    Step begin(byte[] payload) throws AttestationException;

    /** The next step of an attestation. */
    sealed interface Step permits Done, Challenge {}

    /** Attestation finished. */
    record Done(AttestationResult result) implements Step {}

    /** Send {@code challenge} to the agent and pass its answer to {@code verifier}. */
    record Challenge(byte[] challenge, ChallengeVerifier verifier) implements Step {}

    /** Checks the agent's answer to a challenge. */
    @FunctionalInterface
    interface ChallengeVerifier {
        AttestationResult verify(byte[] response) throws AttestationException;
    }
}
