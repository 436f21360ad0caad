package io.mithril.proxy.http;

import io.mithril.mesh.config.Cluster;
import io.mithril.mesh.config.Route;
import io.mithril.mesh.config.UpstreamTls;
import io.mithril.mesh.model.DestinationRule;
import io.mithril.proxy.Snapshot;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
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
 * is ejected for {@code baseEjectionTime} times the number of its ejections). Failures become the
 * responses Envoy gives: 503 {@code no healthy upstream}, 503 {@code upstream connect error ...},
 * 504 {@code upstream request timeout}.
 */
public final class Upstreams implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Upstreams.class);

    /** The pool a connection returns to (its {@link #poolKey}). */
    private static final io.netty.util.AttributeKey<String> POOL =
            io.netty.util.AttributeKey.valueOf("pool");

    /**
     * Request body bytes a call keeps for a retry or a mirror (Envoy's per-connection buffer limit,
     * {@code per_connection_buffer_limit_bytes}, 1 MiB, which also bounds its retry and shadow
     * buffers); a longer body is streamed without a copy and its request is not retried.
     */
    static final int REPLAY_LIMIT = 1 << 20;

    /**
     * Bytes of a request body a call holds while its upstream connection is being made; above, the
     * downstream is not read.
     */
    static final int QUEUE_HIGH_WATER = 64 * 1024;

    /**
     * Where one upstream answer goes, called on the downstream's event loop (which is the upstream
     * connection's too): the answer's head, then its content as it arrives, with backpressure both
     * ways.
     */
    public interface Sink {
        /**
         * The answer's head: the upstream's (flags {@code -}), or one the proxy made (a {@link
         * FullHttpResponse}: nothing follows). Called at most once; ownership passes.
         */
        void head(HttpResponse response, String endpoint, String flags);

        /**
         * A piece of the answer's body (the last one is a {@link LastHttpContent}); ownership
         * passes.
         */
        void content(HttpContent content);

        /** The upstream read what it had: write it out. */
        void flush();

        /** The upstream failed after the head was passed on: the downstream must be reset. */
        void reset(String flags);

        /**
         * Whether the downstream takes more now; if not, the upstream is not read until {@link
         * Call#downstreamWritable}.
         */
        boolean writable();

        /**
         * Read the downstream's request body (true), or stop until called again (backpressure from
         * the upstream).
         */
        void readRequest(boolean on);
    }

    /** A sink that drops the answer (mirrors). */
    static final Sink DISCARD =
            new Sink() {
                @Override
                public void head(HttpResponse response, String endpoint, String flags) {
                    ReferenceCountUtil.release(response);
                }

                @Override
                public void content(HttpContent content) {
                    content.release();
                }

                @Override
                public void flush() {}

                @Override
                public void reset(String flags) {}

                @Override
                public boolean writable() {
                    return true;
                }

                @Override
                public void readRequest(boolean on) {}
            };

    private final EventLoopGroup group;
    private final Class<? extends Channel> channelClass;
    private final BodyBudget budget;
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

    /**
     * @param budget what all calls together may hold of request bodies (replay copies and bytes
     *     waiting for a connection); a copy that does not fit is not made (no retry)
     */
    public Upstreams(
            EventLoopGroup group, Class<? extends Channel> channelClass, BodyBudget budget) {
        this.group = group;
        this.channelClass = channelClass;
        this.budget = budget;
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
     * Starts a call of the cluster with the request's head; its body follows through {@link
     * Call#content} as it arrives. The answer goes to {@code sink}, always (a failure becomes the
     * answer Envoy gives). Everything runs on {@code executor}, the downstream's event loop.
     *
     * @param keepCopy keep a copy of a body up to {@link #REPLAY_LIMIT} even without retries (for a
     *     mirror)
     */
    public Call send(
            Snapshot snap,
            Cluster cluster,
            HttpRequest head,
            Route.RetryPolicy retries,
            Duration timeout,
            EventExecutor executor,
            Sink sink,
            boolean keepCopy) {
        Call call = new Call(snap, cluster, head, retries, timeout, executor, sink, keepCopy);
        call.next();
        return call;
    }

    /**
     * One request to a cluster: its attempts (retries), its timeouts, its body on the way up and
     * its answer on the way down. Used on one event loop only.
     */
    public final class Call {
        final Snapshot snap;
        final Cluster cluster;
        final HttpRequest head;
        final Route.RetryPolicy retries;
        final Duration timeout;
        final EventExecutor executor;
        final Sink sink;
        final Set<String> tried = new HashSet<>();

        /** Body pieces not yet written to the current attempt. */
        private final ArrayDeque<HttpContent> queue = new ArrayDeque<>();

        private long queueBytes;

        /**
         * Copies of the body pieces written so far, for a retry; null once the body outgrew them.
         */
        private List<HttpContent> replay;

        private long replayBytes;

        /** What the copies and the queue hold of the {@link BodyBudget} while copies are kept. */
        private long reserved;

        /** Some body bytes went to an attempt without a copy: no retry can resend them. */
        private boolean sentUncopied;

        private boolean requestComplete;
        private boolean committed;
        private boolean done;
        private boolean readPaused;
        int attempt;
        private Attempt current;
        private ScheduledFuture<?> overall;

        Call(
                Snapshot snap,
                Cluster cluster,
                HttpRequest head,
                Route.RetryPolicy retries,
                Duration timeout,
                EventExecutor executor,
                Sink sink,
                boolean keepCopy) {
            this.snap = snap;
            this.cluster = cluster;
            this.head = head;
            this.retries = retries == null ? new Route.RetryPolicy(0, null, List.of()) : retries;
            this.timeout = timeout;
            this.executor = executor;
            this.sink = sink;
            this.replay = keepCopy || this.retries.attempts() > 0 ? new ArrayList<>() : null;
        }

        /**
         * The next piece of the request body (the last is a {@link LastHttpContent}); ownership
         * passes.
         */
        public void content(HttpContent c) {
            if (done || requestComplete) {
                c.release();
                requestComplete |= c instanceof LastHttpContent;
                return;
            }
            int n = c.content().readableBytes();
            if (replay != null) {
                if (replayBytes + queueBytes + n > REPLAY_LIMIT || !budget.reserve(n)) {
                    dropReplay();
                } else {
                    reserved += n;
                }
            }
            queue.add(c);
            queueBytes += n;
            if (c instanceof LastHttpContent) {
                requestComplete = true;
                startOverallTimer();
                if (current != null) {
                    current.armPerTry();
                }
            }
            if (current != null) {
                current.drain();
            }
            backpressure();
        }

        /** The downstream read what it had: send it on. */
        public void flush() {
            if (current != null && current.ch != null) {
                current.ch.flush();
            }
        }

        /** The downstream can take more of the answer again. */
        public void downstreamWritable() {
            if (current != null && current.ch != null && !current.ch.config().isAutoRead()) {
                current.ch.config().setAutoRead(true);
            }
        }

        /** The downstream went away: the upstream exchange is abandoned. */
        public void cancel() {
            if (!done) {
                done = true;
                committed = true;
                if (current != null) {
                    current.abandon();
                }
                end();
            }
            releaseQueue();
        }

        /**
         * A copy of the whole request body, when it has arrived and was small enough to keep
         * ({@link #REPLAY_LIMIT}); null otherwise. The caller releases it.
         */
        public ByteBuf bodyCopy() {
            if (!requestComplete || replay == null || sentUncopied) {
                return null;
            }
            CompositeByteBuf all =
                    Unpooled.compositeBuffer(Math.max(2, replay.size() + queue.size()));
            for (HttpContent c : replay) {
                all.addComponent(true, c.content().retainedDuplicate());
            }
            for (HttpContent c : queue) {
                all.addComponent(true, c.content().retainedDuplicate());
            }
            return all;
        }

        private void dropReplay() {
            if (replay == null) {
                return;
            }
            sentUncopied |= !replay.isEmpty();
            for (HttpContent c : replay) {
                c.release();
            }
            budget.release(reserved);
            reserved = 0;
            replay = null;
            replayBytes = 0;
        }

        private void releaseQueue() {
            HttpContent c;
            while ((c = queue.poll()) != null) {
                c.release();
            }
            queueBytes = 0;
        }

        /** Stops or resumes reading the downstream's body as the upstream takes it. */
        void backpressure() {
            Channel ch = current == null ? null : current.ch;
            boolean full =
                    !done
                            && (ch == null || !current.headWritten
                                    ? queueBytes >= QUEUE_HIGH_WATER
                                    : !ch.isWritable());
            if (full != readPaused) {
                readPaused = full;
                sink.readRequest(!full);
            }
        }

        /** Whether the request can be sent again: nothing of its body went out without a copy. */
        boolean replayable() {
            return !sentUncopied;
        }

        boolean retriable(String condition, int status) {
            if (attempt >= retries.attempts() || done || !replayable()) {
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
                        if (status == 502
                                || status == 503
                                || status == 504
                                || condition.equals("connect-failure")) {
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

        private void startOverallTimer() {
            // Envoy's route timeout starts when the downstream request is complete.
            if (overall == null && timeout != null && !timeout.isZero() && !done) {
                overall =
                        executor.schedule(
                                () ->
                                        fail(
                                                HttpResponseStatus.GATEWAY_TIMEOUT,
                                                "upstream request timeout",
                                                null,
                                                "UT"),
                                timeout.toNanos(),
                                TimeUnit.NANOSECONDS);
            }
        }

        void retryLater() {
            attempt++;
            current = null;
            // The copies go out first again, then what has not been sent yet.
            if (replay != null) {
                for (int i = replay.size() - 1; i >= 0; i--) {
                    queue.addFirst(replay.get(i));
                    queueBytes += replay.get(i).content().readableBytes();
                }
                replay.clear();
                replayBytes = 0;
            }
            backpressure();
            long backoffMs = Math.min(250, 25L << Math.min(attempt - 1, 4));
            executor.schedule(
                    this::next,
                    ThreadLocalRandom.current().nextLong(backoffMs / 2, backoffMs + 1),
                    TimeUnit.MILLISECONDS);
        }

        void next() {
            if (done) {
                return;
            }
            Cluster.Endpoint ep = pick(cluster, tried);
            if (ep == null) {
                fail(HttpResponseStatus.SERVICE_UNAVAILABLE, "no healthy upstream", null, "UH");
                return;
            }
            String key = endpointKey(cluster, ep);
            tried.add(key);
            Attempt a = new Attempt(ep, key);
            current = a;
            acquire(snap, cluster, ep, key, executor)
                    .whenComplete(
                            (ch, err) -> {
                                if (executor.inEventLoop()) {
                                    a.connected(ch, err);
                                } else {
                                    executor.execute(() -> a.connected(ch, err));
                                }
                            });
        }

        /**
         * Ends the call with an answer of the proxy's own, or resets the downstream when the
         * upstream's has begun.
         */
        void fail(HttpResponseStatus status, String body, String endpoint, String flags) {
            if (done) {
                return;
            }
            done = true;
            if (current != null) {
                current.abandon();
            }
            if (committed) {
                sink.reset(flags);
            } else {
                committed = true;
                sink.head(synthetic(status, body), endpoint, flags);
            }
            end();
        }

        private void end() {
            if (overall != null) {
                overall.cancel(false);
            }
            dropReplay();
            releaseQueue();
            if (readPaused) {
                readPaused = false;
                sink.readRequest(true);
            }
        }

        /** One try at one endpoint. */
        final class Attempt {
            final Cluster.Endpoint ep;
            final String key;
            final AtomicInteger inFlight;
            Channel ch;
            boolean headWritten;
            boolean requestWritten;
            boolean informational;
            boolean over;
            ScheduledFuture<?> perTry;
            HttpResponse response;

            Call outer() {
                return Call.this;
            }

            Attempt(Cluster.Endpoint ep, String key) {
                this.ep = ep;
                this.key = key;
                this.inFlight = active.computeIfAbsent(key, k -> new AtomicInteger());
                inFlight.incrementAndGet();
            }

            void connected(Channel channel, Throwable err) {
                if (over || current != this) {
                    if (channel != null) {
                        release(channel, true);
                    }
                    return;
                }
                if (err != null) {
                    finishTry();
                    failure(cluster, ep, key);
                    log.debug("upstream {} connect failed: {}", key, err.toString());
                    if (retriable("connect-failure", 0)) {
                        retryLater();
                    } else {
                        fail(
                                HttpResponseStatus.SERVICE_UNAVAILABLE,
                                "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
                                        + (err instanceof TlsFailure
                                                ? ", transport failure reason: " + err.getMessage()
                                                : ""),
                                key,
                                "UF");
                    }
                    return;
                }
                ch = channel;
                ch.pipeline().get(ClientHandler.class).attempt = this;
                armPerTry();
                ch.write(head)
                        .addListener(
                                w -> {
                                    if (!w.isSuccess()) {
                                        broken(new IOException("write failed: " + w.cause()));
                                    }
                                });
                headWritten = true;
                drain();
                if (!requestWritten) {
                    ch.flush(); // the head goes now; drain flushed at the request's end otherwise
                }
                backpressure();
            }

            /** Writes what the queue holds, keeping copies while the body may be replayed. */
            void drain() {
                if (ch == null || !headWritten || over) {
                    return;
                }
                boolean wrote = false;
                HttpContent c;
                while ((c = queue.poll()) != null) {
                    int n = c.content().readableBytes();
                    queueBytes -= n;
                    if (replay != null) {
                        replay.add(c);
                        replayBytes += n;
                        ch.write(c.retainedDuplicate());
                    } else {
                        if (n > 0) {
                            sentUncopied = true;
                        }
                        ch.write(c);
                    }
                    wrote = true;
                    if (c instanceof LastHttpContent) {
                        requestWritten = true;
                        ch.flush();
                        wrote = false;
                    }
                }
                if (wrote && !ch.isWritable()) {
                    ch.flush();
                }
            }

            void armPerTry() {
                // Envoy's per-try timeout runs from the end of the request to the answer's head.
                if (perTry == null
                        && requestComplete
                        && retries.perTryTimeout() != null
                        && !committed
                        && !over) {
                    perTry =
                            executor.schedule(
                                    () -> broken(new PerTryTimeout()),
                                    retries.perTryTimeout().toNanos(),
                                    TimeUnit.NANOSECONDS);
                }
            }

            private void finishTry() {
                if (!over) {
                    over = true;
                    inFlight.decrementAndGet();
                    if (perTry != null) {
                        perTry.cancel(false);
                    }
                }
            }

            /**
             * The call ended elsewhere (timeout, downstream gone): the connection cannot be reused.
             */
            void abandon() {
                finishTry();
                if (ch != null) {
                    detach();
                    ch.close();
                }
            }

            private void detach() {
                ClientHandler h = ch.pipeline().get(ClientHandler.class);
                if (h != null && h.attempt == this) {
                    h.attempt = null;
                }
            }

            void read(HttpObject msg) {
                if (over || current != this) {
                    ReferenceCountUtil.release(msg);
                    return;
                }
                if (msg instanceof HttpResponse r) {
                    int code = r.status().code();
                    if (code >= 100 && code < 200) {
                        // Envoy answers 100-continue itself and drops the upstream's informational
                        // answers.
                        informational = true;
                        ReferenceCountUtil.release(msg);
                        return;
                    }
                    informational = false;
                    response = r;
                    if (code >= 500) {
                        failure(cluster, ep, key);
                    } else {
                        success(key);
                    }
                    if (retriable("status", code)) {
                        ReferenceCountUtil.release(msg);
                        finishTry();
                        detach();
                        ch.close();
                        retryLater();
                        return;
                    }
                    if (perTry != null) {
                        perTry.cancel(false);
                    }
                    committed = true;
                    if (msg instanceof LastHttpContent) {
                        sink.head(r, key, "-");
                        complete();
                        return;
                    }
                    sink.head(r, key, "-");
                    return;
                }
                if (msg instanceof HttpContent c) {
                    if (informational || !committed) {
                        c.release();
                        if (c instanceof LastHttpContent) {
                            informational = false;
                        }
                        return;
                    }
                    sink.content(c);
                    if (c instanceof LastHttpContent) {
                        complete();
                    } else if (!sink.writable()) {
                        ch.config().setAutoRead(false);
                    }
                    return;
                }
                ReferenceCountUtil.release(msg);
            }

            /**
             * The answer is complete: the connection goes back to the pool when the request went
             * out whole too.
             */
            private void complete() {
                finishTry();
                done = true;
                detach();
                release(
                        ch,
                        requestWritten
                                && HttpUtil.isKeepAlive(response)
                                && HttpUtil.isKeepAlive(head));
                end();
            }

            void writabilityChanged() {
                if (!over && current == this) {
                    if (ch.isWritable()) {
                        drain();
                    }
                    backpressure();
                }
            }

            /** The connection failed or closed before the answer was complete. */
            void broken(Throwable err) {
                if (over || current != this) {
                    return;
                }
                finishTry();
                if (ch != null) {
                    detach();
                    ch.close();
                }
                failure(cluster, ep, key);
                if (committed) {
                    fail(HttpResponseStatus.SERVICE_UNAVAILABLE, "", key, "UC");
                    return;
                }
                boolean perTryTimeout = err instanceof PerTryTimeout;
                if (retriable(perTryTimeout ? "timeout" : "reset", 0)
                        || perTryTimeout && retriable("5xx", 504)) {
                    retryLater();
                } else if (perTryTimeout) {
                    fail(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream request timeout", key, "UT");
                } else {
                    fail(
                            HttpResponseStatus.SERVICE_UNAVAILABLE,
                            "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
                            key,
                            "UC");
                }
            }
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
        FullHttpResponse r =
                new DefaultFullHttpResponse(
                        HttpVersion.HTTP_1_1,
                        status,
                        Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
        return r;
    }

    // ----- endpoints, load balancing, outlier detection ----------------------------------------

    Cluster.Endpoint pick(Cluster c, Set<String> exclude) {
        if (c.endpoints().size() == 1 && exclude.isEmpty() && outliers.isEmpty()) {
            // The common case, without building keys: one endpoint, first try, nothing ever
            // ejected.
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
                int i =
                        roundRobin
                                .computeIfAbsent(c.name(), k -> new AtomicInteger())
                                .getAndIncrement();
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
            log.warn(
                    "outlier detection: ejected {} for {} after {} consecutive errors",
                    key,
                    od.baseEjectionTime().multipliedBy(o.ejections),
                    od.consecutive5xxErrors());
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

    private CompletableFuture<Channel> acquire(
            Snapshot snap, Cluster c, Cluster.Endpoint e, String endpointKey, EventExecutor loop) {
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
            f.completeExceptionally(
                    new IOException(
                            "overflow: cluster "
                                    + c.name()
                                    + " has its "
                                    + max
                                    + " connections busy"));
            return f;
        }
        SslContext ssl = null;
        if (c.tls() != null) {
            ssl = snap.upstreamTls().get(c.name());
            if (ssl == null) {
                f.completeExceptionally(
                        new TlsFailure(
                                "no TLS context: "
                                        + snap.tlsErrors().getOrDefault(c.name(), "not built"),
                                null));
                return f;
            }
        }
        final SslContext tls = ssl;
        String sni =
                c.tls() == null
                        ? null
                        : c.tls().sni() != null
                                ? c.tls().sni()
                                : c.tls().mode() == UpstreamTls.Mode.ISTIO_MUTUAL
                                        ? null
                                        : c.serviceHost();
        Bootstrap b =
                new Bootstrap()
                        .group(loop instanceof io.netty.channel.EventLoop el ? el : group)
                        .channel(channelClass)
                        .option(
                                ChannelOption.CONNECT_TIMEOUT_MILLIS,
                                (int) Math.min(Integer.MAX_VALUE, c.connectTimeout().toMillis()))
                        .option(ChannelOption.TCP_NODELAY, true)
                        .handler(
                                new ChannelInitializer<Channel>() {
                                    @Override
                                    protected void initChannel(Channel ch) {
                                        if (tls != null) {
                                            ch.pipeline()
                                                    .addLast(
                                                            "ssl",
                                                            sni == null
                                                                    ? tls.newHandler(ch.alloc())
                                                                    : tls.newHandler(
                                                                            ch.alloc(),
                                                                            sni,
                                                                            e.port()));
                                        }
                                        ch.pipeline()
                                                .addLast(
                                                        new HttpClientCodec(
                                                                4096, 60 * 1024, 64 * 1024),
                                                        new ClientHandler());
                                    }
                                });
        InetSocketAddress addr =
                c.type() == Cluster.Type.STATIC
                        ? new InetSocketAddress(e.address(), e.port())
                        : InetSocketAddress.createUnresolved(e.address(), e.port());
        ChannelFuture cf = b.connect(addr);
        cf.addListener(
                done -> {
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
                    sh.handshakeFuture()
                            .addListener(
                                    hs -> {
                                        if (hs.isSuccess()) {
                                            f.complete(ch);
                                        } else {
                                            Throwable root = hs.cause();
                                            while (root.getCause() != null
                                                    && root.getCause() != root) {
                                                root = root.getCause();
                                            }
                                            log.warn(
                                                    "TLS to upstream {} ({}) failed: {}",
                                                    endpointKey(c, e),
                                                    c.tls().mode(),
                                                    root.getMessage());
                                            ch.close();
                                            f.completeExceptionally(
                                                    new TlsFailure(
                                                            String.valueOf(root.getMessage()),
                                                            hs.cause()));
                                        }
                                    });
                });
        return f.thenApply(
                ch -> {
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
        ch.config().setAutoRead(true);
        idle.computeIfAbsent(key, k -> new ConcurrentLinkedDeque<>()).addFirst(ch);
    }

    /**
     * Passes what a connection reads to the attempt using it; an idle connection's reads are
     * dropped.
     */
    static final class ClientHandler extends ChannelInboundHandlerAdapter {
        Call.Attempt attempt;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Call.Attempt a = attempt;
            if (a != null && msg instanceof HttpObject o) {
                a.read(o);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            Call.Attempt a = attempt;
            if (a != null) {
                a.outer().sink.flush();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            Call.Attempt a = attempt;
            if (a != null) {
                a.writabilityChanged();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            Call.Attempt a = attempt;
            if (a != null) {
                a.broken(new IOException("upstream closed the connection"));
            }
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Call.Attempt a = attempt;
            if (a != null) {
                a.broken(cause);
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
