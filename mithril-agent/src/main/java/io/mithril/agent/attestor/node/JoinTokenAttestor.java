package io.mithril.agent.attestor.node;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * The {@code join_token} node attestor: the payload is a one-time token that an operator generated
 * on the server ({@code mithril server token generate}). The agent ID becomes {@code
 * spiffe://<td>/spire/agent/join_token/<token>}, so it is logged only through {@link #redact}.
 */
public final class JoinTokenAttestor implements NodeAttestor {

    private static final Pattern AGENT_ID_TOKEN =
            Pattern.compile("(/spire/agent/join_token/)([^/\\s,;\\]\"']+)");

    private final String token;

    public JoinTokenAttestor(String token) {
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException(
                    "join token is empty: pass -joinToken or set join_token in the agent config");
        }
        this.token = token.trim();
    }

    /**
     * {@code text} (the agent ID, a message from the server) with the token of every join-token
     * agent ID replaced by {@code <redacted:H>}, H the first 8 hex digits of its SHA-256 (as the
     * server logs it, so the two logs can be matched).
     */
    public static String redact(Object text) {
        return AGENT_ID_TOKEN
                .matcher(String.valueOf(text))
                .replaceAll(
                        m -> m.group(1) + "<redacted:" + sha256(m.group(2)).substring(0, 8) + ">");
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of()
                    .formatHex(
                            MessageDigest.getInstance("SHA-256")
                                    .digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
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
        throw new NodeAttestationException(
                "the server sent a challenge, but join_token attestation has none");
    }
}
