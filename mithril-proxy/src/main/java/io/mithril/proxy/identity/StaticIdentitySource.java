package io.mithril.proxy.identity;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** An identity set in code (tests, files); {@link #update} rotates it. */
public final class StaticIdentitySource implements IdentitySource {

    private final List<Consumer<Identity>> listeners = new CopyOnWriteArrayList<>();
    private volatile Identity current;

    public StaticIdentitySource(Identity initial) {
        this.current = initial;
    }

    @Override
    public Identity current() {
        return current;
    }

    /** Replaces the identity and tells the listeners. */
    public void update(Identity next) {
        current = next;
        for (Consumer<Identity> l : listeners) {
            l.accept(next);
        }
    }

    @Override
    public void addListener(Consumer<Identity> listener) {
        listeners.add(listener);
        Identity now = current;
        if (now != null) {
            listener.accept(now);
        }
    }

    @Override
    public void close() {
        listeners.clear();
    }
}
