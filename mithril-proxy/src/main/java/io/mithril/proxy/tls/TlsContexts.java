package io.mithril.proxy.tls;

import io.mithril.api.tls.OpenSslAlerts;
import io.mithril.mesh.config.DownstreamTls;
import io.mithril.mesh.config.UpstreamTls;
import io.mithril.pki.Pem;
import io.mithril.proxy.identity.Identity;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds Netty TLS contexts: native BoringSSL (netty-tcnative) when it loads, the JDK's otherwise.
 * ISTIO_MUTUAL contexts take the SVID and the bundles from an {@link Identity} and check peers with
 * {@link SpiffeTrustManager}; SIMPLE and MUTUAL ones read PEM files.
 */
public final class TlsContexts {

    private static final Logger log = LoggerFactory.getLogger(TlsContexts.class);
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
    private static volatile boolean logged;

    private TlsContexts() {}

    /** OPENSSL (BoringSSL) when netty-tcnative loads here, else JDK. */
    public static SslProvider provider() {
        boolean native_ = OpenSsl.isAvailable();
        if (!logged) {
            logged = true;
            log.info(
                    "TLS provider: {}",
                    native_
                            ? "BoringSSL (netty-tcnative " + OpenSsl.versionString() + ")"
                            : "JDK (netty-tcnative unavailable: "
                                    + OpenSsl.unavailabilityCause()
                                    + ")");
        }
        return native_ ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    /**
     * The server side of a filter chain.
     *
     * @throws SSLException when the certificate, key or CA files cannot be used
     */
    public static SslContext server(DownstreamTls tls, Identity identity) throws SSLException {
        SslContextBuilder b;
        switch (tls.mode()) {
            case ISTIO_MUTUAL -> {
                if (identity == null) {
                    throw new SSLException("no SVID yet from the Workload API");
                }
                b =
                        SslContextBuilder.forServer(
                                        identity.privateKey(),
                                        identity.chain().toArray(X509Certificate[]::new))
                                .trustManager(
                                        trustManager(
                                                identity,
                                                tls.subjectAltNames(),
                                                tls.trustDomains()))
                                .clientAuth(ClientAuth.REQUIRE);
            }
            case SIMPLE, MUTUAL, OPTIONAL_MUTUAL -> {
                PrivateKey key = readKey(tls.privateKeyFile());
                List<X509Certificate> chain = readCerts(tls.certificateFile());
                b = SslContextBuilder.forServer(key, chain.toArray(X509Certificate[]::new));
                if (tls.mode() != DownstreamTls.Mode.SIMPLE) {
                    b.trustManager(
                                    CaFileTrustManager.of(
                                            readCerts(tls.caCertificatesFile()),
                                            tls.caCertificatesFile()))
                            .clientAuth(
                                    tls.mode() == DownstreamTls.Mode.MUTUAL
                                            ? ClientAuth.REQUIRE
                                            : ClientAuth.OPTIONAL);
                }
            }
            default -> throw new SSLException("unsupported TLS mode " + tls.mode());
        }
        List<String> alpn =
                tls.alpn().isEmpty() ? List.of(ApplicationProtocolNames.HTTP_1_1) : tls.alpn();
        return b.sslProvider(provider())
                .protocols(protocols(tls.minProtocolVersion(), tls.maxProtocolVersion()))
                .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                .applicationProtocolConfig(
                        new ApplicationProtocolConfig(
                                ApplicationProtocolConfig.Protocol.ALPN,
                                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                                alpn))
                .build();
    }

    /**
     * The client side of a cluster's TLS origination (HTTP/1.1 upstream).
     *
     * @throws SSLException when the files cannot be used or there is no SVID for ISTIO_MUTUAL
     */
    public static SslContext client(UpstreamTls tls, Identity identity) throws SSLException {
        SslContextBuilder b =
                SslContextBuilder.forClient().sslProvider(provider()).protocols(PROTOCOLS);
        switch (tls.mode()) {
            case ISTIO_MUTUAL -> {
                if (identity == null) {
                    throw new SSLException("no SVID yet from the Workload API");
                }
                b.keyManager(
                                identity.privateKey(),
                                identity.chain().toArray(X509Certificate[]::new))
                        .trustManager(
                                trustManager(identity, tls.expectedSubjectAltNames(), List.of()));
            }
            case SIMPLE, MUTUAL -> {
                if (tls.insecureSkipVerify()) {
                    b.trustManager(InsecureTrustManagerFactory.INSTANCE);
                } else {
                    // No caCertificates: the system's trust store (the JDK's cacerts), as istiod's
                    // file-root:system; never "trust anything". subjectAltNames are checked either
                    // way.
                    String ca = tls.caCertificatesFile();
                    b.trustManager(
                            CaFileTrustManager.forServer(
                                    ca == null ? List.of() : readCerts(ca),
                                    ca,
                                    tls.expectedSubjectAltNames()));
                }
                if (tls.mode() == UpstreamTls.Mode.MUTUAL) {
                    b.keyManager(
                            readKey(tls.privateKeyFile()),
                            readCerts(tls.clientCertificateFile()).toArray(X509Certificate[]::new));
                }
            }
            default -> throw new SSLException("unsupported TLS mode " + tls.mode());
        }
        b.applicationProtocolConfig(
                new ApplicationProtocolConfig(
                        ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_1_1));
        return b.build();
    }

    /**
     * Peers must present an X509-SVID that validates against the bundle of their trust domain and,
     * when {@code allowed} is not empty, carry one of those SPIFFE IDs. A new identity (rotated
     * SVID or bundles) means new contexts, hence a new trust manager.
     */
    private static javax.net.ssl.X509ExtendedTrustManager trustManager(
            Identity identity, List<String> allowed, List<String> trustDomains) {
        return OpenSslAlerts.wrap(
                new SpiffeTrustManager(identity.x509Bundles(), authorizer(allowed, trustDomains)));
    }

    /**
     * Which SPIFFE IDs a peer may have: one of {@code allowed} or any of {@code trustDomains}
     * (Envoy ORs its SAN matchers); anyone when both are empty. The chain is always validated
     * against the bundle of the peer's own trust domain first, so a trust domain whose bundle is
     * not held is refused whatever is listed here.
     */
    static SpiffeIdAuthorizer authorizer(List<String> allowed, List<String> trustDomains) {
        if (allowed.isEmpty() && trustDomains.isEmpty()) {
            return SpiffeIdAuthorizer.any();
        }
        // Names that are not SPIFFE IDs (DNS SANs) can never match an SVID; they are left out,
        // and a list of only such names accepts no peer.
        Set<SpiffeId> ids =
                allowed.stream()
                        .filter(SpiffeId::isValid)
                        .map(SpiffeId::parse)
                        .collect(Collectors.toSet());
        Set<TrustDomain> tds =
                trustDomains.stream().map(TrustDomain::parse).collect(Collectors.toSet());
        List<String> described = new ArrayList<>(allowed);
        trustDomains.forEach(td -> described.add("spiffe://" + td + "/*"));
        return SpiffeIdAuthorizer.of(
                "one of " + described, id -> ids.contains(id) || tds.contains(id.trustDomain()));
    }

    private static String[] protocols(String min, String max) {
        List<String> out = new ArrayList<>();
        if (!"TLSV1_2".equals(max)) {
            out.add("TLSv1.3");
        }
        if (!"TLSV1_3".equals(min)) {
            out.add("TLSv1.2");
        }
        return out.isEmpty() ? PROTOCOLS : out.toArray(String[]::new);
    }

    private static List<X509Certificate> readCerts(String file) throws SSLException {
        if (file == null) {
            throw new SSLException("certificate file is not set");
        }
        try {
            List<X509Certificate> certs = Pem.readCertificates(Path.of(file));
            if (certs.isEmpty()) {
                throw new SSLException(file + ": no certificate in the file");
            }
            return certs;
        } catch (RuntimeException e) {
            throw new SSLException(file + ": " + e.getMessage(), e);
        }
    }

    private static PrivateKey readKey(String file) throws SSLException {
        if (file == null) {
            throw new SSLException("private key file is not set");
        }
        try {
            return Pem.readPrivateKey(Path.of(file));
        } catch (RuntimeException e) {
            throw new SSLException(file + ": " + e.getMessage(), e);
        }
    }
}
