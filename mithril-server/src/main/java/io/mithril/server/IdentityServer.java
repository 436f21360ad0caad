package io.mithril.server;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.mithril.api.observability.HealthChecksConfig;
import io.mithril.api.observability.HealthListener;
import io.mithril.hcl.HclException;
import io.mithril.pki.KeyType;
import io.mithril.pki.PkiException;
import io.mithril.pki.X509Minter;
import io.mithril.pki.upstream.DiskUpstreamAuthority;
import io.mithril.pki.upstream.SelfSignedUpstreamAuthority;
import io.mithril.pki.upstream.UpstreamAuthority;
import io.mithril.server.api.DataStoreUnavailableInterceptor;
import io.mithril.server.api.admin.AdminApiService;
import io.mithril.server.api.agent.AgentApiService;
import io.mithril.server.api.agent.AgentAuthInterceptor;
import io.mithril.server.api.agent.AuthorizedEntries;
import io.mithril.server.api.agent.ServerTls;
import io.mithril.server.api.downstream.DownstreamAuthInterceptor;
import io.mithril.server.api.downstream.DownstreamSvidService;
import io.mithril.server.api.downstream.UpstreamBundleService;
import io.mithril.server.attestor.JoinTokenAttestor;
import io.mithril.server.attestor.K8sPsatAttestor;
import io.mithril.server.attestor.NodeAttestor;
import io.mithril.server.attestor.X509PopAttestor;
import io.mithril.server.ca.CaManager;
import io.mithril.server.ca.TrustBundle;
import io.mithril.server.config.FederationConfig;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.config.ServerConfigParser;
import io.mithril.server.datastore.DataStore;
import io.mithril.server.datastore.DataStoreException;
import io.mithril.server.datastore.SqlDataStore;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.federation.BundleEndpointClient;
import io.mithril.server.federation.BundleEndpointServer;
import io.mithril.server.federation.FederationManager;
import io.mithril.server.federation.Relationship;
import io.mithril.server.federation.ServingCertFile;
import io.mithril.server.fs.PrivateFiles;
import io.mithril.server.keymanager.DiskKeyManager;
import io.mithril.server.keymanager.KeyManager;
import io.mithril.server.keymanager.KeyManagerException;
import io.mithril.server.keymanager.MemoryKeyManager;
import io.mithril.server.metrics.ServerMetrics;
import io.mithril.server.upstream.SpireUpstreamAuthority;
import io.mithril.spiffe.id.SpiffeId;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.security.auth.x500.X500Principal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The identity server (what {@code spire-server run} is): one trust domain's CA, registration
 * entries, node attestation, the agent API (TCP, mTLS) and the admin API (Unix socket).
 *
 * <p>Start one with {@link #start(ServerConfig)}; the returned server is running when the call
 * returns: the datastore is migrated, the CA is minted (or reloaded from the key manager and the CA
 * journal), the agent API listens on {@link #agentApiAddress()} and the admin API on {@link
 * #adminSocketPath()}. {@link #close()} stops everything and releases the ports, sockets and
 * database connections; state on disk (datastore, keys) survives for the next start.
 *
 * <pre>{@code
 * ServerConfig cfg = ServerConfig.builder(TrustDomain.parse("example.org"), dataDir)
 *         .bindAddress("127.0.0.1").bindPort(0)
 *         .socketPath(dataDir.resolve("admin/api.sock"))
 *         .build();
 * try (IdentityServer server = IdentityServer.start(cfg)) {
 *     String token = server.generateJoinToken(Duration.ofMinutes(10), null);
 *     // an agent attests at server.agentApiAddress() with that token, trusting server.bundle()
 * }
 * }</pre>
 *
 * <p>Thread-safe: every method may be called from any thread.
 */
public final class IdentityServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(IdentityServer.class);

    private final ServerConfig config;
    private final DataStore dataStore;
    private final CaManager ca;
    private final AdminApiService admin;
    private final ServerMetrics metrics;
    private final HealthStatusManager health = new HealthStatusManager();
    private Server agentServer;
    private Server adminServer;
    private EventLoopGroup adminBoss;
    private EventLoopGroup adminWorkers;
    private HTTPServer metricsServer;
    private HealthListener healthServer;
    private ScheduledExecutorService scheduler;

    /** The authorised-entries index and its background refresher; stopped by {@link #close()}. */
    private AuthorizedEntries authorizedEntries;

    private final FederationManager federation;
    private BundleEndpointServer bundleEndpoint;
    private ServerTls serverTls;
    private volatile boolean closed;

    /** Kubernetes API clients of the k8s plugins, closed with the server. */
    private final java.util.List<AutoCloseable> kubernetes =
            new java.util.concurrent.CopyOnWriteArrayList<>();

    private IdentityServer(
            ServerConfig config,
            DataStore dataStore,
            CaManager ca,
            AdminApiService admin,
            ServerMetrics metrics,
            FederationManager federation) {
        this.config = config;
        this.dataStore = dataStore;
        this.ca = ca;
        this.admin = admin;
        this.metrics = metrics;
        this.federation = federation;
    }

    /**
     * Reads a SPIRE {@code server.conf} and starts a server from it.
     *
     * @throws HclException for a configuration error (message starts with file:line:column)
     * @throws ServerStartException as {@link #start(ServerConfig)}
     */
    public static IdentityServer start(Path configFile) throws HclException, ServerStartException {
        return start(ServerConfigParser.parseFile(configFile));
    }

    /**
     * Starts a server.
     *
     * @throws ServerStartException when something named by the configuration is unusable (the
     *     message names the file, socket or port: a corrupt datastore, an unreadable key file, an
     *     upstream CA that is not a CA, a port in use)
     */
    public static IdentityServer start(ServerConfig config) throws ServerStartException {
        DataStore ds = null;
        IdentityServer server = null;
        try {
            PrivateFiles.directory(config.dataDir(), "data_dir");
            ds = openDataStore(config);
            KeyManager km = openKeyManager(config);
            X509Minter minter = new X509Minter(config.clock());
            UpstreamAuthority upstream = openUpstream(config, minter);
            ServerMetrics metrics = new ServerMetrics();
            CaManager ca =
                    new CaManager(
                            config.trustDomain(),
                            ds,
                            km,
                            upstream,
                            minter,
                            config.caTtl(),
                            KeyType.fromConfig(config.caKeyType()),
                            KeyType.fromConfig(config.jwtKeyType()),
                            new X500Principal(config.caSubject().toDistinguishedName()),
                            journalId(config),
                            config.jwtIssuer(),
                            metrics);
            try {
                ca.initialize();
            } catch (PkiException e) {
                ca.close();
                throw new ServerStartException(
                        "UpstreamAuthority \"" + upstream.name() + "\": " + e.getMessage(), e);
            }
            FederationManager federation =
                    new FederationManager(
                            config.trustDomain(),
                            ds,
                            new BundleEndpointClient(
                                    null, FEDERATION_FETCH_TIMEOUT, config.clock()),
                            config.clock(),
                            config.federation().retryInterval(),
                            config.federation().minRefresh());
            AdminApiService admin =
                    new AdminApiService(
                            config.trustDomain(), ds, ca, config.clock(), metrics, federation);
            server = new IdentityServer(config, ds, ca, admin, metrics, federation);
            server.startListeners();
            server.startFederation();
            log.info(
                    "Server started: trust_domain={} agent_api={} admin_socket={} datastore={} upstream={}",
                    config.trustDomain(),
                    server.agentApiAddress(),
                    config.socketPath(),
                    ds.describe(),
                    upstream.name());
            return server;
        } catch (ServerStartException e) {
            closeQuietly(server, ds);
            throw e;
        } catch (DataStoreException | KeyManagerException e) {
            closeQuietly(server, ds);
            throw new ServerStartException(e.getMessage(), e);
        } catch (IOException e) {
            closeQuietly(server, ds);
            throw new ServerStartException(
                    "data_dir " + config.dataDir() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(server, ds);
            throw new ServerStartException("server failed to start: " + e, e);
        }
    }

    private static void closeQuietly(IdentityServer server, DataStore ds) {
        if (server != null) {
            server.close();
        } else if (ds != null) {
            ds.close();
        }
    }

    private static DataStore openDataStore(ServerConfig c) {
        ServerConfig.DataStoreConfig d = c.dataStore();
        if (d.databaseType().equals("postgres")) {
            return SqlDataStore.openPostgres(
                    d.connectionString(),
                    new SqlDataStore.PoolSettings(
                            d.maxOpenConns(),
                            d.maxIdleConns(),
                            d.connMaxLifetime(),
                            SqlDataStore.PoolSettings.DEFAULT.connectionTimeout()),
                    c.clock());
        }
        if (d.maxOpenConns() != ServerConfig.DataStoreConfig.DEFAULT_MAX_OPEN_CONNS
                || d.maxIdleConns() != ServerConfig.DataStoreConfig.DEFAULT_MAX_IDLE_CONNS
                || !d.connMaxLifetime().isZero()) {
            log.warn(
                    "DataStore \"sql\": max_open_conns, max_idle_conns and conn_max_lifetime are ignored for sqlite3, "
                            + "which has one connection (its single writer)");
        }
        Path file =
                d.connectionString() == null || d.connectionString().isBlank()
                        ? c.dataDir().resolve("datastore.sqlite3")
                        : Path.of(d.connectionString());
        return SqlDataStore.openSqlite(file, c.clock());
    }

    private static KeyManager openKeyManager(ServerConfig c) {
        return c.keyManager().type().equals("memory")
                ? new MemoryKeyManager()
                : DiskKeyManager.open(c.keyManager().keysPath());
    }

    private static UpstreamAuthority openUpstream(ServerConfig c, X509Minter minter)
            throws ServerStartException {
        if (c.spireUpstream() != null) {
            return new SpireUpstreamAuthority(c.spireUpstream(), c.trustDomain(), c.clock());
        }
        if (c.upstream() == null) {
            return new SelfSignedUpstreamAuthority(minter);
        }
        try {
            return DiskUpstreamAuthority.load(
                    c.upstream().certFilePath(),
                    c.upstream().keyFilePath(),
                    c.upstream().bundleFilePath(),
                    minter);
        } catch (PkiException e) {
            throw new ServerStartException("UpstreamAuthority \"disk\": " + e.getMessage(), e);
        }
    }

    /** A stable ID for this server's CA journal (several servers may share one database). */
    private static String journalId(ServerConfig c) throws IOException {
        Path f = c.dataDir().resolve("instance_id");
        if (Files.exists(f)) {
            String id = Files.readString(f, StandardCharsets.UTF_8).trim();
            if (!id.isEmpty()) {
                return id;
            }
        }
        String id = UUID.randomUUID().toString();
        Path tmp = Files.createTempFile(c.dataDir(), ".instance_id", ".tmp");
        Files.writeString(tmp, id + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, f, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return id;
    }

    private void startListeners() throws ServerStartException {
        Map<String, NodeAttestor> attestors = new LinkedHashMap<>();
        if (config.joinToken()) {
            attestors.put(
                    JoinTokenAttestor.TYPE,
                    new JoinTokenAttestor(config.trustDomain(), dataStore, config.clock()));
        }
        if (config.x509pop() != null) {
            try {
                attestors.put(
                        X509PopAttestor.TYPE,
                        X509PopAttestor.load(
                                config.trustDomain(),
                                config.x509pop().caBundlePaths(),
                                config.clock()));
            } catch (IllegalArgumentException e) {
                throw new ServerStartException(e.getMessage(), e);
            }
        }
        if (config.kubernetes().psatClusters() != null) {
            K8sPsatAttestor psat = K8sServerPlugins.psatAttestor(config);
            kubernetes.add(psat);
            attestors.put(K8sPsatAttestor.TYPE, psat);
        }
        io.mithril.k8s.bundle.ConfigMapBundlePublisher publisher =
                K8sServerPlugins.bundlePublisher(config, ca);
        if (publisher != null) {
            kubernetes.add(publisher);
        }
        AuthorizedEntries authorized;
        try {
            authorized =
                    AuthorizedEntries.start(
                            dataStore,
                            config.serverId(),
                            config.clock(),
                            config.api().cacheReloadInterval(),
                            metrics);
            authorizedEntries = authorized;
        } catch (io.mithril.server.datastore.DataStoreException e) {
            throw new ServerStartException(
                    "cannot load the registration entries of "
                            + dataStore.describe()
                            + ": "
                            + e.getMessage(),
                    e);
        }
        AgentApiService agentApi =
                new AgentApiService(
                        config.trustDomain(),
                        dataStore,
                        ca,
                        attestors,
                        authorized,
                        config.agentTtl(),
                        config.defaultX509SvidTtl(),
                        config.defaultJwtSvidTtl(),
                        metrics,
                        admin.agentSyncs());
        ServerTls tls = new ServerTls(ca, config.serverId(), config.defaultX509SvidTtl(), metrics);
        serverTls = tls;
        InetSocketAddress bind = new InetSocketAddress(config.bindAddress(), config.bindPort());
        try {
            tls.serverSvid();
            agentServer =
                    limited(NettyServerBuilder.forAddress(bind))
                            .sslContext(tls.sslContext())
                            .addService(
                                    ServerInterceptors.intercept(
                                            agentApi,
                                            new AgentAuthInterceptor(
                                                    dataStore, authorized, config.trustDomain()),
                                            new DataStoreUnavailableInterceptor(false),
                                            // Last, so it runs first: a caller waits its turn
                                            // before anything else is done for it.
                                            new io.mithril.server.api.RateLimitInterceptor(
                                                    config.api())))
                            // What nested (downstream) servers call, with SPIRE's names.
                            .addService(
                                    ServerInterceptors.intercept(
                                            new DownstreamSvidService(ca),
                                            new DownstreamAuthInterceptor(
                                                    dataStore,
                                                    config.trustDomain(),
                                                    config.clock()),
                                            new DataStoreUnavailableInterceptor(false)))
                            .addService(
                                    ServerInterceptors.intercept(
                                            new UpstreamBundleService(ca, config.clock()),
                                            new DownstreamAuthInterceptor(
                                                    dataStore,
                                                    config.trustDomain(),
                                                    config.clock()),
                                            new DataStoreUnavailableInterceptor(false)))
                            .addService(health.getHealthService())
                            .build()
                            .start();
        } catch (IOException e) {
            throw new ServerStartException(
                    "agent API "
                            + config.bindAddress()
                            + ":"
                            + config.bindPort()
                            + ": cannot listen: "
                            + rootMessage(e)
                            + " (is another server running? set bind_port)",
                    e);
        }
        startAdmin();
        health.setStatus("", HealthCheckResponse.ServingStatus.SERVING);
        try {
            if (config.telemetry() != null) {
                metricsServer = metrics.serve(config.telemetry().host(), config.telemetry().port());
                log.info(
                        "Metrics listening: http://{}:{}/metrics",
                        config.telemetry().host(),
                        metricsServer.getPort());
            }
            if (config.healthChecks() != null) {
                startHealthChecks(config.healthChecks());
            }
        } catch (IOException e) {
            throw new ServerStartException("metrics/health listener: " + rootMessage(e), e);
        }
        scheduler =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "mithril-server-rotation");
                            t.setDaemon(true);
                            return t;
                        });
        long every = config.rotationCheckInterval().toMillis();
        scheduler.scheduleWithFixedDelay(this::tick, every, every, TimeUnit.MILLISECONDS);
    }

    /** Connect and read timeout of a bundle endpoint fetch. */
    static final Duration FEDERATION_FETCH_TIMEOUT = Duration.ofSeconds(10);

    /**
     * Stores the relationships of {@code federates_with} (creating or replacing those of the same
     * trust domain), starts the bundle endpoint when configured, and starts refreshing bundles.
     */
    private void startFederation() throws ServerStartException {
        FederationConfig fc = config.federation();
        for (Relationship r : fc.federatesWith()) {
            if (!dataStore.createFederationRelationship(r.toProto())) {
                dataStore.updateFederationRelationship(r.toProto());
            }
            log.info("Federation relationship from the configuration: {}", r);
        }
        FederationConfig.BundleEndpoint be = fc.bundleEndpoint();
        if (be != null) {
            javax.net.ssl.KeyManager km;
            try {
                km =
                        be.profile() == Relationship.Profile.HTTPS_SPIFFE
                                ? serverTls.keyManager()
                                : ServingCertFile.load(
                                        be.certFilePath(),
                                        be.keyFilePath(),
                                        be.fileSyncInterval(),
                                        config.clock());
            } catch (IllegalArgumentException e) {
                throw new ServerStartException("federation.bundle_endpoint: " + e.getMessage(), e);
            }
            try {
                bundleEndpoint =
                        BundleEndpointServer.start(
                                new InetSocketAddress(be.address(), be.port()),
                                km,
                                be.refreshHint(),
                                ca::bundle);
            } catch (IOException e) {
                throw new ServerStartException(
                        "federation.bundle_endpoint "
                                + be.address()
                                + ":"
                                + be.port()
                                + ": cannot listen: "
                                + rootMessage(e),
                        e);
            }
            log.info(
                    "Bundle endpoint listening: https://{}:{} profile={} refresh_hint={}s",
                    be.address(),
                    bundleEndpoint.address().getPort(),
                    be.profile().spelling(),
                    be.refreshHint().getSeconds());
        }
        federation.start(FEDERATION_TICK);
    }

    /** How often the federation manager looks for relationships whose bundle is due. */
    static final Duration FEDERATION_TICK = Duration.ofSeconds(1);

    /** The TLS (agent API) or HTTP/2 (admin API) handshake must finish within this time. */
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

    /**
     * Bounds what one client can hold on the agent and admin APIs: a connection that does not
     * finish its handshake in {@link #HANDSHAKE_TIMEOUT}, or has had no call for 5 minutes, is
     * closed; a silent one is pinged after a minute and closed when the ping is not answered in 20
     * s; clients may not ping more than every 30 s; at most 100 calls run on one connection.
     */
    private static NettyServerBuilder limited(NettyServerBuilder b) {
        return b.handshakeTimeout(HANDSHAKE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .maxConnectionIdle(5, TimeUnit.MINUTES)
                .keepAliveTime(1, TimeUnit.MINUTES)
                .keepAliveTimeout(20, TimeUnit.SECONDS)
                .permitKeepAliveTime(30, TimeUnit.SECONDS)
                .maxConcurrentCallsPerConnection(100);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    private void tick() {
        try {
            ca.rotate();
            int pruned = dataStore.pruneJoinTokens(config.clock().instant().getEpochSecond());
            if (pruned > 0) {
                log.info("Expired join tokens pruned: count={}", pruned);
            }
        } catch (RuntimeException e) {
            log.error("CA rotation check failed: {}", e.toString(), e);
        }
    }

    private void startAdmin() throws ServerStartException {
        Path socket = config.socketPath().toAbsolutePath();
        if (!Epoll.isAvailable()) {
            throw new ServerStartException(
                    "admin API socket "
                            + socket
                            + ": Unix sockets need Netty epoll, unavailable here: "
                            + Epoll.unavailabilityCause());
        }
        try {
            Path dir = socket.getParent();
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            throw new ServerStartException(
                    "admin API socket "
                            + socket
                            + ": cannot prepare its directory: "
                            + e.getMessage(),
                    e);
        }
        adminBoss = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        adminWorkers = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        try {
            adminServer =
                    limited(
                                    NettyServerBuilder.forAddress(
                                            new DomainSocketAddress(socket.toString())))
                            .channelType(EpollServerDomainSocketChannel.class)
                            .bossEventLoopGroup(adminBoss)
                            .workerEventLoopGroup(adminWorkers)
                            .addService(
                                    ServerInterceptors.intercept(
                                            admin, adminInterceptors(config.api().auditLog())))
                            .addService(
                                    ServerInterceptors.intercept(
                                            new io.mithril.server.api.admin
                                                    .LocalAuthorityApiService(ca),
                                            adminInterceptors(config.api().auditLog())))
                            .addService(health.getHealthService())
                            .build()
                            .start();
        } catch (IOException e) {
            throw new ServerStartException(
                    "admin API socket " + socket + ": cannot listen: " + rootMessage(e), e);
        }
    }

    /** The admin socket's interceptors: datastore outages, and audit lines when asked for. */
    private static io.grpc.ServerInterceptor[] adminInterceptors(boolean audit) {
        return audit
                ? new io.grpc.ServerInterceptor[] {
                    new DataStoreUnavailableInterceptor(true),
                    new io.mithril.server.api.AuditLogInterceptor()
                }
                : new io.grpc.ServerInterceptor[] {new DataStoreUnavailableInterceptor(true)};
    }

    private void startHealthChecks(HealthChecksConfig h) throws IOException {
        healthServer = HealthListener.start(h, () -> !closed, () -> ca.currentX509Ca() != null);
        log.info(
                "Health checks listening: http://{}:{}{} and {}",
                h.bindAddress(),
                healthServer.port(),
                h.livePath(),
                h.readyPath());
    }

    /** The configuration the server runs with. */
    public ServerConfig config() {
        return config;
    }

    /** The agent API's bound address (the real port when the configuration asked for port 0). */
    public InetSocketAddress agentApiAddress() {
        return (InetSocketAddress) agentServer.getListenSockets().get(0);
    }

    /** The bundle endpoint's bound address, or null when none is configured. */
    public InetSocketAddress bundleEndpointAddress() {
        return bundleEndpoint == null ? null : bundleEndpoint.address();
    }

    /** The federation manager (refreshes federated bundles). */
    public FederationManager federation() {
        return federation;
    }

    /** The admin API's Unix socket. */
    public Path adminSocketPath() {
        return config.socketPath().toAbsolutePath();
    }

    /** The server's SPIFFE ID, {@code spiffe://<td>/spire/server}, presented on the agent API. */
    public SpiffeId serverId() {
        return config.serverId();
    }

    /**
     * The current bundle of the server's trust domain: the X.509 roots agents must trust (including
     * the next CA's roots once it is prepared) and the JWT signing keys.
     */
    public TrustBundle bundle() {
        return ca.bundle();
    }

    /** The CA manager (tests drive rotation through it). */
    public CaManager caManager() {
        return ca;
    }

    /** The datastore. */
    public DataStore dataStore() {
        return dataStore;
    }

    /** The Prometheus metrics port, or -1 when metrics are off. */
    public int metricsPort() {
        return metricsServer == null ? -1 : metricsServer.getPort();
    }

    /**
     * Generates a one-time join token, as {@code spire-server token generate} does. With an alias,
     * also registers {@code alias} as an entry parented by the agent ID the token will give ({@code
     * spiffe://<td>/spire/agent/join_token/<token>}), so workload entries can name the alias as
     * their parent.
     *
     * @param ttl how long the token may be used; null for the default (600s)
     * @param alias the node alias to register, or null
     * @return the token value (a UUID)
     */
    public String generateJoinToken(Duration ttl, SpiffeId alias) {
        return admin.generateJoinToken(ttl, alias).value();
    }

    /**
     * Creates a registration entry, as {@code spire-server entry create} does.
     *
     * @return the stored entry, with its ID and revision
     * @throws io.mithril.server.entry.InvalidEntryException when the entry is invalid
     * @throws io.mithril.server.datastore.DuplicateEntryException when it duplicates an entry
     */
    public RegistrationEntry createEntry(RegistrationEntry entry) {
        return admin.createEntry(entry);
    }

    /** Stops the APIs and closes the datastore. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        health.enterTerminalState();
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
        if (authorizedEntries != null) {
            authorizedEntries.close();
        }
        if (federation != null) {
            federation.close();
        }
        ca.close();
        if (bundleEndpoint != null) {
            bundleEndpoint.close();
        }
        for (Server s : new Server[] {agentServer, adminServer}) {
            if (s != null) {
                s.shutdown();
                try {
                    if (!s.awaitTermination(3, TimeUnit.SECONDS)) {
                        s.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        for (EventLoopGroup g : new EventLoopGroup[] {adminBoss, adminWorkers}) {
            if (g != null) {
                g.shutdownGracefully(0, 1, TimeUnit.SECONDS)
                        .awaitUninterruptibly(3, TimeUnit.SECONDS);
            }
        }
        if (metricsServer != null) {
            metricsServer.close();
        }
        if (healthServer != null) {
            healthServer.close();
        }
        for (AutoCloseable k : kubernetes) {
            try {
                k.close();
            } catch (Exception e) {
                log.warn("Closing a Kubernetes client: {}", e.toString());
            }
        }
        try {
            Files.deleteIfExists(config.socketPath().toAbsolutePath());
        } catch (IOException e) {
            log.warn("Removing admin socket {}: {}", config.socketPath(), e.getMessage());
        }
        dataStore.close();
        log.info("Server stopped: trust_domain={}", config.trustDomain());
    }
}
