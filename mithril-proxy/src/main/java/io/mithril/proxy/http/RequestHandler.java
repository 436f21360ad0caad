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
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Handles one HTTP request as Envoy's HTTP connection manager does: authorization (403
 * {@code RBAC: access denied}), route lookup (404 when none), then the route's action: redirect,
 * direct response, or forward to a cluster chosen by weight with header changes, rewrite, fault
 * injection, mirroring, CORS, timeout and retries. Adds {@code x-forwarded-client-cert} with
 * the caller's SPIFFE ID, writes one access log line and counts the request.
 */
final class RequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger log = LoggerFactory.getLogger(RequestHandler.class);
    private static final Logger access = LoggerFactory.getLogger("access");
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "transfer-encoding",
            "upgrade", "te", "trailer", "expect", "proxy-authorization", "proxy-authenticate", "http2-settings");
    private static final AsciiString[] HOP_BY_HOP_NAMES = HOP_BY_HOP.stream().map(AsciiString::of).toArray(AsciiString[]::new);

    private final Proxy proxy;
    private final ConnectionInfo conn;
    private final boolean http2;

    RequestHandler(Proxy proxy, ConnectionInfo conn, boolean http2) {
        super(false);
        this.proxy = proxy;
        this.conn = conn;
        this.http2 = http2;
    }

    /** State of one request through its asynchronous steps. */
    private final class Exchange {
        final ChannelHandlerContext ctx;
        final FullHttpRequest req;
        final long startNanos = System.nanoTime();
        final boolean keepAlive;
        final String protocol;
        String path;
        String authority;
        String cluster = "-";
        String serviceHost;
        String upstreamHost = "-";
        String flags = "-";
        String requestId;

        Exchange(ChannelHandlerContext ctx, FullHttpRequest req) {
            this.ctx = ctx;
            this.req = req;
            this.keepAlive = http2 || HttpUtil.isKeepAlive(req);
            this.protocol = http2 ? "HTTP/2" : req.protocolVersion().text();
        }
    }

    /**
     * HTTP/1.1 pipelining: requests that arrive while one is in flight wait here, so responses go
     * out in request order. Touched only on the connection's event loop.
     */
    private final java.util.ArrayDeque<FullHttpRequest> pipelined = new java.util.ArrayDeque<>();
    private boolean busy;
    private static final int MAX_PIPELINED = 64;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (!http2) {
            if (busy) {
                if (pipelined.size() >= MAX_PIPELINED) {
                    req.release();
                    ctx.close();
                    return;
                }
                pipelined.add(req);
                return;
            }
            busy = true;
        }
        process(ctx, req);
    }

    private void next(ChannelHandlerContext ctx) {
        if (http2) {
            return;
        }
        FullHttpRequest n = pipelined.poll();
        if (n == null) {
            busy = false;
            return;
        }
        ctx.executor().execute(() -> process(ctx, n));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        FullHttpRequest r;
        while ((r = pipelined.poll()) != null) {
            r.release();
        }
        super.channelInactive(ctx);
    }

    private void process(ChannelHandlerContext ctx, FullHttpRequest req) {
        Exchange x = new Exchange(ctx, req);
        try {
            handle(x);
        } catch (RuntimeException e) {
            log.error("request {} {} failed: {}", req.method(), req.uri(), e.toString(), e);
            respond(x, simple(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error"), "-");
        }
    }

    private void handle(Exchange x) {
        FullHttpRequest req = x.req;
        if (req.decoderResult().isFailure()) {
            Throwable cause = req.decoderResult().cause();
            HttpResponseStatus status = cause instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                    : cause instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                    : cause instanceof TooLongFrameException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                    : HttpResponseStatus.BAD_REQUEST;
            x.path = "-";
            respondAndClose(x, simple(status, status.reasonPhrase()));
            return;
        }
        if (req.method() == HttpMethod.CONNECT) {
            // Logged only when it is a plain authority: the access log never carries raw client bytes.
            x.path = RequestValidation.validAuthority(req.uri()) ? req.uri() : "-";
            x.authority = "";
            respond(x, simple(HttpResponseStatus.METHOD_NOT_ALLOWED, "CONNECT is not supported; send plain HTTP through the proxy"), "-");
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
            respondAndClose(x, simple(HttpResponseStatus.BAD_REQUEST, "Bad Request: " + e.getMessage()));
            return;
        }
        // From here on, one path: routing, policy, access log and the upstream request all use it.
        x.path = target.pathWithQuery();
        x.authority = target.authority();
        if (conn.listener().direction() == Listener.Direction.GATEWAY) {
            // Before routing and policy, as Envoy mutates an edge request's headers first.
            EdgeHeaders.sanitize(req.headers(), conn.sourceAddress());
        }
        Snapshot snap = proxy.snapshot();
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
                log.info("RBAC denied {} {} from {} ({})", req.method(), x.path, conn.peerSpiffeId(), d.policy());
                x.flags = "RBAC";
                respond(x, simple(HttpResponseStatus.FORBIDDEN, "RBAC: access denied"), "RBAC");
                return;
            }
        }
        RouteConfiguration rc = snap.config().routes().get(conn.chain().routeConfigName());
        Route route = rc == null ? null : rc.route(view);
        if (route == null) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND);
            respond(x, r, "NR");
            return;
        }
        String origin = req.headers().get(HttpHeaderNames.ORIGIN);
        if (route.cors() != null && origin != null && req.method() == HttpMethod.OPTIONS
                && req.headers().contains(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD) && corsAllowed(route.cors(), origin)) {
            FullHttpResponse r = simple(HttpResponseStatus.OK, "");
            VirtualService.CorsPolicy c = route.cors();
            r.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            if (!c.allowMethods().isEmpty()) {
                r.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_METHODS, String.join(",", c.allowMethods()));
            }
            if (!c.allowHeaders().isEmpty()) {
                r.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, String.join(",", c.allowHeaders()));
            }
            if (c.maxAge() != null) {
                r.headers().set(HttpHeaderNames.ACCESS_CONTROL_MAX_AGE, Long.toString(c.maxAge().toSeconds()));
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
            if (rd.port() == null && rd.authority() == null && x.authority.lastIndexOf(':') > x.authority.lastIndexOf(']')) {
                port = x.authority.substring(x.authority.lastIndexOf(':'));
            }
            String path = rd.path() != null ? rd.path() : view.path();
            r.headers().set(HttpHeaderNames.LOCATION, scheme + "://" + host + port + path);
            respond(x, r, "-");
            return;
        }
        if (action instanceof Route.DirectResponse dr) {
            respond(x, simple(HttpResponseStatus.valueOf(dr.status()), dr.body() == null ? "" : dr.body()), "-");
            return;
        }
        Route.Forward fwd = (Route.Forward) action;
        Route.Fault fault = route.fault();
        if (fault != null && fault.abortStatus() != null && percent(fault.abortPercent())) {
            respond(x, simple(HttpResponseStatus.valueOf(fault.abortStatus()), "fault filter abort"), "FI");
            return;
        }
        if (fault != null && fault.delay() != null && percent(fault.delayPercent())) {
            x.flags = "DI";
            x.ctx.executor().schedule(() -> forward(x, snap, route, fwd, view), fault.delay().toNanos(), TimeUnit.NANOSECONDS);
            return;
        }
        forward(x, snap, route, fwd, view);
    }

    private static boolean percent(double pct) {
        return pct >= 100 || ThreadLocalRandom.current().nextDouble(100) < pct;
    }

    private static boolean corsAllowed(VirtualService.CorsPolicy cors, String origin) {
        for (StringMatch m : cors.allowOrigins()) {
            if (m instanceof StringMatch.Exact e && e.value().equals("*") || m.matches(origin, false)) {
                return true;
            }
        }
        return false;
    }

    private void forward(Exchange x, Snapshot snap, Route route, Route.Forward fwd, HttpRequestView view) {
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
        FullHttpRequest up = upstreamRequest(x, snap, route, fwd, wc, view);
        if (route.mirror() != null && percent(route.mirror().percent())) {
            Cluster mirror = snap.config().clusters().get(route.mirror().cluster());
            if (mirror != null) {
                FullHttpRequest copy = up.retainedDuplicate();
                String host = copy.headers().get(HttpHeaderNames.HOST);
                FullHttpRequest shadow = new DefaultFullHttpRequest(copy.protocolVersion(), copy.method(), copy.uri(), copy.content(),
                        copy.headers().copy(), copy.trailingHeaders().copy());
                shadow.headers().set(HttpHeaderNames.HOST, hostOnly(host) + "-shadow" + portPart(host));
                proxy.upstreams().send(snap, mirror, shadow, null, route.timeout(), x.ctx.executor())
                        .thenAccept(r -> r.response().release());
            }
        }
        long upstreamStart = System.nanoTime();
        proxy.upstreams().send(snap, cluster, up, route.retries(), route.timeout(), x.ctx.executor()).thenAccept(result -> {
            x.upstreamHost = result.endpoint() == null ? "-" : result.endpoint().substring(result.endpoint().lastIndexOf('|') + 1);
            FullHttpResponse resp = result.response();
            stripHopByHop(resp.headers());
            if ("-".equals(result.flags())) {
                resp.headers().set("x-envoy-upstream-service-time", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - upstreamStart));
            }
            apply(resp.headers(), route.headers().response());
            apply(resp.headers(), wc.headers().response());
            String origin = x.req.headers().get(HttpHeaderNames.ORIGIN);
            if (route.cors() != null && origin != null && corsAllowed(route.cors(), origin)) {
                resp.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                if (!route.cors().exposeHeaders().isEmpty()) {
                    resp.headers().set(HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, String.join(",", route.cors().exposeHeaders()));
                }
                if (Boolean.TRUE.equals(route.cors().allowCredentials())) {
                    resp.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
                }
            }
            if (x.ctx.executor().inEventLoop()) {
                respond(x, resp, result.flags());
            } else {
                x.ctx.executor().execute(() -> respond(x, resp, result.flags()));
            }
        });
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

    private FullHttpRequest upstreamRequest(Exchange x, Snapshot snap, Route route, Route.Forward fwd, Route.WeightedCluster wc,
                                            HttpRequestView view) {
        String path = x.path;
        if (fwd.prefixRewrite() != null) {
            int q = path.indexOf('?');
            String query = q < 0 ? "" : path.substring(q);
            String p = q < 0 ? path : path.substring(0, q);
            if (fwd.matchedPrefix() != null && p.regionMatches(route.match().ignoreCase(), 0, fwd.matchedPrefix(), 0, fwd.matchedPrefix().length())) {
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
        if (conn.listener().direction() == Listener.Direction.GATEWAY && conn.sourceAddress() != null) {
            String xff = h.get("x-forwarded-for");
            h.set("x-forwarded-for", xff == null ? conn.sourceAddress() : xff + ", " + conn.sourceAddress());
        }
        xfcc(h, snap);
        apply(h, route.headers().request());
        apply(h, wc.headers().request());
        FullHttpRequest up = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, x.req.method(), path, x.req.content().retain(), h,
                x.req.trailingHeaders().copy());
        HttpUtil.setContentLength(up, up.content().readableBytes());
        up.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        return up;
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
        String mine = null;
        if (conn.peerSpiffeId() != null) {
            String by = snap.identity() == null ? "" : snap.identity().spiffeId().toString();
            mine = "By=" + by + ";Hash=" + conn.peerCertificateHash() + ";Subject=\"\";URI=" + conn.peerSpiffeId();
        }
        String existing = h.get("x-forwarded-client-cert");
        if (dir == Listener.Direction.GATEWAY) {
            h.remove("x-forwarded-client-cert");
            if (mine != null) {
                h.set("x-forwarded-client-cert", mine);
            }
        } else if (mine != null) {
            h.set("x-forwarded-client-cert", existing == null || existing.isEmpty() ? mine : existing + "," + mine);
        }
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
            for (String name : connection.split(",")) {
                h.remove(name.trim());
            }
        }
        // One pass over the (few) headers instead of a hashed remove per hop-by-hop name: most
        // requests and answers carry none once Connection is gone.
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = h.iteratorCharSequence(); it.hasNext(); ) {
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
        return colon > authority.lastIndexOf(']') && colon > 0 ? authority.substring(0, colon) : authority;
    }

    private static String portPart(String authority) {
        if (authority == null) {
            return "";
        }
        int colon = authority.lastIndexOf(':');
        return colon > authority.lastIndexOf(']') && colon > 0 ? authority.substring(colon) : "";
    }

    private static FullHttpResponse simple(HttpResponseStatus status, String body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        if (!body.isEmpty()) {
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
        }
        return r;
    }

    private void respondAndClose(Exchange x, FullHttpResponse r) {
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        HttpUtil.setContentLength(r, r.content().readableBytes());
        int code = r.status().code();
        x.ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        logAndCount(x, code, "-", 0);
        x.req.release();
    }

    private void respond(Exchange x, FullHttpResponse r, String flags) {
        if (!"-".equals(flags)) {
            x.flags = flags;
        }
        HttpUtil.setContentLength(r, r.content().readableBytes());
        if (conn.listener().direction() == Listener.Direction.GATEWAY) {
            r.headers().set(HttpHeaderNames.SERVER, "istio-envoy");
        }
        if (!http2) {
            if (x.keepAlive) {
                if (x.req.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                }
            } else {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
        }
        int code = r.status().code();
        int bytesOut = r.content().readableBytes();
        var write = x.ctx.writeAndFlush(r);
        if (!http2 && !x.keepAlive) {
            write.addListener(ChannelFutureListener.CLOSE);
        } else {
            next(x.ctx);
        }
        logAndCount(x, code, x.flags, bytesOut);
        x.req.release();
    }

    private void logAndCount(Exchange x, int code, String flags, int bytesOut) {
        double millis = (System.nanoTime() - x.startNanos) / 1e6;
        String reporter = conn.listener().direction() == Listener.Direction.INBOUND ? "destination" : "source";
        proxy.metrics().record(reporter, conn.peerSpiffeId(), x.serviceHost, code, flags, millis);
        if (proxy.settings().accessLog() && access.isInfoEnabled()) {
            access.info("[{}] \"{} {} {}\" {} {} {} {} {} \"{}\" \"{}\" \"{}\" {} {} peer={}", Instant.now(), x.req.method(),
                    x.path, x.protocol, code, flags, x.req.content().readableBytes(), bytesOut, Math.round(millis),
                    orDash(x.req.headers().get(HttpHeaderNames.USER_AGENT)), orDash(x.requestId), orDash(x.authority),
                    x.upstreamHost, x.cluster, orDash(conn.peerSpiffeId()));
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
