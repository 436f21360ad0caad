package io.mithril.proxy.identity;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * An identity source whose real source is attached later: the proxy starts (admin endpoint up,
 * saying "not ready: no SVID yet") while the Workload API is still being reached.
 */
public final class DeferredIdentitySource implements IdentitySource {

    private final List<Consumer<Identity>> listeners = new CopyOnWriteArrayList<>();
    private volatile IdentitySource delegate;

    /** Attaches the real source; its identities reach every listener from now on. */
    public void attach(IdentitySource source) {
        delegate = source;
        source.addListener(
                id -> {
                    for (Consumer<Identity> l : listeners) {
                        l.accept(id);
                    }
                });
    }

    @Override
    public Identity current() {
        IdentitySource d = delegate;
        return d == null ? null : d.current();
    }

    @Override
    public void addListener(Consumer<Identity> listener) {
        listeners.add(listener);
        Identity now = current();
        if (now != null) {
            listener.accept(now);
        }
    }

    @Override
    public void close() {
        IdentitySource d = delegate;
        if (d != null) {
            d.close();
        }
    }
}
