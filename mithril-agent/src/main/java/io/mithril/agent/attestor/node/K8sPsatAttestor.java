package io.mithril.agent.attestor.node;

import io.mithril.k8s.psat.PsatAttestationData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The agent side of {@code NodeAttestor "k8s_psat"}: sends {@code {"cluster":..,"token":..}} with
 * the projected service-account token read from {@code token_path} (default {@value
 * #DEFAULT_TOKEN_PATH}) at each attestation, so a token the kubelet rotated is the one sent. The
 * server checks it with the cluster's TokenReview API. Reattestable, as in SPIRE.
 */
public final class K8sPsatAttestor implements NodeAttestor {

    public static final String TYPE = "k8s_psat";
    public static final String DEFAULT_TOKEN_PATH = "/var/run/secrets/tokens/spire-agent";

    private final String cluster;
    private final Path tokenPath;

    /**
     * @throws NodeAttestationException when the cluster is empty or the token cannot be read now
     */
    public K8sPsatAttestor(String cluster, Path tokenPath) throws NodeAttestationException {
        if (cluster == null || cluster.isEmpty()) {
            throw new NodeAttestationException(
                    "NodeAttestor \"k8s_psat\": cluster is required (the name the server's clusters map uses)");
        }
        this.cluster = cluster;
        this.tokenPath = tokenPath;
        try {
            token();
        } catch (IOException e) {
            throw new NodeAttestationException(
                    "NodeAttestor \"k8s_psat\": unable to load token from " + tokenPath + ": " + e,
                    e);
        }
    }

    private String token() throws IOException {
        String t = Files.readString(tokenPath, StandardCharsets.UTF_8).trim();
        if (t.isEmpty()) {
            throw new IOException("the token file is empty");
        }
        return t;
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public byte[] payload() {
        try {
            return new PsatAttestationData(cluster, token()).toJson();
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "NodeAttestor \"k8s_psat\": unable to load token from " + tokenPath, e);
        }
    }

    @Override
    public byte[] respond(byte[] challenge) throws NodeAttestationException {
        throw new NodeAttestationException(
                "the server sent a challenge, but k8s_psat attestation has none");
    }

    @Override
    public boolean reattestable() {
        return true;
    }
}
