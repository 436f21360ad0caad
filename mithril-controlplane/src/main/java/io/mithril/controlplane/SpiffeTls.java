package io.mithril.controlplane;

import io.grpc.netty.GrpcSslContexts;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeKeyManager;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import javax.net.ssl.SSLException;

/**
 * gRPC TLS contexts for the mesh configuration stream: each side presents its current SVID and
 * accepts the peer only if its SVID validates against the bundle of its trust domain and the
 * authorizer accepts its SPIFFE ID. The JDK TLS provider is used so that the key and trust
 * managers are asked at every handshake (SVID rotation, bundle updates).
 */
final class SpiffeTls {

    private SpiffeTls() {
    }

    static SslContext server(IdentitySource identity, SpiffeIdAuthorizer clients) throws SSLException {
        return GrpcSslContexts.configure(SslContextBuilder.forServer(new SpiffeKeyManager(identity::svid)), SslProvider.JDK)
                .trustManager(new SpiffeTrustManager(identity.bundles(), clients))
                .clientAuth(ClientAuth.REQUIRE)
                .build();
    }

    static SslContext client(IdentitySource identity, javax.net.ssl.X509ExtendedTrustManager serverCheck) throws SSLException {
        return GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                .keyManager(new SpiffeKeyManager(identity::svid))
                .trustManager(serverCheck)
                .build();
    }
}
