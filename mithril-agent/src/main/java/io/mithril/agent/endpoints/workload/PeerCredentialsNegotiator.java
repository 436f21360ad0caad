package io.mithril.agent.endpoints.workload;

import io.grpc.Attributes;
import io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.ProtocolNegotiationEvent;
import io.mithril.agent.attestor.workload.Caller;
import io.mithril.agent.attestor.workload.unix.ProcessInfo;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;
import io.netty.util.AsciiString;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plaintext gRPC negotiation for the Workload API's Unix socket that, as each connection becomes
 * active, asks the kernel who is on the other end ({@code SO_PEERCRED}) and records it, with the
 * process start time, as the transport attribute {@link #CALLER}. Every call on that connection
 * then carries it ({@code ServerCall.getAttributes()}), and nothing the client sends can change it.
 */
final class PeerCredentialsNegotiator implements InternalProtocolNegotiator.ProtocolNegotiator {

    private static final Logger log = LoggerFactory.getLogger(PeerCredentialsNegotiator.class);

    /** The kernel-reported caller of a connection. */
    static final Attributes.Key<Caller> CALLER = Attributes.Key.create("mithril.workload.caller");

    private final InternalProtocolNegotiator.ProtocolNegotiator plaintext =
            InternalProtocolNegotiators.serverPlaintext();
    private final Path proc;
    private final ConnectionLimiter limiter;

    PeerCredentialsNegotiator(Path proc, ConnectionLimiter limiter) {
        this.proc = proc;
        this.limiter = limiter;
    }

    @Override
    public AsciiString scheme() {
        return plaintext.scheme();
    }

    @Override
    public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
        ChannelHandler recordCaller =
                new ChannelInboundHandlerAdapter() {
                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt)
                            throws Exception {
                        if (evt instanceof ProtocolNegotiationEvent pne) {
                            Attributes attrs = InternalProtocolNegotiationEvent.getAttributes(pne);
                            Caller caller = callerOf(ctx);
                            if (!limiter.admit(ctx.channel(), caller == null ? -1 : caller.uid())) {
                                ctx.close();
                                return;
                            }
                            if (caller != null) {
                                attrs = attrs.toBuilder().set(CALLER, caller).build();
                            }
                            ctx.pipeline()
                                    .replace(
                                            ctx.name(),
                                            null,
                                            InternalProtocolNegotiators.grpcNegotiationHandler(
                                                    grpcHandler));
                            ctx.fireUserEventTriggered(
                                    InternalProtocolNegotiationEvent.withAttributes(pne, attrs));
                            return;
                        }
                        super.userEventTriggered(ctx, evt);
                    }
                };
        return InternalProtocolNegotiators.waitUntilActiveHandler(
                recordCaller, grpcHandler.getNegotiationLogger());
    }

    private Caller callerOf(ChannelHandlerContext ctx) {
        if (!(ctx.channel() instanceof EpollDomainSocketChannel ch)) {
            return null;
        }
        try {
            PeerCredentials pc = ch.peerCredentials();
            long start = ProcessInfo.startTime(proc, pc.pid());
            return new Caller(pc.pid(), pc.uid(), pc.gids().length > 0 ? pc.gids()[0] : -1, start);
        } catch (Exception e) {
            log.warn(
                    "cannot read the peer credentials of a Workload API connection: {}",
                    e.toString());
            return null;
        }
    }

    @Override
    public void close() {
        plaintext.close();
    }
}
