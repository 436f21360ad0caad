package io.mithril.cli.sample;

import io.mithril.api.workload.client.X509Context;
import io.mithril.api.workload.client.X509Source;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509Svid;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeKeyManager;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A workload outside the mesh that serves HTTPS with mutual TLS on its own X509-SVID from the
 * Workload API, as go-spiffe's {@code spiffetls} server does: its certificate is the current SVID
 * (a rotation reaches the next handshake), a client must present an X509-SVID that validates
 * against the bundle of its trust domain and whose SPIFFE ID is one of the authorized ones, else
 * the handshake fails with a TLS alert the client sees (TLS 1.2 and 1.3, on Netty). Every answer
 * says who called (the SPIFFE ID the handshake verified) and, when the call came through a gateway,
 * the {@code x-forwarded-client-cert} it added.
 */
public final class MtlsServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MtlsServer.class);

    private final X509Source source;
    private final EventLoopGroup group;
    private final Channel channel;

    private MtlsServer(X509Source source, EventLoopGroup group, Channel channel) {
        this.source = source;
        this.group = group;
        this.channel = channel;
    }

    /**
     * Waits up to {@code timeout} for an SVID from the Workload API at {@code socket}, then serves
     * on {@code address}, admitting only clients whose SPIFFE ID is in {@code authorized}.
     */
    public static MtlsServer start(
            String socket, Duration timeout, InetSocketAddress address, List<SpiffeId> authorized)
            throws IOException {
        if (authorized.isEmpty()) {
            throw new IllegalArgumentException("at least one authorized SPIFFE ID is required");
        }
        X509Source source = X509Source.start(socket, timeout);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        try {
            SpiffeTrustManager trust =
                    new SpiffeTrustManager(
                                    td -> bundle(source.current(), td),
                                    SpiffeIdAuthorizer.oneOf(authorized))
                            .withRefusalListener(
                                    (who, reason) ->
                                            log.info(
                                                    "refused a client {}: {}",
                                                    who,
                                                    reason.getMessage()));
            SslContext ssl =
                    SslContextBuilder.forServer(new SpiffeKeyManager(() -> svid(source.current())))
                            .sslProvider(SslProvider.JDK)
                            .trustManager(trust)
                            .clientAuth(ClientAuth.REQUIRE)
                            .protocols("TLSv1.3", "TLSv1.2")
                            .build();
            SpiffeId self = source.current().defaultSvid().spiffeId();
            Channel channel =
                    new ServerBootstrap()
                            .group(group)
                            .channel(NioServerSocketChannel.class)
                            .childHandler(
                                    new ChannelInitializer<SocketChannel>() {
                                        @Override
                                        protected void initChannel(SocketChannel ch) {
                                            ch.pipeline()
                                                    .addLast(ssl.newHandler(ch.alloc()))
                                                    .addLast(new HttpServerCodec())
                                                    .addLast(new HttpObjectAggregator(64 * 1024))
                                                    .addLast(new Handler(self));
                                        }
                                    })
                            .bind(address)
                            .syncUninterruptibly()
                            .channel();
            return new MtlsServer(source, group, channel);
        } catch (IOException | RuntimeException e) {
            group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS);
            source.close();
            throw e;
        }
    }

    private static X509Svid svid(X509Context ctx) {
        X509Context.Svid s = ctx.defaultSvid();
        return X509Svid.of(s.chain(), s.privateKey());
    }

    private static X509Bundle bundle(X509Context ctx, TrustDomain td) {
        List<X509Certificate> roots = ctx.bundles().get(td);
        if (roots == null) {
            throw new BundleNotFoundException(td);
        }
        return X509Bundle.of(td, roots);
    }

    /** Answers every request with who served it and who called. */
    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final SpiffeId self;

        Handler(SpiffeId self) {
            this.self = self;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            String peer;
            try {
                X509Certificate leaf =
                        (X509Certificate)
                                ctx.pipeline()
                                        .get(SslHandler.class)
                                        .engine()
                                        .getSession()
                                        .getPeerCertificates()[0];
                peer =
                        io.mithril.pki.Certificates.spiffeId(leaf)
                                .map(SpiffeId::toString)
                                .orElse("unknown");
            } catch (SSLPeerUnverifiedException e) {
                peer = "none";
            }
            String xfcc = request.headers().get("x-forwarded-client-cert");
            String body =
                    "external workload "
                            + self
                            + "\npeer: "
                            + peer
                            + "\nrequest: "
                            + request.method()
                            + " "
                            + request.uri()
                            + " host "
                            + request.headers().get(HttpHeaderNames.HOST)
                            + (xfcc == null ? "" : "\nx-forwarded-client-cert: " + xfcc)
                            + "\n";
            log.info("{} {} from {}", request.method(), request.uri(), peer);
            FullHttpResponse response =
                    new DefaultFullHttpResponse(
                            request.protocolVersion(),
                            HttpResponseStatus.OK,
                            Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            response.headers()
                    .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            HttpUtil.setKeepAlive(response, keepAlive);
            var f = ctx.writeAndFlush(response);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug(
                    "connection from {} closed: {}",
                    ctx.channel().remoteAddress(),
                    cause.toString());
            ctx.close();
        }
    }

    /** Where it listens (the port it got, with port 0). */
    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** The SPIFFE ID it serves with. */
    public SpiffeId spiffeId() {
        return source.current().defaultSvid().spiffeId();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS);
        source.close();
    }
}
