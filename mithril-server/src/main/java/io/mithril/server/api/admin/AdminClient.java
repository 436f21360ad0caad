package io.mithril.server.api.admin;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.mithril.api.admin.AdminServiceGrpc;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A client of the admin API over the server's Unix socket (what the {@code mithril server ...}
 * commands use). Calls time out after 30 seconds.
 */
public final class AdminClient implements AutoCloseable {

    private final EventLoopGroup group;
    private final ManagedChannel channel;
    private final Path socket;

    private AdminClient(Path socket) {
        this.socket = socket;
        this.group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        this.channel =
                NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                        .channelType(EpollDomainSocketChannel.class)
                        .eventLoopGroup(group)
                        .usePlaintext()
                        .build();
    }

    /** A client for the socket; connects lazily on the first call. */
    public static AdminClient connect(Path socket) {
        return new AdminClient(socket);
    }

    public Path socket() {
        return socket;
    }

    /** The blocking admin stub, with a 30s deadline per call. */
    public AdminServiceGrpc.AdminServiceBlockingStub admin() {
        return AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    /** grpc.health.v1 status of the server ("" service). */
    /** SPIRE's LocalAuthority API (the server's CAs and JWT keys), on the same socket. */
    public io.mithril.api.localauthority.LocalAuthorityServiceGrpc.LocalAuthorityServiceBlockingStub
            localAuthority() {
        return io.mithril.api.localauthority.LocalAuthorityServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    public HealthCheckResponse.ServingStatus health() {
        return HealthGrpc.newBlockingStub(channel)
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance())
                .getStatus();
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
