package io.mithril.mesh.config;

import java.util.List;

/**
 * TLS terminated by a listener's filter chain (Envoy's DownstreamTlsContext).
 *
 * @param mode ISTIO_MUTUAL (SVID + mesh bundle, client certificate required), SIMPLE, MUTUAL,
 *     OPTIONAL_MUTUAL (certificate files)
 * @param subjectAltNames client SPIFFE IDs to accept
 * @param trustDomains ISTIO_MUTUAL: the trust domains clients may come from (Istio's trust domain
 *     validation: the mesh's own and its {@code trustDomainAliases}; Envoy's URI prefix matchers
 *     {@code spiffe://<td>/}). A client passes when it has one of {@code subjectAltNames} or is a
 *     member of one of these, as Envoy ORs its SAN matchers; with both empty any client with an
 *     SVID the held bundles vouch for
 * @param certificateFile server certificate file (SIMPLE/MUTUAL), else null
 * @param privateKeyFile private key file (SIMPLE/MUTUAL), else null
 * @param caCertificatesFile CA file to verify clients (MUTUAL), else null
 * @param alpn protocols offered, e.g. {@code h2}, {@code http/1.1}
 */
public record DownstreamTls(
        Mode mode,
        List<String> subjectAltNames,
        List<String> trustDomains,
        String certificateFile,
        String privateKeyFile,
        String caCertificatesFile,
        List<String> alpn,
        String minProtocolVersion,
        String maxProtocolVersion) {

    /** How the certificate and the client check are set up. */
    public enum Mode {
        ISTIO_MUTUAL,
        SIMPLE,
        MUTUAL,
        OPTIONAL_MUTUAL
    }

    public DownstreamTls {
        subjectAltNames = List.copyOf(subjectAltNames);
        trustDomains = List.copyOf(trustDomains);
        alpn = List.copyOf(alpn);
        if (!trustDomains.isEmpty() && mode != Mode.ISTIO_MUTUAL) {
            throw new IllegalArgumentException(
                    "trust domain validation applies to ISTIO_MUTUAL only, not " + mode);
        }
    }

    /** Without trust domain validation (any client trust domain whose bundle is held). */
    public DownstreamTls(
            Mode mode,
            List<String> subjectAltNames,
            String certificateFile,
            String privateKeyFile,
            String caCertificatesFile,
            List<String> alpn,
            String minProtocolVersion,
            String maxProtocolVersion) {
        this(
                mode,
                subjectAltNames,
                List.of(),
                certificateFile,
                privateKeyFile,
                caCertificatesFile,
                alpn,
                minProtocolVersion,
                maxProtocolVersion);
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
