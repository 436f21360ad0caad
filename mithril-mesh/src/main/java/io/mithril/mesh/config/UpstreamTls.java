package io.mithril.mesh.config;

import java.util.List;

/**
 * TLS that a cluster originates to its endpoints (Envoy's UpstreamTlsContext).
 *
 * @param mode ISTIO_MUTUAL (present the SVID, verify against the bundle), SIMPLE or MUTUAL (files)
 * @param expectedSubjectAltNames the server must present one of these (SPIFFE IDs for
 *     ISTIO_MUTUAL); empty = any identity the bundle vouches for
 * @param sni server name sent, or null
 */
public record UpstreamTls(
        Mode mode,
        List<String> expectedSubjectAltNames,
        String sni,
        String clientCertificateFile,
        String privateKeyFile,
        String caCertificatesFile,
        boolean insecureSkipVerify) {

    /** How the client certificate and the server check are set up. */
    public enum Mode {
        ISTIO_MUTUAL,
        SIMPLE,
        MUTUAL
    }

    public UpstreamTls {
        expectedSubjectAltNames = List.copyOf(expectedSubjectAltNames);
    }
}
