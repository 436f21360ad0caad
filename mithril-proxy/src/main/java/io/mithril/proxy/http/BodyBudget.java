package io.mithril.proxy.http;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The request body bytes all requests of a proxy may keep at once for a retry or a mirror (bodies
 * stream; a request keeps a copy of at most {@link Upstreams#REPLAY_LIMIT}). A request reserves
 * what it copies and gives it back when its upstream call ends; when a reservation would go over,
 * that request keeps no copy and is not retried, so many clients each sending part of a body cannot
 * make the proxy hold more than this.
 */
public final class BodyBudget {

    private final long limit;
    private final AtomicLong used = new AtomicLong();

    public BodyBudget(long limit) {
        this.limit = limit;
    }

    /** Takes {@code bytes} from the budget, or nothing and false when they are not there. */
    boolean reserve(long bytes) {
        while (true) {
            long u = used.get();
            if (u + bytes > limit) {
                return false;
            }
            if (used.compareAndSet(u, u + bytes)) {
                return true;
            }
        }
    }

    void release(long bytes) {
        used.addAndGet(-bytes);
    }

    /** Bytes reserved now. */
    public long used() {
        return used.get();
    }

    public long limit() {
        return limit;
    }
}
