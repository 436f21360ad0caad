package io.mithril.proxy.http;

import io.mithril.mesh.config.Cluster;
import io.mithril.mesh.config.Route;
import io.mithril.mesh.config.UpstreamTls;
import io.mithril.mesh.model.DestinationRule;
import io.mithril.proxy.Snapshot;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Upstream calls for the clusters: endpoint choice (ROUND_ROBIN, RANDOM, LEAST_REQUEST by two
 * random choices, Istio's default), keep-alive connection pools per endpoint, TLS origination,
 * retries, timeouts and outlier detection (an endpoint with {@code consecutive5xxErrors} in a row
 * is ejected for {@code baseEjectionTime} times the number of its ejections). Failures become
 * the responses Envoy gives: 503 {@code no healthy upstream}, 503 {@code upstream connect error
 * ...}, 504 {@code upstream request timeout}.
 */
public final class Upstreams implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Upstreams.class);
    private static final int MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
    /** The pool a connection returns to (its {@link #poolKey}). */
    private static final io.netty.util.AttributeKey<String> POOL = io.netty.util.AttributeKey.valueOf("pool");

    /** An upstream answer (owned by the receiver, who releases it), the endpoint used and Envoy's response flags. */
    public record Result(FullHttpResponse response, String endpoint, String flags, int attempts) {
    }

    private final EventLoopGroup group;
    private final Class<? extends Channel> channelClass;
    private final Map<String, ConcurrentLinkedDeque<Channel>> idle = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> active = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> connections = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> roundRobin = new ConcurrentHashMap<>();
    private final Map<String, Outlier> outliers = new ConcurrentHashMap<>();

    private static final class Outlier {
        final AtomicInteger consecutive = new AtomicInteger();
        volatile long ejectedUntilNanos;
        int ejections;
    }

    public Upstreams(EventLoopGroup group, Class<? extends Channel> channelClass) {
        this.group = group;
        this.channelClass = channelClass;
    }

    static String endpointKey(Cluster c, Cluster.Endpoint e) {
        return c.name() + "|" + e.address() + ":" + e.port();
    }

    /** Whether outlier detection has ejected the endpoint now. */
    public boolean ejected(Cluster c, Cluster.Endpoint e) {
        Outlier o = outliers.get(endpointKey(c, e));
        return o != null && o.ejectedUntilNanos - System.nanoTime() > 0;
    }

    /**
     * Sends {@code request} (ownership passes here) to the cluster, with the route's retries and
     * timeout; the future always completes with a response (never exceptionally).
     */
    public CompletableFuture<Result> send(Snapshot snap, Cluster cluster, FullHttpRequest request, Route.RetryPolicy retries,
                                          Duration timeout, EventExecutor executor) {
        Call call = new Call(snap, cluster, request, retries, timeout, executor);
        call.start();
        return call.result;
    }

    private final class Call {
        final Snapshot snap;
        final Cluster cluster;
        final FullHttpRequest request;
        final Route.RetryPolicy retries;
        final Duration timeout;
        final EventExecutor executor;
        final CompletableFuture<Result> result = new CompletableFuture<>();
        final Set<String> tried = new HashSet<>();
        int attempt;
        volatile Channel current;
        ScheduledFuture<?> overall;

        Call(Snapshot snap, Cluster cluster, FullHttpRequest request, Route.RetryPolicy retries, Duration timeout,
             EventExecutor executor) {
            this.snap = snap;
            this.cluster = cluster;
            this.request = request;
            this.retries = retries == null ? new Route.RetryPolicy(0, null, List.of()) : retries;
            this.timeout = timeout;
            this.executor = executor;
        }

        void start() {
            if (timeout != null && !timeout.isZero()) {
                overall = executor.schedule(() -> {
                    Channel ch = current;
                    if (finish(synthetic(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream request timeout"), null, "UT") && ch != null) {
                        ch.close();
                    }
                }, timeout.toNanos(), TimeUnit.NANOSECONDS);
            }
            next();
        }

        boolean retriable(String condition, int status) {
            if (attempt >= retries.attempts() || result.isDone()) {
                return false;
            }
            for (String on : retries.retryOn()) {
                switch (on) {
                    case "5xx" -> {
                        if (status >= 500 || status == 0) {
                            return true;
                        }
                    }
                    case "gateway-error" -> {
                        if (status == 502 || status == 503 || status == 504 || condition.equals("connect-failure")) {
                            return true;
                        }
                    }
                    case "retriable-status-codes" -> {
                        if (status == 503) {
                            return true;
                        }
                    }
                    default -> {
                        if (on.equals(condition)) {
                            return true;
                        }
                    }
                }
            }
            return false;
        }

        void retryLater() {
            attempt++;
            long backoffMs = Math.min(250, 25L << Math.min(attempt - 1, 4));
            executor.schedule(this::next, ThreadLocalRandom.current().nextLong(backoffMs / 2, backoffMs + 1), TimeUnit.MILLISECONDS);
        }

        void next() {
            if (result.isDone()) {
                return;
            }
            Cluster.Endpoint ep = pick(cluster, tried);
            if (ep == null) {
                finish(synthetic(HttpResponseStatus.SERVICE_UNAVAILABLE, "no healthy upstream"), null, "UH");
                return;
            }
            String key = endpointKey(cluster, ep);
            tried.add(key);
            acquire(snap, cluster, ep, key, executor).whenComplete((ch, err) -> {
                if (err != null) {
                    failure(cluster, ep, key);
                    log.debug("upstream {} connect failed: {}", key, err.toString());
                    if (retriable("connect-failure", 0)) {
                        retryLater();
                    } else {
                        finish(synthetic(HttpResponseStatus.SERVICE_UNAVAILABLE,
                                "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
                                        + (err instanceof TlsFailure ? ", transport failure reason: " + err.getMessage() : "")),
                                key, "UF");
                    }
                    return;
                }
                exchange(ch, ep, key);
            });
        }

        void exchange(Channel ch, Cluster.Endpoint ep, String key) {
            if (result.isDone()) {
                release(ch, false);
                return;
            }
            current = ch;
            AtomicInteger inFlight = active.computeIfAbsent(key, k -> new AtomicInteger());
            inFlight.incrementAndGet();
            ClientHandler handler = ch.pipeline().get(ClientHandler.class);
            CompletableFuture<FullHttpResponse> f = new CompletableFuture<>();
            handler.pending = f;
            ScheduledFuture<?> perTry = retries.perTryTimeout() == null ? null : executor.schedule(
                    () -> f.completeExceptionally(new PerTryTimeout()), retries.perTryTimeout().toNanos(), TimeUnit.NANOSECONDS);
            ch.writeAndFlush(request.retainedDuplicate()).addListener(w -> {
                if (!w.isSuccess()) {
                    f.completeExceptionally(new IOException("write failed: " + w.cause()));
                }
            });
            f.whenComplete((resp, err) -> {
                inFlight.decrementAndGet();
                if (perTry != null) {
                    perTry.cancel(false);
                }
                current = null;
                if (err != null) {
                    ch.close();
                    failure(cluster, ep, key);
                    boolean perTryTimeout = err instanceof PerTryTimeout;
                    if (retriable(perTryTimeout ? "timeout" : "reset", 0) || perTryTimeout && retriable("5xx", 504)) {
                        retryLater();
                    } else if (perTryTimeout) {
                        finish(synthetic(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream request timeout"), key, "UT");
                    } else {
                        finish(synthetic(HttpResponseStatus.SERVICE_UNAVAILABLE,
                                "upstream connect error or disconnect/reset before headers. reset reason: connection termination"),
                                key, "UC");
                    }
                    return;
                }
                int status = resp.status().code();
                if (status >= 500) {
                    failure(cluster, ep, key);
                } else {
                    success(key);
                }
                release(ch, HttpUtil.isKeepAlive(resp) && HttpUtil.isKeepAlive(request));
                if (retriable("status", status)) {
                    resp.release();
                    retryLater();
                    return;
                }
                if (!finish(resp, key, "-")) {
                    resp.release();
                }
            });
        }

        boolean finish(FullHttpResponse resp, String endpoint, String flags) {
            boolean won = result.complete(new Result(resp, endpoint, flags, attempt + 1));
            if (won) {
                if (overall != null) {
                    overall.cancel(false);
                }
                request.release();
            } else if (resp != null && !"-".equals(flags)) {
                resp.release();
            }
            return won;
        }
    }

    private static final class PerTryTimeout extends IOException {
        private static final long serialVersionUID = 1L;

        PerTryTimeout() {
            super("per-try timeout", null);
        }
    }

    /** A TLS handshake with an upstream failed (its reason is the message). */
    static final class TlsFailure extends IOException {
        private static final long serialVersionUID = 1L;

        TlsFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    static FullHttpResponse synthetic(HttpResponseStatus status, String body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
        return r;
    }

    // ----- endpoints, load balancing, outlier detection ----------------------------------------

    Cluster.Endpoint pick(Cluster c, Set<String> exclude) {
        if (c.endpoints().size() == 1 && exclude.isEmpty() && outliers.isEmpty()) {
            // The common case, without building keys: one endpoint, first try, nothing ever ejected.
            return c.endpoints().get(0);
        }
        List<Cluster.Endpoint> healthy = new ArrayList<>();
        for (Cluster.Endpoint e : c.endpoints()) {
            if (!ejected(c, e)) {
                healthy.add(e);
            }
        }
        if (healthy.isEmpty()) {
            return null;
        }
        List<Cluster.Endpoint> fresh = new ArrayList<>();
        for (Cluster.Endpoint e : healthy) {
            if (!exclude.contains(endpointKey(c, e))) {
                fresh.add(e);
            }
        }
        List<Cluster.Endpoint> from = fresh.isEmpty() ? healthy : fresh;
        if (from.size() == 1) {
            return from.get(0);
        }
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        DestinationRule.SimpleLb lb = c.lbPolicy();
        switch (lb) {
            case ROUND_ROBIN -> {
                int i = roundRobin.computeIfAbsent(c.name(), k -> new AtomicInteger()).getAndIncrement();
                return from.get(Math.floorMod(i, from.size()));
            }
            case RANDOM -> {
                int total = from.stream().mapToInt(Cluster.Endpoint::weight).sum();
                int r = rnd.nextInt(total);
                for (Cluster.Endpoint e : from) {
                    r -= e.weight();
                    if (r < 0) {
                        return e;
                    }
                }
                return from.get(from.size() - 1);
            }
            default -> {
                Cluster.Endpoint a = from.get(rnd.nextInt(from.size()));
                Cluster.Endpoint b = from.get(rnd.nextInt(from.size()));
                return inFlight(c, a) <= inFlight(c, b) ? a : b;
            }
        }
    }

    private int inFlight(Cluster c, Cluster.Endpoint e) {
        AtomicInteger n = active.get(endpointKey(c, e));
        return n == null ? 0 : n.get();
    }

    private void failure(Cluster c, Cluster.Endpoint e, String key) {
        DestinationRule.OutlierDetection od = c.outlierDetection();
        if (od == null || od.consecutive5xxErrors() <= 0) {
            return;
        }
        Outlier o = outliers.computeIfAbsent(key, k -> new Outlier());
        if (o.consecutive.incrementAndGet() < od.consecutive5xxErrors()) {
            return;
        }
        synchronized (o) {
            long now = System.nanoTime();
            if (o.ejectedUntilNanos - now > 0) {
                return;
            }
            long ejectedNow = c.endpoints().stream().filter(x -> ejected(c, x)).count();
            long max = Math.max(1, c.endpoints().size() * od.maxEjectionPercent() / 100);
            if (ejectedNow >= max) {
                return;
            }
            o.ejections++;
            o.ejectedUntilNanos = now + od.baseEjectionTime().toNanos() * o.ejections;
            o.consecutive.set(0);
            log.warn("outlier detection: ejected {} for {} after {} consecutive errors", key,
                    od.baseEjectionTime().multipliedBy(o.ejections), od.consecutive5xxErrors());
        }
    }

    private void success(String key) {
        Outlier o = outliers.get(key);
        if (o != null) {
            o.consecutive.set(0);
        }
    }

    // ----- connections -------------------------------------------------------------------------

    private static String poolKey(Snapshot snap, String endpointKey, EventExecutor loop) {
        // The snapshot version: a new SVID or policy means new connections; idle old ones age out.
        // The event loop: a request and its upstream connection stay on one thread, no hand-offs.
        return snap.version() + "|" + System.identityHashCode(loop) + "|" + endpointKey;
    }

    private CompletableFuture<Channel> acquire(Snapshot snap, Cluster c, Cluster.Endpoint e, String endpointKey, EventExecutor loop) {
        String key = poolKey(snap, endpointKey, loop);
        ConcurrentLinkedDeque<Channel> q = idle.get(key);
        if (q != null) {
            Channel ch;
            while ((ch = q.pollFirst()) != null) {
                if (ch.isActive()) {
                    return CompletableFuture.completedFuture(ch);
                }
            }
        }
        CompletableFuture<Channel> f = new CompletableFuture<>();
        AtomicInteger count = connections.computeIfAbsent(c.name(), k -> new AtomicInteger());
        Integer max = c.connectionPool() == null ? null : c.connectionPool().maxConnections();
        if (max != null && count.get() >= max) {
            f.completeExceptionally(new IOException("overflow: cluster " + c.name() + " has its " + max + " connections busy"));
            return f;
        }
        SslContext ssl = null;
        if (c.tls() != null) {
            ssl = snap.upstreamTls().get(c.name());
            if (ssl == null) {
                f.completeExceptionally(new TlsFailure("no TLS context: " + snap.tlsErrors().getOrDefault(c.name(), "not built"), null));
                return f;
            }
        }
        final SslContext tls = ssl;
        String sni = c.tls() == null ? null : c.tls().sni() != null ? c.tls().sni()
                : c.tls().mode() == UpstreamTls.Mode.ISTIO_MUTUAL ? null : c.serviceHost();
        Bootstrap b = new Bootstrap().group(loop instanceof io.netty.channel.EventLoop el ? el : group).channel(channelClass)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, c.connectTimeout().toMillis()))
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast("ssl", sni == null ? tls.newHandler(ch.alloc())
                                    : tls.newHandler(ch.alloc(), sni, e.port()));
                        }
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(MAX_RESPONSE_BYTES), new ClientHandler());
                    }
                });
        InetSocketAddress addr = c.type() == Cluster.Type.STATIC ? new InetSocketAddress(e.address(), e.port())
                : InetSocketAddress.createUnresolved(e.address(), e.port());
        ChannelFuture cf = b.connect(addr);
        cf.addListener(done -> {
            if (!done.isSuccess()) {
                f.completeExceptionally(done.cause());
                return;
            }
            Channel ch = cf.channel();
            count.incrementAndGet();
            ch.closeFuture().addListener(x -> count.decrementAndGet());
            SslHandler sh = ch.pipeline().get(SslHandler.class);
            if (sh == null) {
                f.complete(ch);
                return;
            }
            sh.handshakeFuture().addListener(hs -> {
                if (hs.isSuccess()) {
                    f.complete(ch);
                } else {
                    Throwable root = hs.cause();
                    while (root.getCause() != null && root.getCause() != root) {
                        root = root.getCause();
                    }
                    log.warn("TLS to upstream {} ({}) failed: {}", endpointKey(c, e), c.tls().mode(), root.getMessage());
                    ch.close();
                    f.completeExceptionally(new TlsFailure(String.valueOf(root.getMessage()), hs.cause()));
                }
            });
        });
        return f.thenApply(ch -> {
            ch.attr(POOL).set(key);
            return ch;
        });
    }

    private void release(Channel ch, boolean reusable) {
        String key = ch.attr(POOL).get();
        if (!reusable || key == null || !ch.isActive()) {
            ch.close();
            return;
        }
        idle.computeIfAbsent(key, k -> new ConcurrentLinkedDeque<>()).addFirst(ch);
    }

    /** Completes the pending exchange of a connection with its response, or with the reason it failed. */
    static final class ClientHandler extends SimpleChannelInboundHandler<FullHttpResponse> {
        volatile CompletableFuture<FullHttpResponse> pending;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse msg) {
            CompletableFuture<FullHttpResponse> p = pending;
            pending = null;
            if (p != null && !p.complete(msg.retain())) {
                msg.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            CompletableFuture<FullHttpResponse> p = pending;
            pending = null;
            if (p != null) {
                p.completeExceptionally(new IOException("upstream closed the connection"));
            }
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            CompletableFuture<FullHttpResponse> p = pending;
            pending = null;
            if (p != null) {
                p.completeExceptionally(cause);
            }
            ctx.close();
        }
    }

    @Override
    public void close() {
        for (ConcurrentLinkedDeque<Channel> q : idle.values()) {
            for (Channel ch : q) {
                ch.close();
            }
        }
        idle.clear();
    }
}
