package io.mithril.k8s.psat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The {@code k8s_psat} attestation payload, as SPIRE's agent sends it: {@code
 * {"cluster":"<name>","token":"<projected service account token>"}}.
 */
public record PsatAttestationData(String cluster, String token) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public PsatAttestationData {
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(token, "token");
    }

    /** The JSON payload. */
    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(
                    JSON.createObjectNode().put("cluster", cluster).put("token", token));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads a payload.
     *
     * @throws IllegalArgumentException with SPIRE's reasons: not JSON, missing cluster, missing
     *     token
     */
    public static PsatAttestationData parse(byte[] payload) {
        if (payload == null || payload.length == 0) {
            throw new IllegalArgumentException("missing attestation payload");
        }
        JsonNode n;
        try {
            n = JSON.readTree(new String(payload, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalArgumentException("failed to unmarshal data payload: not JSON");
        }
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException(
                    "failed to unmarshal data payload: not a JSON object");
        }
        String cluster = n.path("cluster").isTextual() ? n.path("cluster").asText() : "";
        String token = n.path("token").isTextual() ? n.path("token").asText() : "";
        if (cluster.isEmpty()) {
            throw new IllegalArgumentException("missing cluster in attestation data");
        }
        if (token.isEmpty()) {
            throw new IllegalArgumentException("missing token in attestation data");
        }
        return new PsatAttestationData(cluster, token);
    }

    @Override
    public String toString() {
        return "PsatAttestationData[cluster=" + cluster + ", token=<redacted>]";
    }
}
