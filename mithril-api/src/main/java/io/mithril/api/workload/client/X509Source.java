package io.mithril.api.workload.client;

import io.grpc.Status;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.BundleSource;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.svid.IdentitySource;
import io.mithril.spiffe.svid.X509Svid;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the latest X.509 context of the Workload API at hand: it watches the {@code FetchX509SVID}
 * stream, and when the stream breaks (agent restarted, socket gone, temporarily no identity) it
 * reconnects with exponential backoff (100 ms doubling up to 5 s), meanwhile {@link #current()}
 * keeps returning the last context received.
 *
 * <pre>{@code
 * try (X509Source source = X509Source.start("unix:///tmp/mithril/agent/public/api.sock", Duration.ofSeconds(10))) {
 *     source.addListener(ctx -> reloadTls(ctx.defaultSvid()));
 *     ...
 * }
 * }</pre>
 */
public final class X509Source implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(X509Source.class);
    private static final long MIN_BACKOFF_MS = 100;
    private static final long MAX_BACKOFF_MS = 5_000;

    private final WorkloadApiClient client;
    private final ScheduledExecutorService scheduler;
    private final List<Consumer<X509Context>> listeners = new CopyOnWriteArrayList<>();
    private final CountDownLatch first = new CountDownLatch(1);
    private volatile X509Context current;
    private volatile WorkloadApiException lastError;
    private volatile Closeable watch;
    private volatile boolean closed;
    private long backoffMs = MIN_BACKOFF_MS;

    private X509Source(WorkloadApiClient client) {
        this.client = client;
        this.scheduler =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "x509-source-" + client.address());
                            t.setDaemon(true);
                            return t;
                        });
    }

    /**
     * Starts watching the Workload API at {@code address} and waits up to {@code initialTimeout}
     * for the first X.509 context.
     *
     * @throws WorkloadApiException with the last error seen if no context arrived in time ({@code
     *     DEADLINE_EXCEEDED} when there was none)
     */
    public static X509Source start(String address, Duration initialTimeout) {
        X509Source source = new X509Source(WorkloadApiClient.connect(address));
        source.scheduler.execute(source::connect);
        try {
            if (!source.first.await(initialTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                WorkloadApiException last = source.lastError;
                source.close();
                throw last != null
                        ? last
                        : new WorkloadApiException(
                                Status.Code.DEADLINE_EXCEEDED,
                                "no X.509 context from " + address + " within " + initialTimeout,
                                null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            source.close();
            throw new WorkloadApiException(
                    Status.Code.CANCELLED,
                    "interrupted while waiting for the first X.509 context",
                    e);
        }
        return source;
    }

    /**
     * Starts watching the Workload API named by {@code SPIFFE_ENDPOINT_SOCKET} (or the agent's
     * default socket), as {@link #start(String, Duration)}.
     */
    public static X509Source fromEnvironment(Duration initialTimeout) {
        return start(WorkloadApiAddress.fromEnvironment().toString(), initialTimeout);
    }

    /** The latest X.509 context received; never null after {@link #start} returned. */
    public X509Context current() {
        return current;
    }

    /**
     * Calls {@code listener} with the current context now, and with every new one. Listeners run on
     * the source's thread, one at a time; an exception in one is logged and does not affect the
     * others.
     */
    public void addListener(Consumer<X509Context> listener) {
        listeners.add(listener);
        X509Context now = current;
        if (now != null) {
            listener.accept(now);
        }
    }

    /**
     * This source as the SPIFFE library's {@link IdentitySource}: the SVID with ID {@code wanted}
     * (the default SVID when {@code wanted} is null; none when the agent does not send that ID) and
     * the bundles, always the latest the agent sent.
     */
    public IdentitySource identity(SpiffeId wanted) {
        return new IdentitySource() {
            @Override
            public X509Svid svid() {
                X509Context ctx = current;
                if (ctx == null) {
                    return null;
                }
                X509Context.Svid s =
                        wanted == null
                                ? ctx.defaultSvid()
                                : ctx.svids().stream()
                                        .filter(x -> x.spiffeId().equals(wanted))
                                        .findFirst()
                                        .orElse(null);
                return s == null ? null : X509Svid.of(s.chain(), s.privateKey(), s.hint());
            }

            @Override
            public BundleSource<X509Bundle> bundles() {
                return td -> {
                    X509Context ctx = current;
                    if (ctx == null) {
                        throw new BundleNotFoundException(td);
                    }
                    List<X509Bundle> bundles = new ArrayList<>();
                    ctx.bundles().forEach((d, roots) -> bundles.add(X509Bundle.of(d, roots)));
                    return X509BundleSet.of(bundles).bundleFor(td);
                };
            }
        };
    }

    private void connect() {
        if (closed) {
            return;
        }
        watch =
                client.watchX509Context(
                        new WorkloadApiClient.Watcher<>() {
                            @Override
                            public void onUpdate(X509Context update) {
                                scheduler.execute(() -> deliver(update));
                            }

                            @Override
                            public void onError(WorkloadApiException error) {
                                scheduler.execute(() -> retry(error));
                            }
                        });
    }

    private void deliver(X509Context update) {
        backoffMs = MIN_BACKOFF_MS;
        current = update;
        first.countDown();
        for (Consumer<X509Context> l : listeners) {
            try {
                l.accept(update);
            } catch (RuntimeException e) {
                log.warn("X.509 context listener failed: {}", e.toString());
            }
        }
    }

    private void retry(WorkloadApiException error) {
        if (closed) {
            return;
        }
        lastError = error;
        log.debug(
                "Workload API stream at {} failed ({}); reconnecting in {} ms",
                client.address(),
                error.getMessage(),
                backoffMs);
        long delay = backoffMs;
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
        scheduler.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        closed = true;
        Closeable w = watch;
        if (w != null) {
            try {
                w.close();
            } catch (IOException ignored) {
                // cancelling a call does not fail
            }
        }
        scheduler.shutdownNow();
        client.close();
    }
}
