package io.mithril.proxy.http;

import io.mithril.proxy.ProxySettings;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one HTTP/1.1 connection, or one HTTP/2 stream, may hold of the proxy: Envoy's request
 * headers timeout, stream idle timeout (no byte of a request body, nor of an answer being written,
 * for that long) and connection idle timeout. It sits after the HTTP codec (it sees requests and
 * responses as messages); on HTTP/1.1 its {@link #byteWatcher()} sits before the codec, to see a
 * request begin before its headers are complete. One timer per connection, re-armed lazily.
 */
final class RequestLimits extends ChannelDuplexHandler {

    private static final Logger log = LoggerFactory.getLogger(RequestLimits.class);

    private final ProxySettings.Limits limits;
    private final boolean http2Stream;
    private final String source;

    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> timer;
    private long timerAt;

    /** Requests read and not answered yet. */
    private int outstanding;

    /** A request's headers are read and its body is not complete. */
    private boolean inBody;

    /** Bytes of a next request have arrived and its headers are not complete (HTTP/1.1). */
    private boolean partial;

    private boolean answeredOne;
    private boolean refused;
    private long phaseStart = System.nanoTime();
    private long lastRead = phaseStart;

    /** An answer's head is written and its end is not. */
    private boolean responding;

    RequestLimits(ProxySettings.Limits limits, boolean http2Stream, String source) {
        this.limits = limits;
        this.http2Stream = http2Stream;
        this.source = source;
    }

    /** Goes before the HTTP/1.1 codec: marks the start of a request's headers. */
    ChannelHandler byteWatcher() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext c, Object msg) {
                long now = System.nanoTime();
                lastRead = now;
                if (!partial
                        && !inBody
                        && outstanding == 0
                        && msg instanceof ByteBuf b
                        && b.isReadable()) {
                    partial = true;
                    phaseStart = now;
                    arm();
                }
                c.fireChannelRead(msg);
            }
        };
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (http2Stream) {
            // The stream exists because its headers arrived: the first message comes at once.
            inBody = true;
        }
        arm();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancel();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancel();
        super.channelInactive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        lastRead = System.nanoTime();
        if (msg instanceof HttpRequest) {
            partial = false;
            outstanding++;
            inBody = true;
        }
        if (msg instanceof LastHttpContent) {
            inBody = false;
        }
        arm();
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        boolean informational =
                msg instanceof HttpResponse r
                        && r.status().codeClass()
                                == io.netty.handler.codec.http.HttpStatusClass.INFORMATIONAL;
        boolean done = msg instanceof LastHttpContent && !informational;
        ctx.write(msg, promise);
        if (msg instanceof HttpContent || msg instanceof HttpResponse && !informational) {
            lastRead = System.nanoTime(); // a streamed answer moving counts as activity, as Envoy's
            // stream idle timer counts it
            responding = !done;
            if (responding) {
                arm();
            }
        }
        if (done && outstanding > 0 && --outstanding == 0) {
            answeredOne = true;
            lastRead = System.nanoTime();
            arm();
        }
    }

    /** The instant (nanoTime) this connection's current phase ends, or 0 for none. */
    private long deadline() {
        if (inBody || responding) {
            return lastRead + limits.streamIdleTimeout().toNanos();
        }
        if (http2Stream || outstanding > 0) {
            return 0; // waiting for the upstream: the route's timeout applies
        }
        if (partial || !answeredOne) {
            return phaseStart + limits.requestHeadersTimeout().toNanos();
        }
        return lastRead + limits.idleTimeout().toNanos();
    }

    private void arm() {
        long at = deadline();
        if (at == 0 || ctx == null) {
            return;
        }
        if (timer != null && timerAt <= at) {
            return; // the armed timer fires first and re-arms for the later deadline
        }
        cancel();
        timerAt = at;
        timer =
                ctx.executor()
                        .schedule(
                                this::fire,
                                Math.max(0, at - System.nanoTime()),
                                TimeUnit.NANOSECONDS);
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void fire() {
        timer = null;
        if (!ctx.channel().isActive() || refused) {
            return;
        }
        long at = deadline();
        if (at == 0) {
            return;
        }
        if (at > System.nanoTime()) {
            arm();
            return;
        }
        if (responding) {
            log.info(
                    "answer to {} timed out: no byte either way for {}",
                    source,
                    limits.streamIdleTimeout());
            ctx.close();
        } else if (inBody) {
            log.info(
                    "request from {} timed out: no body byte for {}",
                    source,
                    limits.streamIdleTimeout());
            refuse(HttpResponseStatus.REQUEST_TIMEOUT, "stream timeout");
        } else if (partial || !answeredOne) {
            log.info(
                    "connection from {} closed: request headers not complete within {}",
                    source,
                    limits.requestHeadersTimeout());
            refuse(HttpResponseStatus.REQUEST_TIMEOUT, "request header timeout");
        } else {
            log.debug("connection from {} closed: idle for {}", source, limits.idleTimeout());
            ctx.close();
        }
    }

    /** Answers {@code status} and closes (the connection, or the HTTP/2 stream). */
    private void refuse(HttpResponseStatus status, String body) {
        refused = true;
        cancel();
        DefaultFullHttpResponse r =
                new DefaultFullHttpResponse(
                        HttpVersion.HTTP_1_1,
                        status,
                        Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
        if (!http2Stream) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }
}
