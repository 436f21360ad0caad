package io.mithril.proxy.identity;

import io.mithril.api.workload.client.X509Context;
import io.mithril.api.workload.client.X509Source;
import io.mithril.spiffe.id.SpiffeId;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's identity from the SPIFFE Workload API, as the Istio agent feeds Envoy's SDS: it
 * watches the X.509 context and passes on every change. With {@code spiffeId} set it uses that SVID
 * among those the agent sends (a process entitled to several identities), else the default (first)
 * one.
 */
public final class WorkloadApiIdentitySource implements IdentitySource {

    private static final Logger log = LoggerFactory.getLogger(WorkloadApiIdentitySource.class);

    private final X509Source source;
    private final SpiffeId wanted;
    private final List<Consumer<Identity>> listeners = new CopyOnWriteArrayList<>();
    private volatile Identity current;

    private WorkloadApiIdentitySource(X509Source source, SpiffeId wanted) {
        this.source = source;
        this.wanted = wanted;
        source.addListener(this::onContext);
    }

    /**
     * Connects to the Workload API at {@code address} ({@code unix:///path} or {@code
     * tcp://ip:port}) and waits up to {@code timeout} for the first X.509 context.
     *
     * @throws io.mithril.api.workload.client.WorkloadApiException when no context came in time
     */
    public static WorkloadApiIdentitySource start(
            String address, SpiffeId wanted, Duration timeout) {
        return new WorkloadApiIdentitySource(X509Source.start(address, timeout), wanted);
    }

    private void onContext(X509Context ctx) {
        X509Context.Svid svid = null;
        for (X509Context.Svid s : ctx.svids()) {
            if (wanted == null || s.spiffeId().equals(wanted)) {
                svid = s;
                break;
            }
        }
        if (svid == null) {
            log.warn(
                    "the Workload API sent no SVID for {} (it sent {}); keeping the previous identity",
                    wanted,
                    ctx.svids().stream().map(X509Context.Svid::spiffeId).toList());
            return;
        }
        Identity next =
                new Identity(svid.spiffeId(), svid.chain(), svid.privateKey(), ctx.bundles());
        Identity before = current;
        current = next;
        if (before == null
                || !before.leaf().equals(next.leaf())
                || !before.bundles().equals(next.bundles())) {
            log.info(
                    "identity {}: {} (bundles for {})",
                    before == null ? "received" : "rotated",
                    next,
                    next.bundles().keySet());
            for (Consumer<Identity> l : listeners) {
                l.accept(next);
            }
        }
    }

    @Override
    public Identity current() {
        return current;
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
        source.close();
    }
}
