package io.mithril.proxy;

import io.mithril.mesh.compile.MeshCompiler;
import io.mithril.mesh.config.Cluster;
import io.mithril.mesh.config.FilterChain;
import io.mithril.mesh.config.Listener;
import io.mithril.mesh.config.ProxyConfig;
import io.mithril.mesh.model.Resource;
import io.mithril.proxy.admin.AdminServer;
import io.mithril.proxy.http.BodyBudget;
import io.mithril.proxy.http.ConnectionInitializer;
import io.mithril.proxy.http.Upstreams;
import io.mithril.proxy.identity.Identity;
import io.mithril.proxy.identity.IdentitySource;
import io.mithril.proxy.tls.TlsContexts;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data plane: a gateway or a sidecar. It owns one {@link Snapshot} (compiled configuration,
 * identity, TLS contexts) and replaces it whole when the configuration or the identity changes;
 * listeners are bound and closed to match the configuration. Open connections keep the TLS session
 * they started with, so an SVID rotation drops nothing.
 */
public final class Proxy implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Proxy.class);

    private final ProxySettings settings;
    private final IdentitySource identitySource;
    private final AtomicReference<Snapshot> snapshot = new AtomicReference<>();
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final Class<? extends ServerChannel> serverChannelClass;
    private final Class<? extends Channel> clientChannelClass;
    private final Map<Integer, Channel> bound = new ConcurrentHashMap<>();
    private final ProxyMetrics metrics = new ProxyMetrics();
    private final Upstreams upstreams;
    private final AdminServer admin;
    private final BodyBudget bodyBudget;
    private volatile List<Resource> resources;
    private volatile boolean configured;
    private long version;

    private Proxy(ProxySettings settings, IdentitySource identitySource) throws IOException {
        this.settings = settings;
        this.identitySource = identitySource;
        boolean epoll = Epoll.isAvailable();
        this.boss =
                new MultiThreadIoEventLoopGroup(
                        1, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.workers =
                new MultiThreadIoEventLoopGroup(
                        workerThreads(),
                        epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.serverChannelClass =
                epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        this.clientChannelClass = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
        this.bodyBudget = new BodyBudget(settings.limits().bufferedBodyBytes());
        this.upstreams = new Upstreams(workers, clientChannelClass, bodyBudget);
        this.admin = settings.admin() == null ? null : AdminServer.start(settings.admin(), this);
    }

    /**
     * One event loop per core, as Envoy runs one worker per core: a request and its upstream
     * exchange stay on one loop, so more loops than cores (Netty's default is twice the cores) only
     * add thread switches. {@code -Dio.netty.eventLoopThreads} still overrides it.
     */
    static int workerThreads() {
        Integer configured = Integer.getInteger("io.netty.eventLoopThreads");
        return configured != null && configured > 0
                ? configured
                : Runtime.getRuntime().availableProcessors();
    }

    /**
     * Starts a proxy with no configuration yet (no listener) and its admin endpoint; call {@link
     * #apply} with the mesh resources. Identity changes are followed from now on.
     *
     * @throws IOException when the admin address cannot be bound
     */
    public static Proxy start(ProxySettings settings, IdentitySource identitySource)
            throws IOException {
        Proxy p = new Proxy(settings, identitySource);
        identitySource.addListener(p::onIdentity);
        log.info(
                "{} proxy started (namespace {}, labels {}), {}",
                settings.node().kind().name().toLowerCase(),
                settings.node().namespace(),
                settings.node().labels(),
                identitySource.current() == null
                        ? "waiting for an SVID"
                        : "identity " + identitySource.current());
        return p;
    }

    /** The current snapshot (null before the first configuration). Lock-free. */
    public Snapshot snapshot() {
        return snapshot.get();
    }

    public ProxySettings settings() {
        return settings;
    }

    public ProxyMetrics metrics() {
        return metrics;
    }

    public Upstreams upstreams() {
        return upstreams;
    }

    /** The request body bytes all requests together may keep for retries and mirrors. */
    public BodyBudget bodyBudget() {
        return bodyBudget;
    }

    /** Ready: it has a configuration and an SVID, and every listener is bound. */
    public boolean ready() {
        Snapshot s = snapshot.get();
        return configured
                && s != null
                && s.identity() != null
                && s.config().listeners().stream().allMatch(l -> bound.containsKey(l.port()));
    }

    /** Why the proxy is not ready, or "" when it is. */
    public String notReadyReason() {
        Snapshot s = snapshot.get();
        if (identitySource.current() == null) {
            return "no SVID yet from the Workload API";
        }
        if (!configured || s == null) {
            return "no mesh configuration yet";
        }
        for (Listener l : s.config().listeners()) {
            if (!bound.containsKey(l.port())) {
                return "listener " + l.name() + " is not bound";
            }
        }
        return "";
    }

    /**
     * Compiles {@code resources} for this proxy and swaps them in atomically. A listener that
     * cannot be bound is logged and left unbound (the proxy is then not ready); the rest applies.
     *
     * @return the compiled configuration
     */
    public synchronized ProxyConfig apply(List<Resource> resources) {
        ProxyConfig config = MeshCompiler.compile(resources, settings.node());
        for (String w : config.warnings()) {
            log.warn("config: {}", w);
        }
        install(config, false);
        this.resources = List.copyOf(resources);
        return config;
    }

    /**
     * Swaps in a configuration compiled elsewhere (the control plane's, over xDS) atomically, all
     * or nothing: new listeners are bound first, and if one cannot be bound the ones just bound are
     * closed again and the current configuration keeps serving untouched.
     *
     * @throws ListenerBindException when a listener cannot be bound (xDS then NACKs it)
     */
    public synchronized void applyCompiled(ProxyConfig config) {
        install(config, true);
        this.resources = List.of();
    }

    private void install(ProxyConfig config, boolean allOrNothing) {
        List<Integer> opened = bindNewListeners(config, allOrNothing);
        swap(config, identitySource.current());
        configured = true;
        closeRemovedListeners(config);
        log.info(
                "configuration applied: {} listeners, {} routes, {} clusters{}",
                config.listeners().size(),
                config.routes().size(),
                config.clusters().size(),
                opened.isEmpty() ? "" : ", listeners bound on ports " + opened);
    }

    /** A listener of a configuration could not be bound. */
    public static final class ListenerBindException extends RuntimeException {
        public ListenerBindException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private synchronized void onIdentity(Identity identity) {
        Snapshot s = snapshot.get();
        if (s != null) {
            swap(s.config(), identity);
            log.info(
                    "TLS contexts rebuilt for {}; new handshakes use it, open connections keep theirs",
                    identity);
        }
    }

    /**
     * Clusters whose insecureSkipVerify has been logged: one WARN per cluster, not one per
     * configuration or SVID.
     */
    private final java.util.Set<String> insecureClusters =
            java.util.concurrent.ConcurrentHashMap.newKeySet();

    private void swap(ProxyConfig config, Identity identity) {
        Map<String, SslContext> server = new HashMap<>();
        Map<String, SslContext> upstream = new HashMap<>();
        Map<String, String> errors = new HashMap<>();
        for (Listener l : config.listeners()) {
            for (FilterChain c : l.filterChains()) {
                if (c.tls() == null) {
                    continue;
                }
                String key = Snapshot.chainKey(l.name(), c.name());
                try {
                    server.put(key, TlsContexts.server(c.tls(), identity));
                } catch (SSLException | RuntimeException e) {
                    errors.put(key, e.getMessage());
                    log.warn(
                            "listener {} chain {}: cannot set up TLS: {}",
                            l.name(),
                            c.name(),
                            e.getMessage());
                }
            }
        }
        for (Cluster c : config.clusters().values()) {
            if (c.tls() == null) {
                continue;
            }
            if (c.tls().insecureSkipVerify() && insecureClusters.add(c.name())) {
                log.warn(
                        "cluster {}: insecureSkipVerify: the server's certificate is not verified (DestinationRule tls)",
                        c.name());
            }
            try {
                upstream.put(c.name(), TlsContexts.client(c.tls(), identity));
            } catch (SSLException | RuntimeException e) {
                errors.put(c.name(), e.getMessage());
                log.warn("cluster {}: cannot set up TLS origination: {}", c.name(), e.getMessage());
            }
        }
        snapshot.set(new Snapshot(++version, config, identity, server, upstream, errors));
    }

    /** Binds the listeners of {@code config} not bound yet; returns their ports. */
    private List<Integer> bindNewListeners(ProxyConfig config, boolean allOrNothing) {
        List<Integer> opened = new java.util.ArrayList<>();
        for (Listener l : config.listeners()) {
            if (bound.containsKey(l.port())) {
                continue;
            }
            InetSocketAddress addr =
                    settings.publish()
                            .getOrDefault(l.port(), new InetSocketAddress(l.address(), l.port()));
            try {
                Channel ch =
                        new ServerBootstrap()
                                .group(boss, workers)
                                .channel(serverChannelClass)
                                .option(ChannelOption.SO_BACKLOG, 1024)
                                .option(ChannelOption.SO_REUSEADDR, true)
                                .childOption(ChannelOption.TCP_NODELAY, true)
                                .childHandler(new ConnectionInitializer(this, l.port()))
                                .bind(addr)
                                .sync()
                                .channel();
                bound.put(l.port(), ch);
                opened.add(l.port());
                log.info(
                        "listener {} ({}) bound on {}", l.name(), l.direction(), ch.localAddress());
            } catch (Exception e) {
                log.error("listener {}: cannot bind {}: {}", l.name(), addr, e.toString());
                if (allOrNothing) {
                    for (Integer port : opened) {
                        bound.remove(port).close().syncUninterruptibly();
                    }
                    throw new ListenerBindException(
                            "listener " + l.name() + ": cannot bind " + addr + ": " + e, e);
                }
            }
        }
        return opened;
    }

    private void closeRemovedListeners(ProxyConfig config) {
        for (Map.Entry<Integer, Channel> e : bound.entrySet()) {
            if (config.listener(e.getKey()) == null) {
                e.getValue().close();
                bound.remove(e.getKey());
                log.info("listener on port {} removed", e.getKey());
            }
        }
    }

    /** Where the listener for {@code listenerPort} is bound, or null. */
    public InetSocketAddress listenerAddress(int listenerPort) {
        Channel ch = bound.get(listenerPort);
        return ch == null ? null : (InetSocketAddress) ch.localAddress();
    }

    /** Where the admin endpoint is bound, or null. */
    public InetSocketAddress adminAddress() {
        return admin == null ? null : admin.address();
    }

    /** The resources of the current configuration. */
    public List<Resource> resources() {
        return resources;
    }

    @Override
    public void close() {
        for (Channel ch : bound.values()) {
            ch.close().syncUninterruptibly();
        }
        bound.clear();
        if (admin != null) {
            admin.close();
        }
        upstreams.close();
        boss.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS)
                .syncUninterruptibly();
        log.info("proxy stopped");
    }
}
