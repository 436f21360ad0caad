package io.mithril.server.api.agent;

import io.grpc.netty.GrpcSslContexts;
import io.mithril.api.tls.OpenSslAlerts;
import io.mithril.pki.KeyType;
import io.mithril.server.ca.CaManager;
import io.mithril.server.metrics.ServerMetrics;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.svid.X509Svid;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeKeyManager;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS for the agent API: the server presents its own X509-SVID ({@code spiffe://<td>/spire/server},
 * minted from the active CA, re-minted at half life or when the CA changes) and accepts an optional
 * client certificate that must validate against the current bundle. Both are looked up per
 * handshake, so rotation needs no restart. Native TLS (BoringSSL via netty-tcnative) when
 * available, the JDK's otherwise.
 */
public final class ServerTls {

    private static final Logger log = LoggerFactory.getLogger(ServerTls.class);

    private final CaManager ca;
    private final SpiffeId serverId;
    private final Duration ttl;
    private final ServerMetrics metrics;
    private volatile Svid current;

    private record Svid(X509Svid svid, Instant renewAt, X509Certificate signer) {}

    public ServerTls(CaManager ca, SpiffeId serverId, Duration ttl, ServerMetrics metrics) {
        this.ca = ca;
        this.serverId = serverId;
        this.ttl = ttl;
        this.metrics = metrics;
    }

    /** The server SVID chain in use (minting one if needed). */
    public List<X509Certificate> serverSvid() {
        return svid().svid().chain();
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
                    List<X509Certificate> chain =
                            ca.signX509Svid(kp.getPublic(), serverId, List.of(), ttl);
                    Instant nb = chain.get(0).getNotBefore().toInstant();
                    Instant na = chain.get(0).getNotAfter().toInstant();
                    s =
                            new Svid(
                                    X509Svid.of(chain, kp.getPrivate()),
                                    nb.plus(Duration.between(nb, na).dividedBy(2)),
                                    signer);
                    current = s;
                    metrics.svidSigned("server");
                    log.info(
                            "Server SVID minted: spiffe_id={} serial={} notAfter={}",
                            serverId,
                            chain.get(0).getSerialNumber(),
                            na);
                }
            }
        }
        return s;
    }

    /**
     * A key manager presenting the server SVID (re-minted as {@link #serverSvid()} is), for other
     * TLS listeners.
     */
    public SpiffeKeyManager keyManager() {
        return new SpiffeKeyManager(() -> svid().svid());
    }

    /**
     * The Netty server context for gRPC (ALPN h2), client certificates optional: one that is sent
     * must be an X509-SVID of this trust domain that validates against the current bundle at the
     * CA's clock.
     */
    public SslContext sslContext() throws SSLException {
        SslProvider provider = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        SslContextBuilder b =
                SslContextBuilder.forServer(new SpiffeKeyManager(() -> svid().svid()))
                        .trustManager(
                                OpenSslAlerts.wrap(
                                        new SpiffeTrustManager(
                                                td -> ca.bundle().x509Bundle(),
                                                SpiffeIdAuthorizer.memberOf(serverId.trustDomain()),
                                                ca.clock())))
                        .clientAuth(ClientAuth.OPTIONAL);
        return GrpcSslContexts.configure(b, provider).build();
    }
}
