package io.mithril.controlplane.xds;

import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.List;

/**
 * The TLS pieces of Envoy resources as Istio writes them with SPIRE: the workload's certificate is
 * the SDS secret {@value #CERTIFICATE}, the trust bundle the SDS secret {@value #ROOT_CA}, both
 * fetched from the agent's Workload API socket through the Envoy cluster {@value #SDS_CLUSTER}. No
 * key material is ever put in a resource.
 */
final class SdsTls {

    /** SPIRE's SDS name for the workload's own X509-SVID and key. */
    static final String CERTIFICATE = "default";

    /** SPIRE's SDS name for the bundle of the workload's trust domain. */
    static final String ROOT_CA = "ROOTCA";

    /**
     * Istio's SDS name for the operating system's trust store, which istiod names as the validation
     * context of TLS origination without {@code caCertificates} (the agent serves it).
     */
    static final String SYSTEM_ROOTS = "file-root:system";

    /** Istio's name for the bootstrap cluster that reaches the SDS server (the agent's socket). */
    static final String SDS_CLUSTER = "sds-grpc";

    private SdsTls() {}

    /** {@code name} from SDS over the {@value #SDS_CLUSTER} cluster (Istio's sds_config). */
    static SdsSecretConfig sds(String name) {
        ConfigSource source =
                ConfigSource.newBuilder()
                        .setApiConfigSource(
                                ApiConfigSource.newBuilder()
                                        .setApiType(ApiConfigSource.ApiType.GRPC)
                                        .setTransportApiVersion(ApiVersion.V3)
                                        .setSetNodeOnFirstMessageOnly(true)
                                        .addGrpcServices(
                                                GrpcService.newBuilder()
                                                        .setEnvoyGrpc(
                                                                GrpcService.EnvoyGrpc.newBuilder()
                                                                        .setClusterName(
                                                                                SDS_CLUSTER))))
                        .setResourceApiVersion(ApiVersion.V3)
                        .build();
        return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(source).build();
    }

    /**
     * The workload's SVID ({@value #CERTIFICATE}) and the mesh bundle ({@value #ROOT_CA}), the
     * peer's SPIFFE ID checked against {@code sans} (any ID the bundle vouches for when empty).
     */
    static CommonTlsContext.Builder svid(List<String> sans, List<String> alpn) {
        return svid(sans, List.of(), alpn);
    }

    /**
     * As {@link #svid(List, List)}, and with Istio's trust domain validation: one URI prefix
     * matcher {@code spiffe://<td>/} per trust domain peers may come from (istiod writes the mesh's
     * trust domain and its {@code trustDomainAliases} so on inbound listeners). Envoy accepts a
     * peer that matches any one matcher.
     */
    static CommonTlsContext.Builder svid(
            List<String> sans, List<String> trustDomains, List<String> alpn) {
        CertificateValidationContext.Builder match = CertificateValidationContext.newBuilder();
        for (String san : sans) {
            match.addMatchTypedSubjectAltNames(
                    SubjectAltNameMatcher.newBuilder()
                            .setSanType(SubjectAltNameMatcher.SanType.URI)
                            .setMatcher(StringMatcher.newBuilder().setExact(san)));
        }
        for (String td : trustDomains) {
            match.addMatchTypedSubjectAltNames(
                    SubjectAltNameMatcher.newBuilder()
                            .setSanType(SubjectAltNameMatcher.SanType.URI)
                            .setMatcher(
                                    StringMatcher.newBuilder().setPrefix("spiffe://" + td + "/")));
        }
        return CommonTlsContext.newBuilder()
                .addTlsCertificateSdsSecretConfigs(sds(CERTIFICATE))
                .setCombinedValidationContext(
                        CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                                .setDefaultValidationContext(match)
                                .setValidationContextSdsSecretConfig(sds(ROOT_CA)))
                .addAllAlpnProtocols(alpn);
    }

    /**
     * Certificates from files named by the Istio resource (SIMPLE / MUTUAL): Envoy reads them
     * itself; the resource carries the paths only.
     */
    static CommonTlsContext.Builder files(
            String certificateFile,
            String privateKeyFile,
            String caFile,
            List<String> sans,
            List<String> alpn) {
        CommonTlsContext.Builder b = CommonTlsContext.newBuilder().addAllAlpnProtocols(alpn);
        if (certificateFile != null && privateKeyFile != null) {
            b.addTlsCertificates(
                    TlsCertificate.newBuilder()
                            .setCertificateChain(
                                    DataSource.newBuilder().setFilename(certificateFile))
                            .setPrivateKey(DataSource.newBuilder().setFilename(privateKeyFile)));
        }
        if (caFile != null || !sans.isEmpty()) {
            CertificateValidationContext.Builder v = sanMatchers(sans);
            if (caFile != null) {
                v.setTrustedCa(DataSource.newBuilder().setFilename(caFile));
            }
            b.setValidationContext(v);
        }
        return b;
    }

    /**
     * TLS origination to a server that is not in the mesh (SIMPLE / MUTUAL), as istiod writes it:
     * with {@code caFile}, a validation context trusting that file; without, the server is verified
     * against the system's trust store, the SDS secret {@value #SYSTEM_ROOTS}; with {@code
     * insecureSkipVerify}, an empty validation context (istiod's {@code
     * CommonTlsContext_ValidationContext{}}: Envoy then does not verify the server, and the proxy
     * takes that empty context, and nothing else, as the operator's explicit choice). The SAN
     * matchers apply in the first two cases.
     */
    static CommonTlsContext.Builder origination(
            String certificateFile,
            String privateKeyFile,
            String caFile,
            boolean insecureSkipVerify,
            List<String> sans) {
        if (insecureSkipVerify) {
            return files(certificateFile, privateKeyFile, null, List.of(), List.of())
                    .setValidationContext(CertificateValidationContext.getDefaultInstance());
        }
        if (caFile != null) {
            return files(certificateFile, privateKeyFile, caFile, sans, List.of());
        }
        CommonTlsContext.Builder b =
                files(certificateFile, privateKeyFile, null, List.of(), List.of());
        return b.setCombinedValidationContext(
                CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                        .setDefaultValidationContext(sanMatchers(sans))
                        .setValidationContextSdsSecretConfig(sds(SYSTEM_ROOTS)));
    }

    private static CertificateValidationContext.Builder sanMatchers(List<String> sans) {
        CertificateValidationContext.Builder v = CertificateValidationContext.newBuilder();
        for (String san : sans) {
            v.addMatchTypedSubjectAltNames(
                    SubjectAltNameMatcher.newBuilder()
                            .setSanType(
                                    san.startsWith("spiffe://")
                                            ? SubjectAltNameMatcher.SanType.URI
                                            : SubjectAltNameMatcher.SanType.DNS)
                            .setMatcher(StringMatcher.newBuilder().setExact(san)));
        }
        return v;
    }

    /**
     * {@code TLSV1_2} / {@code TLSv1.3} style names to Envoy's enum; null or unknown = Envoy's
     * default.
     */
    static TlsParameters params(String min, String max) {
        TlsParameters.Builder p = TlsParameters.newBuilder();
        TlsParameters.TlsProtocol lo = protocol(min);
        TlsParameters.TlsProtocol hi = protocol(max);
        if (lo != null) {
            p.setTlsMinimumProtocolVersion(lo);
        }
        if (hi != null) {
            p.setTlsMaximumProtocolVersion(hi);
        }
        return p.build();
    }

    private static TlsParameters.TlsProtocol protocol(String v) {
        if (v == null) {
            return null;
        }
        return switch (v.toUpperCase(java.util.Locale.ROOT).replace(".", "_")) {
            case "TLSV1_0" -> TlsParameters.TlsProtocol.TLSv1_0;
            case "TLSV1_1" -> TlsParameters.TlsProtocol.TLSv1_1;
            case "TLSV1_2" -> TlsParameters.TlsProtocol.TLSv1_2;
            case "TLSV1_3" -> TlsParameters.TlsProtocol.TLSv1_3;
            default -> null;
        };
    }
}
