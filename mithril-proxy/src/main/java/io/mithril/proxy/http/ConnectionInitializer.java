package io.mithril.proxy.http;

import io.mithril.mesh.config.FilterChain;
import io.mithril.mesh.config.Listener;
import io.mithril.proxy.Proxy;
import io.mithril.proxy.ProxySettings;
import io.mithril.proxy.Snapshot;
import io.mithril.spiffe.svid.X509SvidException;
import io.mithril.spiffe.svid.X509SvidValidator;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets up each accepted connection from the current snapshot: plaintext, TLS (filter chain chosen
 * by SNI, as Envoy's tls_inspector does) or, when the listener has both (PERMISSIVE), whichever the
 * first bytes show; then HTTP/1.1 or HTTP/2 as ALPN says.
 */
public final class ConnectionInitializer extends ChannelInitializer<SocketChannel> {

    private static final Logger log = LoggerFactory.getLogger(ConnectionInitializer.class);

    private final Proxy proxy;
    private final int listenerPort;

    public ConnectionInitializer(Proxy proxy, int listenerPort) {
        this.proxy = proxy;
        this.listenerPort = listenerPort;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        Snapshot s = proxy.snapshot();
        Listener l = s == null ? null : s.config().listener(listenerPort);
        if (l == null) {
            ch.close();
            return;
        }
        if (l.hasTls() && l.hasPlaintext()) {
            ch.pipeline().addLast("detect", new ProtocolDetector(l));
        } else if (l.hasTls()) {
            ch.pipeline().addLast("sni", new ChainSelector(l));
        } else {
            http1(
                    ch,
                    new ConnectionInfo(
                            l,
                            l.chainFor(null, false),
                            listenerPort,
                            false,
                            null,
                            null,
                            address(ch),
                            "HTTP/1.1"));
        }
    }

    private static String address(Channel ch) {
        return ch.remoteAddress() instanceof InetSocketAddress a
                ? a.getAddress().getHostAddress()
                : null;
    }

    private void http1(Channel ch, ConnectionInfo info) {
        ChannelPipeline p = ch.pipeline();
        int maxHeader = proxy.settings().maxHeaderBytes();
        RequestLimits limits =
                new RequestLimits(proxy.settings().limits(), false, info.sourceAddress());
        p.addLast("bytes", limits.byteWatcher());
        p.addLast(
                "http",
                new HttpServerCodec(
                        new HttpDecoderConfig()
                                .setMaxInitialLineLength(maxHeader)
                                .setMaxHeaderSize(maxHeader)
                                .setMaxChunkSize(64 * 1024)));
        p.addLast("limits", limits);
        p.addLast("proxy", new RequestHandler(proxy, info, false));
    }

    private void http2(Channel ch, ConnectionInfo info) {
        ChannelPipeline p = ch.pipeline();
        ProxySettings.Limits limits = proxy.settings().limits();
        // Per stream: stream idle timeout and the body budget; per connection: the idle timeout.
        p.addLast(
                new IdleStateHandler(0, 0, limits.idleTimeout().toMillis(), TimeUnit.MILLISECONDS) {
                    @Override
                    protected void channelIdle(ChannelHandlerContext ctx, IdleStateEvent evt) {
                        log.debug(
                                "HTTP/2 connection from {} closed: idle for {}",
                                info.sourceAddress(),
                                limits.idleTimeout());
                        ctx.close();
                    }
                });
        p.addLast(
                Http2FrameCodecBuilder.forServer()
                        .initialSettings(
                                Http2Settings.defaultSettings()
                                        .maxHeaderListSize(proxy.settings().maxHeaderBytes()))
                        .build());
        p.addLast(
                new Http2MultiplexHandler(
                        new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel stream) {
                                stream.pipeline()
                                        .addLast(
                                                new Http2StreamFrameToHttpObjectCodec(true),
                                                new RequestLimits(
                                                        limits, true, info.sourceAddress()),
                                                new RequestHandler(proxy, info, true));
                            }
                        }));
    }

    /** PERMISSIVE: TLS or plaintext, told apart by the first bytes. */
    private final class ProtocolDetector extends ByteToMessageDecoder {
        private final Listener listener;

        private ScheduledFuture<?> timeout;

        ProtocolDetector(Listener listener) {
            this.listener = listener;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            Duration t = proxy.settings().limits().requestHeadersTimeout();
            timeout =
                    ctx.executor()
                            .schedule(
                                    () -> {
                                        log.info(
                                                "connection from {} closed: no request within {}",
                                                address(ctx.channel()),
                                                t);
                                        ctx.close();
                                    },
                                    t.toNanos(),
                                    TimeUnit.NANOSECONDS);
        }

        @Override
        protected void handlerRemoved0(ChannelHandlerContext ctx) {
            timeout.cancel(false);
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            if (in.readableBytes() < 5) {
                return;
            }
            if (SslHandler.isEncrypted(in, false)) {
                ctx.pipeline().replace(this, "sni", new ChainSelector(listener));
            } else {
                FilterChain chain = listener.chainFor(null, false);
                // Handlers first, then remove the detector: its buffered bytes flow on to them.
                http1(
                        ctx.channel(),
                        new ConnectionInfo(
                                listener,
                                chain,
                                listenerPort,
                                false,
                                null,
                                null,
                                address(ctx.channel()),
                                "HTTP/1.1"));
                ctx.pipeline().remove(this);
            }
        }
    }

    /** Reads the ClientHello's SNI, picks the filter chain, and installs its TLS context. */
    private final class ChainSelector extends AbstractSniHandler<FilterChain> {
        private final Listener listener;

        ChainSelector(Listener listener) {
            super(10_000);
            this.listener = listener;
        }

        @Override
        protected Future<FilterChain> lookup(ChannelHandlerContext ctx, String hostname) {
            return ctx.executor().newSucceededFuture(listener.chainFor(hostname, true));
        }

        @Override
        protected void onLookupComplete(
                ChannelHandlerContext ctx, String hostname, Future<FilterChain> future) {
            FilterChain chain = future.getNow();
            Snapshot s = proxy.snapshot();
            if (chain == null) {
                log.info(
                        "TLS connection from {} refused: no filter chain of listener {} takes SNI {}",
                        address(ctx.channel()),
                        listener.name(),
                        hostname);
                ctx.close();
                return;
            }
            String key = listener.name() + "/" + chain.name();
            SslContext ssl = s.serverTls().get(key);
            if (ssl == null) {
                log.warn(
                        "TLS connection from {} refused: chain {} has no TLS context ({})",
                        address(ctx.channel()),
                        key,
                        s.tlsErrors().getOrDefault(key, "not built"));
                ctx.close();
                return;
            }
            SslHandler handler = ssl.newHandler(ctx.alloc());
            ctx.pipeline().replace(this, "ssl", handler);
            ctx.channel().pipeline().addLast("alpn", new Alpn(listener, chain, handler, hostname));
        }
    }

    /** After the handshake: who the peer is, then HTTP/2 or HTTP/1.1. */
    private final class Alpn extends ApplicationProtocolNegotiationHandler {
        private final Listener listener;
        private final FilterChain chain;
        private final SslHandler ssl;
        private final String sni;

        Alpn(Listener listener, FilterChain chain, SslHandler ssl, String sni) {
            super(ApplicationProtocolNames.HTTP_1_1);
            this.listener = listener;
            this.chain = chain;
            this.ssl = ssl;
            this.sni = sni;
        }

        @Override
        protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
            SSLSession session = ssl.engine().getSession();
            String peer = null;
            String hash = null;
            try {
                Certificate[] certs = session.getPeerCertificates();
                if (certs.length > 0 && certs[0] instanceof X509Certificate leaf) {
                    peer = X509SvidValidator.leafId(leaf).toString();
                    hash =
                            HexFormat.of()
                                    .formatHex(
                                            MessageDigest.getInstance("SHA-256")
                                                    .digest(leaf.getEncoded()));
                }
            } catch (SSLPeerUnverifiedException e) {
                // no client certificate (SIMPLE, OPTIONAL_MUTUAL)
            } catch (CertificateException | NoSuchAlgorithmException | X509SvidException e) {
                log.debug("peer certificate unreadable: {}", e.toString());
            }
            String expired = expiredPeerCertificate(session, Instant.now());
            if (expired != null) {
                // A resumed session skips the trust manager: it must not outlive the certificate it
                // was made with.
                log.info(
                        "TLS connection from {} on {} refused: {}",
                        address(ctx.channel()),
                        listener.name(),
                        expired);
                proxy.metrics().handshakeRefused(listener.name(), address(ctx.channel()), expired);
                ctx.close();
                return;
            }
            if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                http2(
                        ctx.channel(),
                        new ConnectionInfo(
                                listener,
                                chain,
                                listenerPort,
                                true,
                                peer,
                                hash,
                                address(ctx.channel()),
                                "HTTP/2"));
            } else {
                http1(
                        ctx.channel(),
                        new ConnectionInfo(
                                listener,
                                chain,
                                listenerPort,
                                true,
                                peer,
                                hash,
                                address(ctx.channel()),
                                "HTTP/1.1"));
            }
        }

        @Override
        protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
            Throwable root = cause;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            String reason = root.getMessage() == null ? root.toString() : root.getMessage();
            log.info(
                    "TLS handshake from {} on {} (SNI {}) refused: {}",
                    address(ctx.channel()),
                    listener.name(),
                    sni,
                    reason);
            proxy.metrics().handshakeRefused(listener.name(), address(ctx.channel()), reason);
            ctx.close();
        }
    }

    /**
     * What makes the peer's certificates unusable at {@code now} (one has expired or is not yet
     * valid), or null. A handshake checks this in the trust manager; a resumed session does not run
     * the trust manager, so it is checked again here on every connection.
     */
    static String expiredPeerCertificate(SSLSession session, Instant now) {
        Certificate[] certs;
        try {
            certs = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
        for (Certificate c : certs) {
            if (c instanceof X509Certificate x) {
                if (now.isAfter(x.getNotAfter().toInstant())) {
                    return "peer certificate "
                            + x.getSubjectX500Principal().getName()
                            + " expired at "
                            + x.getNotAfter().toInstant();
                }
                if (now.isBefore(x.getNotBefore().toInstant())) {
                    return "peer certificate "
                            + x.getSubjectX500Principal().getName()
                            + " is not valid before "
                            + x.getNotBefore().toInstant();
                }
            }
        }
        return null;
    }

    static String certHash(X509Certificate cert) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            return "";
        }
    }
}
