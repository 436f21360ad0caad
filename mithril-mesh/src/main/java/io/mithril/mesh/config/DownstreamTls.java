package io.mithril.mesh.config;

import java.util.List;

/**
 * TLS terminated by a listener's filter chain (Envoy's DownstreamTlsContext).
 *
 * @param mode ISTIO_MUTUAL (SVID + mesh bundle, client certificate required), SIMPLE, MUTUAL,
 *             OPTIONAL_MUTUAL (certificate files)
 * @param subjectAltNames client SANs to accept (any when empty)
 * @param certificateFile server certificate file (SIMPLE/MUTUAL), else null
 * @param privateKeyFile private key file (SIMPLE/MUTUAL), else null
 * @param caCertificatesFile CA file to verify clients (MUTUAL), else null
 * @param alpn protocols offered, e.g. {@code h2}, {@code http/1.1}
 */
public record DownstreamTls(Mode mode, List<String> subjectAltNames, String certificateFile, String privateKeyFile,
                            String caCertificatesFile, List<String> alpn, String minProtocolVersion,
                            String maxProtocolVersion) {

    /** How the certificate and the client check are set up. */
    public enum Mode { ISTIO_MUTUAL, SIMPLE, MUTUAL, OPTIONAL_MUTUAL }

    public DownstreamTls {
        subjectAltNames = List.copyOf(subjectAltNames);
        alpn = List.copyOf(alpn);
    }

    /** Whether a client certificate is required. */
    public boolean requireClientCertificate() {
        return mode == Mode.ISTIO_MUTUAL || mode == Mode.MUTUAL;
    }

    /** Whether the certificate and trust come from the SPIFFE identity (SVID and bundles). */
    public boolean usesSvid() {
        return mode == Mode.ISTIO_MUTUAL;
    }
}
