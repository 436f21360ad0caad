package io.mithril.server.api.agent;

import io.grpc.netty.GrpcSslContexts;
import io.mithril.pki.Certificates;
import io.mithril.pki.KeyType;
import io.mithril.server.ca.CaManager;
import io.mithril.server.metrics.ServerMetrics;
import io.mithril.spiffe.id.SpiffeId;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS for the agent API: the server presents its own X509-SVID ({@code spiffe://<td>/spire/server},
 * minted from the active CA, re-minted at half life or when the CA changes) and accepts an
 * optional client certificate that must validate against the current bundle. Both are looked up
 * per handshake, so rotation needs no restart. Native TLS (BoringSSL via netty-tcnative) when
 * available, the JDK's otherwise.
 */
public final class ServerTls {

    private static final Logger log = LoggerFactory.getLogger(ServerTls.class);

    private final CaManager ca;
    private final SpiffeId serverId;
    private final Duration ttl;
    private final ServerMetrics metrics;
    private volatile Svid current;

    private record Svid(List<X509Certificate> chain, PrivateKey key, Instant renewAt, X509Certificate signer) {
    }

    public ServerTls(CaManager ca, SpiffeId serverId, Duration ttl, ServerMetrics metrics) {
        this.ca = ca;
        this.serverId = serverId;
        this.ttl = ttl;
        this.metrics = metrics;
    }

    /** The server SVID chain in use (minting one if needed). */
    public List<X509Certificate> serverSvid() {
        return svid().chain();
    }

    private Svid svid() {
        Svid s = current;
        X509Certificate signer = ca.currentX509Ca().certificate();
        Instant now = ca.clock().instant();
        if (s == null || !now.isBefore(s.renewAt()) || !s.signer().equals(signer)) {
            synchronized (this) {
                s = current;
                if (s == null || !now.isBefore(s.renewAt()) || !s.signer().equals(signer)) {
                    KeyPair kp = KeyType.EC_P256.generate();
                    List<X509Certificate> chain = ca.signX509Svid(kp.getPublic(), serverId, List.of(), ttl);
                    Instant nb = chain.get(0).getNotBefore().toInstant();
                    Instant na = chain.get(0).getNotAfter().toInstant();
                    s = new Svid(chain, kp.getPrivate(), nb.plus(Duration.between(nb, na).dividedBy(2)), signer);
                    current = s;
                    metrics.svidSigned("server");
                    log.info("Server SVID minted: spiffe_id={} serial={} notAfter={}", serverId, chain.get(0).getSerialNumber(), na);
                }
            }
        }
        return s;
    }

    /** The Netty server context for gRPC (ALPN h2), client certificates optional. */
    public SslContext sslContext() throws SSLException {
        SslProvider provider = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        SslContextBuilder b = SslContextBuilder.forServer(new KeyManager())
                .trustManager(new TrustManager())
                .clientAuth(ClientAuth.OPTIONAL);
        return GrpcSslContexts.configure(b, provider).build();
    }

    private final class KeyManager extends X509ExtendedKeyManager {
        private static final String ALIAS = "spire-server";

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return ALIAS;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return ALIAS;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return svid().chain().toArray(new X509Certificate[0]);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return svid().key();
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return new String[] {ALIAS};
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }
    }

    /** Validates a client chain against the current bundle (RFC 5280), requiring a SPIFFE ID leaf. */
    private final class TrustManager extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            verify(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            verify(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            verify(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("the agent API does not verify servers");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            throw new CertificateException("the agent API does not verify servers");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            throw new CertificateException("the agent API does not verify servers");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return ca.bundle().x509Authorities().toArray(new X509Certificate[0]);
        }

        private void verify(X509Certificate[] chain) throws CertificateException {
            if (chain == null || chain.length == 0) {
                throw new CertificateException("no client certificate");
            }
            if (Certificates.spiffeId(chain[0]).isEmpty()) {
                throw new CertificateException("client certificate has no SPIFFE ID");
            }
            verifyChain(Arrays.asList(chain), ca.bundle().x509Authorities(), Date.from(ca.clock().instant()));
        }
    }

    /** RFC 5280 path validation of {@code chain} (leaf first) against {@code roots}. */
    public static void verifyChain(List<X509Certificate> chain, List<X509Certificate> roots, Date at) throws CertificateException {
        try {
            Set<TrustAnchor> anchors = new HashSet<>();
            for (X509Certificate r : roots) {
                anchors.add(new TrustAnchor(r, null));
            }
            if (anchors.isEmpty()) {
                throw new CertificateException("the bundle has no X.509 authorities");
            }
            CertPath path = CertificateFactory.getInstance("X.509").generateCertPath(chain.stream().filter(c -> !roots.contains(c)).toList());
            PKIXParameters p = new PKIXParameters(anchors);
            p.setRevocationEnabled(false);
            p.setDate(at);
            CertPathValidator.getInstance("PKIX").validate(path, p);
        } catch (GeneralSecurityException e) {
            throw new CertificateException("certificate chain does not validate against the bundle: " + e.getMessage(), e);
        }
    }
}
