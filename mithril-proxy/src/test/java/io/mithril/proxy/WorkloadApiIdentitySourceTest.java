package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.mithril.api.workload.SpiffeWorkloadAPIGrpc;
import io.mithril.api.workload.X509SVID;
import io.mithril.api.workload.X509SVIDRequest;
import io.mithril.api.workload.X509SVIDResponse;
import io.mithril.proxy.identity.Identity;
import io.mithril.proxy.identity.WorkloadApiIdentitySource;
import io.mithril.spiffe.id.SpiffeId;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy's identity from a real Workload API stream on a Unix socket (a small server with the
 * spec's proto and security header check): it takes the SVID it was told to, and follows rotations.
 */
class WorkloadApiIdentitySourceTest {

    static X509SVID svid(Identity id) throws Exception {
        ByteArrayOutputStream chain = new ByteArrayOutputStream();
        for (X509Certificate c : id.chain()) {
            chain.write(c.getEncoded());
        }
        ByteArrayOutputStream bundle = new ByteArrayOutputStream();
        for (X509Certificate c : id.bundles().get(id.spiffeId().trustDomain())) {
            bundle.write(c.getEncoded());
        }
        return X509SVID.newBuilder()
                .setSpiffeId(id.spiffeId().toString())
                .setX509Svid(ByteString.copyFrom(chain.toByteArray()))
                .setX509SvidKey(ByteString.copyFrom(id.privateKey().getEncoded()))
                .setBundle(ByteString.copyFrom(bundle.toByteArray()))
                .build();
    }

    @Test
    void picksTheRequestedSvidAndFollowsRotationOnTheStream(@TempDir Path dir) throws Exception {
        TestPki pki = new TestPki("example.org");
        List<StreamObserver<X509SVIDResponse>> streams = new CopyOnWriteArrayList<>();
        Identity other = pki.identity("spiffe://example.org/ns/default/sa/other");
        Identity gw1 = pki.identity(MeshFixture.GATEWAY_ID);
        X509SVIDResponse first =
                X509SVIDResponse.newBuilder().addSvids(svid(other)).addSvids(svid(gw1)).build();
        SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase impl =
                new SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase() {
                    @Override
                    public void fetchX509SVID(
                            X509SVIDRequest request, StreamObserver<X509SVIDResponse> out) {
                        streams.add(out);
                        out.onNext(first);
                    }
                };
        ServerInterceptor header =
                new ServerInterceptor() {
                    @Override
                    public <Q, R> ServerCall.Listener<Q> interceptCall(
                            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                        if (!"true"
                                .equals(
                                        headers.get(
                                                Metadata.Key.of(
                                                        "workload.spiffe.io",
                                                        Metadata.ASCII_STRING_MARSHALLER)))) {
                            call.close(
                                    Status.INVALID_ARGUMENT.withDescription(
                                            "security header missing"),
                                    new Metadata());
                            return new ServerCall.Listener<>() {};
                        }
                        return next.startCall(call, headers);
                    }
                };
        Path socket = dir.resolve("api.sock");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        Server server =
                NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                        .channelType(EpollServerDomainSocketChannel.class)
                        .bossEventLoopGroup(group)
                        .workerEventLoopGroup(group)
                        .addService(ServerInterceptors.intercept(impl, header))
                        .build()
                        .start();
        try (WorkloadApiIdentitySource source =
                WorkloadApiIdentitySource.start(
                        "unix://" + socket,
                        SpiffeId.parse(MeshFixture.GATEWAY_ID),
                        Duration.ofSeconds(10))) {
            BlockingQueue<Identity> seen = new LinkedBlockingQueue<>();
            source.addListener(seen::add);
            Identity got = seen.poll(10, TimeUnit.SECONDS);
            assertThat(got.spiffeId()).isEqualTo(SpiffeId.parse(MeshFixture.GATEWAY_ID));
            assertThat(got.leaf()).isEqualTo(gw1.leaf());
            assertThat(got.chain()).hasSize(2);
            assertThat(got.bundles()).containsKey(pki.trustDomain);

            Identity gw2 = pki.identity(MeshFixture.GATEWAY_ID);
            streams.get(0)
                    .onNext(
                            X509SVIDResponse.newBuilder()
                                    .addSvids(svid(other))
                                    .addSvids(svid(gw2))
                                    .build());
            Identity rotated = seen.poll(10, TimeUnit.SECONDS);
            assertThat(rotated.leaf()).isEqualTo(gw2.leaf());
            assertThat(source.current().leaf()).isEqualTo(gw2.leaf());
        } finally {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
