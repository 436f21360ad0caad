package io.mithril.agent.endpoints.workload;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.mithril.agent.attestor.workload.WorkloadAttestor;
import io.mithril.agent.cache.SvidCache;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.fs.TrustedDirectory;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Workload API endpoint: gRPC on a Unix domain socket (Netty epoll), serving {@code
 * SpiffeWorkloadAPI} and {@code grpc.health.v1.Health}. The socket is world-connectable (0777): who
 * may have which identity is decided per call from the kernel's peer credentials, not by file
 * permissions. Its directory and every ancestor must pass {@link TrustedDirectory}'s rule (no other
 * user may replace the socket), or the agent refuses to start.
 *
 * <p>A socket file left behind by a crashed agent is removed at start; a socket on which a live
 * process still accepts connections is not, and {@link #start} fails instead.
 */
public final class WorkloadApiServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WorkloadApiServer.class);

    private static final String SOCKET_DIR = "Workload API socket directory";

    private final Path socketPath;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final Server server;

    private final HealthStatusManager healthManager;

    private WorkloadApiServer(
            Path socketPath,
            Server server,
            EventLoopGroup boss,
            EventLoopGroup workers,
            HealthStatusManager health) {
        this.socketPath = socketPath;
        this.server = server;
        this.boss = boss;
        this.workers = workers;
        this.healthManager = health;
    }

    /**
     * Binds the socket and starts serving.
     *
     * @throws IOException if the socket cannot be created, or another process is listening on it
     */
    public static WorkloadApiServer start(
            Path socketPath,
            SvidCache cache,
            List<WorkloadAttestor> attestors,
            JwtSvidIssuer jwtIssuer,
            Clock clock)
            throws IOException {
        return start(
                socketPath,
                cache,
                attestors,
                jwtIssuer,
                clock,
                null,
                AgentConfig.SdsConfig.DEFAULTS);
    }

    /**
     * Binds the socket and starts serving the Workload API and Envoy's SDS v3 (with {@code sds}'s
     * resource names); {@code metrics}, when not null, sees every call (e.g. {@code
     * AgentMetrics.interceptor()}).
     *
     * @throws IOException if the socket cannot be created, or another process is listening on it
     */
    public static WorkloadApiServer start(
            Path socketPath,
            SvidCache cache,
            List<WorkloadAttestor> attestors,
            JwtSvidIssuer jwtIssuer,
            Clock clock,
            ServerInterceptor metrics,
            AgentConfig.SdsConfig sds)
            throws IOException {
        return start(
                socketPath,
                cache,
                attestors,
                jwtIssuer,
                clock,
                metrics,
                sds,
                WorkloadApiLimits.DEFAULTS);
    }

    /**
     * As {@link #start(Path, SvidCache, List, JwtSvidIssuer, Clock, ServerInterceptor,
     * AgentConfig.SdsConfig)}, with the given connection limits and timeouts.
     */
    public static WorkloadApiServer start(
            Path socketPath,
            SvidCache cache,
            List<WorkloadAttestor> attestors,
            JwtSvidIssuer jwtIssuer,
            Clock clock,
            ServerInterceptor metrics,
            AgentConfig.SdsConfig sds,
            WorkloadApiLimits limits)
            throws IOException {
        if (!Epoll.isAvailable()) {
            throw new IOException(
                    "the Workload API needs Linux epoll (netty-transport-native-epoll): "
                            + Epoll.unavailabilityCause());
        }
        prepareSocketPath(socketPath);
        EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        EventLoopGroup workers = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        WorkloadApiService service = new WorkloadApiService(cache, jwtIssuer, clock);
        NettyServerBuilder builder =
                NettyServerBuilder.forAddress(
                                new DomainSocketAddress(socketPath.toString()),
                                InternalNettyServerCredentials.create(
                                        new PeerCredentialsNegotiator(
                                                Path.of("/proc"),
                                                new ConnectionLimiter(
                                                        limits.maxConnections(),
                                                        limits.maxConnectionsPerUid()))))
                        .channelType(EpollServerDomainSocketChannel.class)
                        .bossEventLoopGroup(boss)
                        .workerEventLoopGroup(workers)
                        .maxConcurrentCallsPerConnection(limits.maxCallsPerConnection())
                        .handshakeTimeout(
                                limits.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS)
                        .maxConnectionIdle(
                                limits.maxConnectionIdle().toMillis(), TimeUnit.MILLISECONDS)
                        .keepAliveTime(limits.keepAliveTime().toMillis(), TimeUnit.MILLISECONDS)
                        .keepAliveTimeout(
                                limits.keepAliveTimeout().toMillis(), TimeUnit.MILLISECONDS)
                        .permitKeepAliveTime(
                                limits.permitKeepAliveTime().toMillis(), TimeUnit.MILLISECONDS)
                        .addService(guarded(service, new CallerInterceptor(attestors), metrics));
        builder.addService(
                guarded(
                        new SdsService(cache, sds),
                        new CallerInterceptor(attestors, false),
                        metrics));
        HealthStatusManager health = new HealthStatusManager();
        builder.addService(health.getHealthService());
        Server server = builder.build();
        try {
            server.start();
        } catch (IOException e) {
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IOException(
                    "cannot listen on Workload API socket " + socketPath + ": " + e.getMessage(),
                    e);
        }
        Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rwxrwxrwx"));
        health.setStatus("", ServingStatus.NOT_SERVING);
        log.info("Starting Workload API on {}", socketPath);
        return new WorkloadApiServer(socketPath, server, boss, workers, health);
    }

    /**
     * {@code service} behind the caller check and, when given, the metrics interceptor ({@code
     * intercept} runs the last one first, so metrics also count the calls the check refuses).
     */
    private static ServerServiceDefinition guarded(
            BindableService service, CallerInterceptor caller, ServerInterceptor metrics) {
        return metrics == null
                ? ServerInterceptors.intercept(service, caller)
                : ServerInterceptors.intercept(service, caller, metrics);
    }

    /** Marks the agent healthy (SERVING) or not on the health service. */
    public void setServing(boolean serving) {
        healthManager.setStatus("", serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    }

    /** The socket path this server listens on. */
    public Path socketPath() {
        return socketPath;
    }

    /**
     * Checks, without changing anything, that the socket path is free or holds only a stale socket.
     *
     * @throws IOException if the path is not a socket, or a live process serves on it
     */
    public static void checkSocketPath(Path socketPath) throws IOException {
        TrustedDirectory.check(socketPath.toAbsolutePath().getParent(), SOCKET_DIR);
        if (!Files.exists(socketPath, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Object type =
                Files.readAttributes(
                                socketPath, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        .get("mode");
        if (!(type instanceof Integer mode && (mode & 0170000) == 0140000)) {
            throw new IOException(
                    "Workload API socket path "
                            + socketPath
                            + " exists and is not a socket; remove it or choose another socket_path");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socketPath));
            throw new IOException(
                    "another process is already serving on "
                            + socketPath
                            + " (is an agent running?); stop it or choose another socket_path");
        } catch (java.net.SocketException e) {
            // stale: nobody accepts connections
        }
    }

    /**
     * Creates the socket's directory (0755) and removes a stale socket file. A path that exists and
     * is not a socket, a socket a live process accepts connections on, or a directory others could
     * tamper with ({@link TrustedDirectory}) is refused.
     */
    static void prepareSocketPath(Path socketPath) throws IOException {
        TrustedDirectory.shared(socketPath.toAbsolutePath().getParent(), SOCKET_DIR);
        if (!Files.exists(socketPath, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Object type =
                Files.readAttributes(
                                socketPath, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        .get("mode");
        boolean isSocket = type instanceof Integer mode && (mode & 0170000) == 0140000;
        if (!isSocket) {
            throw new IOException(
                    "Workload API socket path "
                            + socketPath
                            + " exists and is not a socket; remove it or choose another socket_path");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socketPath));
            throw new IOException(
                    "another process is already serving on "
                            + socketPath
                            + " (is an agent running?); stop it or choose another socket_path");
        } catch (java.net.SocketException e) {
            // Nobody accepts connections: a stale socket from an agent that did not exit cleanly.
            log.info("Removing stale Workload API socket {}", socketPath);
            Files.deleteIfExists(socketPath);
        }
    }

    @Override
    public void close() {
        healthManager.enterTerminalState();
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        try {
            Files.deleteIfExists(socketPath);
        } catch (IOException e) {
            log.warn("cannot remove Workload API socket {}: {}", socketPath, e.toString());
        }
    }
}
