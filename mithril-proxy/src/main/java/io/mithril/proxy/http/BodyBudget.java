package io.mithril.proxy.http;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The request body bytes all connections of a proxy may hold at once. A connection reserves
 * what it buffers and gives it back when its request is answered or it closes; when a
 * reservation would go over, that request is refused (503), so many clients each sending part of
 * a large body cannot exhaust the proxy's memory while bodies are still buffered whole.
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
