package io.mithril.agent.attestor.node;

import java.nio.charset.StandardCharsets;

/**
 * The {@code join_token} node attestor: the payload is a one-time token that an operator
 * generated on the server ({@code mithril server token generate}). The agent ID becomes
 * {@code spiffe://<td>/spire/agent/join_token/<token>}.
 */
public final class JoinTokenAttestor implements NodeAttestor {

    private final String token;

    public JoinTokenAttestor(String token) {
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException("join token is empty: pass -joinToken or set join_token in the agent config");
        }
        this.token = token.trim();
    }

    @Override
    public String type() {
        return "join_token";
    }

    @Override
    public byte[] payload() {
        return token.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] respond(byte[] challenge) throws NodeAttestationException {
        throw new NodeAttestationException("the server sent a challenge, but join_token attestation has none");
    }
}
