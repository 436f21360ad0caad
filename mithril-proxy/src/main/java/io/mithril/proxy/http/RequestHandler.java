package io.mithril.proxy.http;

import io.mithril.mesh.config.Cluster;
import io.mithril.mesh.config.Listener;
import io.mithril.mesh.config.RbacPolicy;
import io.mithril.mesh.config.Route;
import io.mithril.mesh.config.RouteConfiguration;
import io.mithril.mesh.model.StringMatch;
import io.mithril.mesh.model.VirtualService;
import io.mithril.proxy.Proxy;
import io.mithril.proxy.Snapshot;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Handles HTTP requests as Envoy's HTTP connection manager does: authorization (403 {@code RBAC:
 * access denied}), route lookup (404 when none), then the route's action: redirect, direct
 * response, or forward to a cluster chosen by weight with header changes, rewrite, fault injection,
 * mirroring, CORS, timeout and retries. Adds {@code x-forwarded-client-cert} with the caller's
 * SPIFFE ID, writes one access log line and counts the request.
 *
 * <p>Bodies stream: every decision is made on the request's head (its one normalized path and its
 * headers), then body pieces go up and answer pieces come down as they arrive, never aggregated.
 * Backpressure both ways: the downstream is not read while the upstream connection cannot take
 * more, and the upstream is not read while the downstream cannot. One handler per HTTP/1.1
 * connection (requests in order, pipelined ones wait unread) or per HTTP/2 stream.
 */
final class RequestHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(RequestHandler.class);
    private static final Logger access = LoggerFactory.getLogger("access");
    private static final Set<String> HOP_BY_HOP =
            Set.of(
                    "connection",
                    "keep-alive",
                    "proxy-connection",
                    "transfer-encoding",
                    "upgrade",
                    "te",
                    "trailer",
                    "expect",
                    "proxy-authorization",
                    "proxy-authenticate",
                    "http2-settings");
    private static final AsciiString[] HOP_BY_HOP_NAMES =
            HOP_BY_HOP.stream().map(AsciiString::of).toArray(AsciiString[]::new);

    /**
     * Why the downstream is not read: the upstream cannot take more, a fault delay, requests
     * pipelined behind the current one.
     */
    private static final int UPSTREAM = 1;

    private static final int DELAYED = 2;
    private static final int PIPELINED = 4;
    private static final int MAX_PIPELINED = 64;

    private final Proxy proxy;
    private final ConnectionInfo conn;
    private final boolean http2;
    private ChannelHandlerContext ctx;

    /** The exchange whose request is being read or whose answer is being written. */
    private Exchange current;

    /**
     * HTTP/1.1: what arrived for the requests after the current one, read no further until it is
     * done.
     */
    private final ArrayDeque<HttpObject> pipelined = new ArrayDeque<>();

    private int pipelinedRequests;
    private int readGate;

    /** The identity {@link #xfccElement} was built with, and that element. */
    private Object xfccIdentity;

    private String xfccElement;

    RequestHandler(Proxy proxy, ConnectionInfo conn, boolean http2) {
        this.proxy = proxy;
        this.conn = conn;
        this.http2 = http2;
    }

    /** State of one request through its steps; it is also where the upstream's answer goes. */
    private final class Exchange implements Upstreams.Sink {
        final HttpRequest req;
        final long startNanos = System.nanoTime();
        final boolean keepAlive;
        final String protocol;
        final String userAgent;
        String path;
        String authority;
        String cluster = "-";
        String serviceHost;
        String upstreamHost = "-";
        String flags = "-";
        String requestId;
        long bytesIn;
        long bytesOut;
        int status;
        boolean requestDone;
        boolean responseStarted;
        boolean responseDone;
        boolean closeAfter;
        boolean logged;

        /**
         * Where the body goes once forwarding; until then (fault delay) it waits in {@link #early};
         * after a local answer it is dropped.
         */
        Upstreams.Call call;

        boolean forwarding;
        List<HttpContent> early;
        Route route;
        boolean mirror;
        Route.WeightedCluster weighted;
        long upstreamStart;
        Snapshot snap;

        Exchange(HttpRequest req) {
            this.req = req;
            this.keepAlive = http2 || HttpUtil.isKeepAlive(req);
            this.protocol = http2 ? "HTTP/2" : req.protocolVersion().text();
            this.userAgent = req.headers().get(HttpHeaderNames.USER_AGENT);
        }

        @Override
        public void head(HttpResponse resp, String endpoint, String flags) {
            upstreamHost =
                    endpoint == null ? "-" : endpoint.substring(endpoint.lastIndexOf('|') + 1);
            if ("-".equals(flags)) {
                stripHopByHop(resp.headers());
                resp.headers()
                        .set(
                                "x-envoy-upstream-service-time",
                                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - upstreamStart));
            }
            apply(resp.headers(), route.headers().response());
            apply(resp.headers(), weighted.headers().response());
            String origin = req.headers().get(HttpHeaderNames.ORIGIN);
            if (route.cors() != null && origin != null && corsAllowed(route.cors(), origin)) {
                resp.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                if (!route.cors().exposeHeaders().isEmpty()) {
                    resp.headers()
                            .set(
                                    HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS,
                                    String.join(",", route.cors().exposeHeaders()));
                }
                if (Boolean.TRUE.equals(route.cors().allowCredentials())) {
                    resp.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
                }
            }
            respond(this, resp, flags);
        }

        @Override
        public void content(HttpContent c) {
            if (responseDone || !ctx.channel().isActive()) {
                c.release();
                return;
            }
            bytesOut += c.content().readableBytes();
            if (c instanceof LastHttpContent) {
                responseComplete(this, ctx.write(c));
            } else {
                ctx.write(c);
            }
        }

        @Override
        public void flush() {
            ctx.flush();
        }

        @Override
        public void reset(String flags) {
            this.flags = flags;
            log.debug(
                    "answer to {} {} from {} cut short ({}): resetting the {}",
                    req.method(),
                    path,
                    conn.sourceAddress(),
                    flags,
                    http2 ? "stream" : "connection");
            responseDone = true;
            logAndCount(this);
            ctx.close();
        }

        @Override
        public boolean writable() {
            return ctx.channel().isWritable();
        }

        @Override
        public void readRequest(boolean on) {
            if (current == this) {
                gate(UPSTREAM, !on);
            }
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** Opens or closes the downstream for reading, for one of the reasons above. */
    private void gate(int reason, boolean closed) {
        int before = readGate;
        readGate = closed ? readGate | reason : readGate & ~reason;
        if ((before == 0) != (readGate == 0)) {
            ctx.channel().config().setAutoRead(readGate == 0);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HttpObject o)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!http2
                && (!pipelined.isEmpty()
                        || current != null && current.requestDone && msg instanceof HttpRequest)) {
            // A next request while the current one is answered: it waits, and nothing more is read
            // meanwhile.
            if (msg instanceof HttpRequest && ++pipelinedRequests > MAX_PIPELINED) {
                ReferenceCountUtil.release(msg);
                ctx.close();
                return;
            }
            pipelined.add(o);
            gate(PIPELINED, true);
            return;
        }
        dispatch(o);
    }

    private void dispatch(HttpObject msg) {
        if (msg instanceof HttpRequest req) {
            Exchange x = new Exchange(req);
            current = x;
            try {
                handle(x);
            } catch (RuntimeException e) {
                log.error("request {} {} failed: {}", req.method(), req.uri(), e.toString(), e);
                if (!x.responseStarted) {
                    respond(
                            x,
                            simple(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error"),
                            "-");
                }
            }
            if (msg instanceof LastHttpContent full) {
                // A request complete with its head (HTTP/2 HEADERS with END_STREAM): its body is
                // what it holds.
                body(x, new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
            } else if (!http2
                    && req.decoderResult().isSuccess()
                    && !HttpUtil.isTransferEncodingChunked(req)
                    && HttpUtil.getContentLength(req, 0L) == 0) {
                // HTTP/1.1 without a body: complete now, so head and end go up in one write (the
                // codec's
                // empty end that follows finds the request done and is dropped).
                body(x, LastHttpContent.EMPTY_LAST_CONTENT);
            }
            return;
        }
        HttpContent c = (HttpContent) msg;
        Exchange x = current;
        if (x == null || x.requestDone) {
            c.release();
            return;
        }
        if (c.decoderResult().isFailure()) {
            c.release();
            log.debug(
                    "request body from {} malformed: {}",
                    conn.sourceAddress(),
                    c.decoderResult().cause().toString());
            if (!x.responseStarted) {
                x.path = x.path == null ? "-" : x.path;
                respondAndClose(x, simple(HttpResponseStatus.BAD_REQUEST, "Bad Request"));
            } else {
                ctx.close();
            }
            return;
        }
        body(x, c);
    }

    /**
     * A piece of the current request's body: to the upstream, held during a fault delay, or dropped
     * after a local answer.
     */
    private void body(Exchange x, HttpContent c) {
        int n = c.content().readableBytes();
        x.bytesIn += n;
        boolean last = c instanceof LastHttpContent;
        long max = proxy.settings().maxBodyBytes();
        if (max > 0 && x.bytesIn > max && !x.responseStarted) {
            c.release();
            if (x.call != null) {
                x.call.cancel();
                x.call = null;
            }
            x.forwarding = false;
            respondAndClose(
                    x, simple(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "Payload Too Large"));
            return;
        }
        if (last) {
            x.requestDone = true;
        }
        if (x.call != null) {
            x.call.content(c);
            if (last && x.mirror) {
                mirror(x);
            }
        } else if (x.forwarding) {
            x.early.add(c);
        } else {
            c.release();
        }
        if (last && x.responseDone) {
            exchangeDone(x);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Exchange x = current;
        if (x != null && x.call != null) {
            x.call.flush();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Exchange x = current;
        if (x != null && x.call != null && ctx.channel().isWritable()) {
            x.call.downstreamWritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    /** The answer is written whole. */
    private void responseComplete(Exchange x, ChannelFuture written) {
        x.responseDone = true;
        ctx.flush();
        if (x.closeAfter || !http2 && !x.keepAlive) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
        logAndCount(x);
        if (x.requestDone) {
            exchangeDone(x);
        } else if (x.call != null) {
            // Answered before the request was read whole (an early answer): the rest is read and
            // dropped.
            x.call = null;
            x.forwarding = false;
            gate(UPSTREAM, false);
        }
    }

    /** Request read and answer written: the next pipelined request, if any, goes on. */
    private void exchangeDone(Exchange x) {
        if (current != x) {
            return;
        }
        current = null;
        gate(UPSTREAM | DELAYED, false);
        if (http2 || pipelined.isEmpty()) {
            gate(PIPELINED, false);
            return;
        }
        ctx.executor().execute(this::resumePipelined);
    }

    private void resumePipelined() {
        while (!pipelined.isEmpty()
                && (current == null
                        || !current.requestDone
                        || !(pipelined.peek() instanceof HttpRequest))) {
            HttpObject o = pipelined.poll();
            if (o instanceof HttpRequest) {
                pipelinedRequests--;
            }
            dispatch(o);
        }
        if (pipelined.isEmpty()) {
            gate(PIPELINED, false);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        HttpObject o;
        while ((o = pipelined.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
        Exchange x = current;
        if (x != null) {
            if (x.call != null) {
                x.call.cancel();
            }
            if (x.early != null) {
                x.early.forEach(HttpContent::release);
                x.early.clear();
            }
            if (!x.responseDone) {
                // Envoy's DC: the downstream went away before its answer was complete (status 0
                // when none had begun).
                x.flags = "DC";
                logAndCount(x);
            }
        }
        super.channelInactive(ctx);
    }

    private void handle(Exchange x) {
        HttpRequest req = x.req;
        if (req.decoderResult().isFailure()) {
            Throwable cause = req.decoderResult().cause();
            HttpResponseStatus status =
                    cause instanceof TooLongHttpHeaderException
                            ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                            : cause instanceof TooLongHttpLineException
                                    ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                                    : cause instanceof TooLongFrameException
                                            ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                                            : HttpResponseStatus.BAD_REQUEST;
            x.path = "-";
            respondAndClose(x, simple(status, status.reasonPhrase()));
            return;
        }
        if (req.method() == HttpMethod.CONNECT) {
            // Logged only when it is a plain authority: the access log never carries raw client
            // bytes.
            x.path = RequestValidation.validAuthority(req.uri()) ? req.uri() : "-";
            x.authority = "";
            respond(
                    x,
                    simple(
                            HttpResponseStatus.METHOD_NOT_ALLOWED,
                            "CONNECT is not supported; send plain HTTP through the proxy"),
                    "-");
            return;
        }
        RequestValidation.Target target;
        try {
            target = RequestValidation.check(req, proxy.settings().pathNormalization());
        } catch (RequestValidation.BadRequest e) {
            // The raw target is not logged: it is what was refused, and may hold control bytes.
            x.path = "-";
            x.authority = "";
            log.debug("request from {} refused with 400: {}", conn.sourceAddress(), e.getMessage());
            respondAndClose(
                    x, simple(HttpResponseStatus.BAD_REQUEST, "Bad Request: " + e.getMessage()));
            return;
        }
        // From here on, one path: routing, policy, access log and the upstream request all use it.
        x.path = target.pathWithQuery();
        x.authority = target.authority();
        if (conn.listener().direction() == Listener.Direction.GATEWAY) {
            // Before routing and policy, as Envoy mutates an edge request's headers first.
            EdgeHeaders.sanitize(req.headers(), conn.sourceAddress());
        }
        long max = proxy.settings().maxBodyBytes();
        if (max > 0 && HttpUtil.getContentLength(req, -1L) > max) {
            respondAndClose(
                    x, simple(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "Payload Too Large"));
            return;
        }
        Snapshot snap = proxy.snapshot();
        x.snap = snap;
        HttpRequestView view = new HttpRequestView(req, conn, x.path, x.authority);
        if (conn.chain().httpsRedirect()) {
            FullHttpResponse r = simple(HttpResponseStatus.MOVED_PERMANENTLY, "");
            r.headers().set(HttpHeaderNames.LOCATION, "https://" + hostOnly(x.authority) + x.path);
            respond(x, r, "-");
            return;
        }
        if (conn.listener().direction() != Listener.Direction.OUTBOUND) {
            RbacPolicy.Decision d = snap.config().rbac().evaluate(view);
            if (!d.allowed()) {
                log.info(
                        "RBAC denied {} {} from {} ({})",
                        req.method(),
                        x.path,
                        conn.peerSpiffeId(),
                        d.policy());
                x.flags = "RBAC";
                respond(x, simple(HttpResponseStatus.FORBIDDEN, "RBAC: access denied"), "RBAC");
                return;
            }
        }
        RouteConfiguration rc = snap.config().routes().get(conn.chain().routeConfigName());
        Route route = rc == null ? null : rc.route(view);
        if (route == null) {
            FullHttpResponse r =
                    new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND);
            respond(x, r, "NR");
            return;
        }
        String origin = req.headers().get(HttpHeaderNames.ORIGIN);
        if (route.cors() != null
                && origin != null
                && req.method() == HttpMethod.OPTIONS
                && req.headers().contains(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD)
                && corsAllowed(route.cors(), origin)) {
            FullHttpResponse r = simple(HttpResponseStatus.OK, "");
            VirtualService.CorsPolicy c = route.cors();
            r.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            if (!c.allowMethods().isEmpty()) {
                r.headers()
                        .set(
                                HttpHeaderNames.ACCESS_CONTROL_ALLOW_METHODS,
                                String.join(",", c.allowMethods()));
            }
            if (!c.allowHeaders().isEmpty()) {
                r.headers()
                        .set(
                                HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS,
                                String.join(",", c.allowHeaders()));
            }
            if (c.maxAge() != null) {
                r.headers()
                        .set(
                                HttpHeaderNames.ACCESS_CONTROL_MAX_AGE,
                                Long.toString(c.maxAge().toSeconds()));
            }
            if (Boolean.TRUE.equals(c.allowCredentials())) {
                r.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
            }
            respond(x, r, "-");
            return;
        }
        Route.Action action = route.action();
        if (action instanceof Route.Redirect rd) {
            FullHttpResponse r = simple(HttpResponseStatus.valueOf(rd.code()), "");
            String scheme = rd.scheme() != null ? rd.scheme() : view.scheme();
            String host = rd.authority() != null ? rd.authority() : hostOnly(x.authority);
            String port = rd.port() != null ? ":" + rd.port() : "";
            if (rd.port() == null
                    && rd.authority() == null
                    && x.authority.lastIndexOf(':') > x.authority.lastIndexOf(']')) {
                port = x.authority.substring(x.authority.lastIndexOf(':'));
            }
            String path = rd.path() != null ? rd.path() : view.path();
            r.headers().set(HttpHeaderNames.LOCATION, scheme + "://" + host + port + path);
            respond(x, r, "-");
            return;
        }
        if (action instanceof Route.DirectResponse dr) {
            respond(
                    x,
                    simple(
                            HttpResponseStatus.valueOf(dr.status()),
                            dr.body() == null ? "" : dr.body()),
                    "-");
            return;
        }
        Route.Forward fwd = (Route.Forward) action;
        Route.Fault fault = route.fault();
        if (fault != null && fault.abortStatus() != null && percent(fault.abortPercent())) {
            respond(
                    x,
                    simple(HttpResponseStatus.valueOf(fault.abortStatus()), "fault filter abort"),
                    "FI");
            return;
        }
        x.forwarding = true;
        x.early = new ArrayList<>(2);
        if (fault != null && fault.delay() != null && percent(fault.delayPercent())) {
            x.flags = "DI";
            gate(DELAYED, true);
            ctx.executor()
                    .schedule(
                            () -> {
                                if (ctx.channel().isActive() && current == x) {
                                    gate(DELAYED, false);
                                    forward(x, snap, route, fwd, view);
                                }
                            },
                            fault.delay().toNanos(),
                            TimeUnit.NANOSECONDS);
            return;
        }
        forward(x, snap, route, fwd, view);
    }

    private static boolean percent(double pct) {
        return pct >= 100 || ThreadLocalRandom.current().nextDouble(100) < pct;
    }

    private static boolean corsAllowed(VirtualService.CorsPolicy cors, String origin) {
        for (StringMatch m : cors.allowOrigins()) {
            if (m instanceof StringMatch.Exact e && e.value().equals("*")
                    || m.matches(origin, false)) {
                return true;
            }
        }
        return false;
    }

    private void forward(
            Exchange x, Snapshot snap, Route route, Route.Forward fwd, HttpRequestView view) {
        Route.WeightedCluster wc = pickWeighted(fwd);
        if (wc == null) {
            respond(x, simple(HttpResponseStatus.SERVICE_UNAVAILABLE, "no healthy upstream"), "UH");
            return;
        }
        x.cluster = wc.cluster();
        Cluster cluster = snap.config().clusters().get(wc.cluster());
        if (cluster == null) {
            respond(x, simple(HttpResponseStatus.SERVICE_UNAVAILABLE, "no healthy upstream"), "NC");
            return;
        }
        x.serviceHost = cluster.serviceHost();
        x.route = route;
        x.weighted = wc;
        HttpRequest up = upstreamRequest(x, snap, route, fwd, wc, view);
        if (!http2 && HttpUtil.is100ContinueExpected(x.req) && !x.requestDone) {
            // As Envoy (proxy_100_continue off): the proxy invites the body itself once the request
            // is routed.
            ctx.writeAndFlush(
                    new DefaultFullHttpResponse(
                            HttpVersion.HTTP_1_1,
                            HttpResponseStatus.CONTINUE,
                            Unpooled.EMPTY_BUFFER));
        }
        x.upstreamStart = System.nanoTime();
        boolean mirror =
                route.mirror() != null
                        && percent(route.mirror().percent())
                        && snap.config().clusters().get(route.mirror().cluster()) != null;
        x.mirror = mirror;
        x.call =
                proxy.upstreams()
                        .send(
                                snap,
                                cluster,
                                up,
                                route.retries(),
                                route.timeout(),
                                ctx.executor(),
                                x,
                                mirror);
        List<HttpContent> early = x.early;
        x.early = null;
        for (HttpContent c : early) {
            if (x.call == null) {
                c.release();
                continue;
            }
            boolean last = c instanceof LastHttpContent;
            x.call.content(c);
            if (last && mirror) {
                mirror(x);
            }
        }
    }

    /**
     * A copy of the request, whole, to the route's mirror cluster with {@code Host: <host>-shadow};
     * its answer is dropped.
     */
    private void mirror(Exchange x) {
        Cluster mirror = x.snap.config().clusters().get(x.route.mirror().cluster());
        ByteBuf body = x.call == null ? null : x.call.bodyCopy();
        if (mirror == null || body == null) {
            if (mirror != null) {
                log.debug(
                        "request {} not mirrored: its body is over {} bytes",
                        x.path,
                        Upstreams.REPLAY_LIMIT);
            }
            return;
        }
        HttpRequest up = x.call.head;
        HttpHeaders h = up.headers().copy();
        String host = h.get(HttpHeaderNames.HOST);
        h.set(HttpHeaderNames.HOST, hostOnly(host) + "-shadow" + portPart(host));
        h.remove(HttpHeaderNames.TRANSFER_ENCODING);
        h.setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        HttpRequest shadow = new DefaultHttpRequest(HttpVersion.HTTP_1_1, up.method(), up.uri(), h);
        Upstreams.Call call =
                proxy.upstreams()
                        .send(
                                x.snap,
                                mirror,
                                shadow,
                                null,
                                x.route.timeout(),
                                ctx.executor(),
                                Upstreams.DISCARD,
                                false);
        call.content(new DefaultLastHttpContent(body));
        call.flush();
    }

    /** A random (version 4) UUID without UUID.randomUUID()'s shared, locked SecureRandom. */
    static String requestId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long hi = (r.nextLong() & ~0xF000L) | 0x4000L;
        long lo = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(hi, lo).toString();
    }

    private static Route.WeightedCluster pickWeighted(Route.Forward fwd) {
        if (fwd.clusters().isEmpty()) {
            return null;
        }
        if (fwd.clusters().size() == 1) {
            return fwd.clusters().get(0);
        }
        int r = ThreadLocalRandom.current().nextInt(fwd.totalWeight());
        for (Route.WeightedCluster c : fwd.clusters()) {
            r -= c.weight();
            if (r < 0) {
                return c;
            }
        }
        return fwd.clusters().get(fwd.clusters().size() - 1);
    }

    private HttpRequest upstreamRequest(
            Exchange x,
            Snapshot snap,
            Route route,
            Route.Forward fwd,
            Route.WeightedCluster wc,
            HttpRequestView view) {
        String path = x.path;
        if (fwd.prefixRewrite() != null) {
            int q = path.indexOf('?');
            String query = q < 0 ? "" : path.substring(q);
            String p = q < 0 ? path : path.substring(0, q);
            if (fwd.matchedPrefix() != null
                    && p.regionMatches(
                            route.match().ignoreCase(),
                            0,
                            fwd.matchedPrefix(),
                            0,
                            fwd.matchedPrefix().length())) {
                p = fwd.prefixRewrite() + p.substring(fwd.matchedPrefix().length());
            } else if (route.match().path() == null) {
                p = fwd.prefixRewrite() + p.substring(1);
            } else {
                p = fwd.prefixRewrite();
            }
            path = p + query;
        }
        HttpHeaders h = x.req.headers().copy();
        stripHopByHop(h);
        h.remove("x-http2-stream-id");
        h.remove("x-http2-scheme");
        h.remove("x-http2-path");
        String authority = fwd.authorityRewrite() != null ? fwd.authorityRewrite() : x.authority;
        h.set(HttpHeaderNames.HOST, authority);
        if (!h.contains("x-request-id")) {
            h.set("x-request-id", requestId());
        }
        x.requestId = h.get("x-request-id");
        h.set("x-forwarded-proto", view.scheme());
        if (conn.listener().direction() == Listener.Direction.GATEWAY
                && conn.sourceAddress() != null) {
            String xff = h.get("x-forwarded-for");
            h.set(
                    "x-forwarded-for",
                    xff == null ? conn.sourceAddress() : xff + ", " + conn.sourceAddress());
        }
        xfcc(h, snap);
        apply(h, route.headers().request());
        apply(h, wc.headers().request());
        if (x.req instanceof FullHttpRequest full) {
            // HTTP/2 HEADERS with END_STREAM: the body (if any) came with it.
            h.setInt(HttpHeaderNames.CONTENT_LENGTH, full.content().readableBytes());
        } else if (!h.contains(HttpHeaderNames.CONTENT_LENGTH)
                && (http2 || HttpUtil.isTransferEncodingChunked(x.req))) {
            // Length unknown (HTTP/2 DATA frames, HTTP/1.1 chunks): chunked to the HTTP/1.1
            // upstream.
            h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, x.req.method(), path, h);
    }

    /**
     * Envoy's {@code x-forwarded-client-cert}: a gateway replaces what the client sent
     * (SANITIZE_SET), a sidecar inbound appends (APPEND_FORWARD); only a verified client
     * certificate adds an element.
     */
    private void xfcc(HttpHeaders h, Snapshot snap) {
        Listener.Direction dir = conn.listener().direction();
        if (dir == Listener.Direction.OUTBOUND) {
            return;
        }
        String mine = conn.peerSpiffeId() == null ? null : xfccElement(snap);
        String existing = h.get("x-forwarded-client-cert");
        if (dir == Listener.Direction.GATEWAY) {
            h.remove("x-forwarded-client-cert");
            if (mine != null) {
                h.set("x-forwarded-client-cert", mine);
            }
        } else if (mine != null) {
            h.set(
                    "x-forwarded-client-cert",
                    existing == null || existing.isEmpty() ? mine : existing + "," + mine);
        }
    }

    /**
     * This connection's XFCC element: the same for every request until the proxy's identity
     * changes, so it is built once per identity rather than once per request.
     */
    private String xfccElement(Snapshot snap) {
        Object identity = snap.identity();
        if (xfccElement == null || identity != xfccIdentity) {
            String by = snap.identity() == null ? "" : snap.identity().spiffeId().toString();
            xfccElement =
                    "By="
                            + by
                            + ";Hash="
                            + conn.peerCertificateHash()
                            + ";Subject=\"\";URI="
                            + conn.peerSpiffeId();
            xfccIdentity = identity;
        }
        return xfccElement;
    }

    private static void apply(HttpHeaders h, VirtualService.HeaderOperations ops) {
        if (ops == null || ops.isEmpty()) {
            return;
        }
        for (String name : ops.remove()) {
            h.remove(name);
        }
        ops.set().forEach(h::set);
        ops.add().forEach(h::add);
    }

    private static void stripHopByHop(HttpHeaders h) {
        String connection = h.get(HttpHeaderNames.CONNECTION);
        if (connection != null) {
            if (connection.indexOf(',') < 0) {
                h.remove(connection.trim()); // the usual one token (keep-alive, close): no split
            } else {
                for (String name : connection.split(",")) {
                    h.remove(name.trim());
                }
            }
        }
        // One pass over the (few) headers instead of a hashed remove per hop-by-hop name: most
        // requests and answers carry none once Connection is gone.
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = h.iteratorCharSequence();
                it.hasNext(); ) {
            CharSequence name = it.next().getKey();
            for (AsciiString hop : HOP_BY_HOP_NAMES) {
                if (hop.contentEqualsIgnoreCase(name)) {
                    for (String n : HOP_BY_HOP) {
                        h.remove(n);
                    }
                    return;
                }
            }
        }
    }

    static String hostOnly(String authority) {
        if (authority == null) {
            return "";
        }
        int colon = authority.lastIndexOf(':');
        return colon > authority.lastIndexOf(']') && colon > 0
                ? authority.substring(0, colon)
                : authority;
    }

    private static String portPart(String authority) {
        if (authority == null) {
            return "";
        }
        int colon = authority.lastIndexOf(':');
        return colon > authority.lastIndexOf(']') && colon > 0 ? authority.substring(colon) : "";
    }

    private static FullHttpResponse simple(HttpResponseStatus status, String body) {
        FullHttpResponse r =
                new DefaultFullHttpResponse(
                        HttpVersion.HTTP_1_1,
                        status,
                        Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        if (!body.isEmpty()) {
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
        }
        return r;
    }

    private void respondAndClose(Exchange x, FullHttpResponse r) {
        x.closeAfter = true;
        respond(x, r, "-");
    }

    /**
     * Writes the head of the answer (the whole answer when it is a {@link FullHttpResponse}); its
     * body follows through {@link Exchange#content}.
     */
    private void respond(Exchange x, HttpResponse r, String flags) {
        if (!"-".equals(flags)) {
            x.flags = flags;
        }
        if (x.responseStarted || !ctx.channel().isActive()) {
            ReferenceCountUtil.release(r);
            return;
        }
        x.responseStarted = true;
        x.status = r.status().code();
        if (x.path == null) {
            x.path = "-";
        }
        boolean full = r instanceof FullHttpResponse;
        if (!x.requestDone && !x.forwarding && !http2 && HttpUtil.is100ContinueExpected(x.req)) {
            // The client waits for 100 Continue before its body, which will not be read: the
            // connection cannot go on.
            x.closeAfter = true;
        }
        if (full) {
            HttpUtil.setContentLength(r, ((FullHttpResponse) r).content().readableBytes());
        } else if (!http2 && !HttpUtil.isContentLengthSet(r) && mayHaveBody(x.req, x.status)) {
            if (x.req.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                x.closeAfter = true; // the end of the body is the end of the connection
            } else {
                HttpUtil.setTransferEncodingChunked(r, true);
            }
        }
        if (conn.listener().direction() == Listener.Direction.GATEWAY) {
            r.headers().set(HttpHeaderNames.SERVER, "istio-envoy");
        }
        if (!http2) {
            if (x.keepAlive && !x.closeAfter) {
                if (x.req.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                }
            } else {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
        }
        if (full) {
            x.bytesOut += ((FullHttpResponse) r).content().readableBytes();
            responseComplete(x, ctx.write(r));
        } else {
            ctx.write(r);
        }
    }

    private static boolean mayHaveBody(HttpRequest req, int status) {
        return req.method() != HttpMethod.HEAD && status != 204 && status != 304 && status >= 200;
    }

    private void logAndCount(Exchange x) {
        if (x.logged) {
            return;
        }
        x.logged = true;
        double millis = (System.nanoTime() - x.startNanos) / 1e6;
        String reporter =
                conn.listener().direction() == Listener.Direction.INBOUND
                        ? "destination"
                        : "source";
        proxy.metrics()
                .record(reporter, conn.peerSpiffeId(), x.serviceHost, x.status, x.flags, millis);
        if (proxy.settings().accessLog() && access.isInfoEnabled()) {
            access.info(
                    "[{}] \"{} {} {}\" {} {} {} {} {} \"{}\" \"{}\" \"{}\" {} {} peer={}",
                    Instant.now(),
                    x.req.method(),
                    orDash(x.path),
                    x.protocol,
                    x.status,
                    x.flags,
                    x.bytesIn,
                    x.bytesOut,
                    Math.round(millis),
                    orDash(x.userAgent),
                    orDash(x.requestId),
                    orDash(x.authority),
                    x.upstreamHost,
                    x.cluster,
                    orDash(conn.peerSpiffeId()));
        }
    }

    private static String orDash(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("connection from {} failed: {}", conn.sourceAddress(), cause.toString());
        ctx.close();
    }
}
