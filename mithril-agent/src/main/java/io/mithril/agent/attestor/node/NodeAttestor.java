package io.mithril.agent.attestor.node;

/**
 * How the agent proves to the server which node it runs on, in the {@code AttestAgent} stream: it
 * sends {@link #type()} and {@link #payload()}, then answers each challenge the server sends.
 */
public interface NodeAttestor {

    /** The attestor type the server must know ({@code join_token}, {@code x509pop}). */
    String type();

    /** The attestation payload sent with the first message. */
    byte[] payload();

    /**
     * The answer to a server challenge.
     *
     * @throws NodeAttestationException if this attestor cannot answer (join_token has no challenge)
     */
    byte[] respond(byte[] challenge) throws NodeAttestationException;

    /**
     * Whether the agent may attest again with this attestor after the server evicted it, as SPIRE's
     * reattestable attestors do (x509pop: the node still holds its key); a join token is spent at
     * first use, so it is not.
     */
    default boolean reattestable() {
        return false;
    }
}
