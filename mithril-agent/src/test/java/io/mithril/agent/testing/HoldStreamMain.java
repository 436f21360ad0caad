package io.mithril.agent.testing;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.mithril.api.workload.SpiffeWorkloadAPIGrpc;
import io.mithril.api.workload.X509SVIDRequest;
import io.mithril.api.workload.X509SVIDResponse;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;

/**
 * A workload that opens a FetchX509SVID stream on the socket given as argument, prints {@code GOT}
 * on the first answer and then holds the stream open until it is killed: what a workload that
 * crashes mid-stream looks like to the agent.
 */
public final class HoldStreamMain {
    public static void main(String[] args) throws Exception {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER), "true");
        ManagedChannel ch =
                NettyChannelBuilder.forAddress(new DomainSocketAddress(args[0]))
                        .eventLoopGroup(
                                new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory()))
                        .channelType(EpollDomainSocketChannel.class)
                        .usePlaintext()
                        .intercept(MetadataUtils.newAttachHeadersInterceptor(md))
                        .build();
        SpiffeWorkloadAPIGrpc.newStub(ch)
                .fetchX509SVID(
                        X509SVIDRequest.getDefaultInstance(),
                        new StreamObserver<>() {
                            @Override
                            public void onNext(X509SVIDResponse r) {
                                System.out.println("GOT");
                                System.out.flush();
                            }

                            @Override
                            public void onError(Throwable t) {
                                System.out.println("ERROR " + t);
                            }

                            @Override
                            public void onCompleted() {}
                        });
        Thread.sleep(Long.MAX_VALUE);
    }
}
