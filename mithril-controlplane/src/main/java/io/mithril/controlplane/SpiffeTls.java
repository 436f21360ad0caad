package io.mithril.controlplane;

import io.grpc.netty.GrpcSslContexts;
import io.mithril.spiffe.svid.IdentitySource;
import io.mithril.spiffe.tls.SpiffeKeyManager;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import javax.net.ssl.SSLException;

/**
 * gRPC TLS contexts for the mesh configuration stream: each side presents its current SVID and
 * accepts the peer only if its SVID validates against the bundle of its trust domain and the
 * authorizer accepts its SPIFFE ID. The JDK TLS provider is used so that the key and trust managers
 * are asked at every handshake (SVID rotation, bundle updates).
 */
final class SpiffeTls {

    private SpiffeTls() {}

    /**
     * The client certificate is OPTIONAL at the TLS layer: a certificate that is sent must pass
     * {@code clientCheck} (or the handshake fails), and a client that sends none completes the
     * handshake only to have every call refused with UNAUTHENTICATED by the server, so that it
     * learns why instead of seeing a bare handshake alert.
     */
    static SslContext server(
            IdentitySource identity, javax.net.ssl.X509ExtendedTrustManager clientCheck)
            throws SSLException {
        return GrpcSslContexts.configure(
                        SslContextBuilder.forServer(new SpiffeKeyManager(identity::svid)),
                        SslProvider.JDK)
                .trustManager(clientCheck)
                .clientAuth(ClientAuth.OPTIONAL)
                .build();
    }

    static SslContext client(
            IdentitySource identity, javax.net.ssl.X509ExtendedTrustManager serverCheck)
            throws SSLException {
        return GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                .keyManager(new SpiffeKeyManager(identity::svid))
                .trustManager(serverCheck)
                .build();
    }
}
