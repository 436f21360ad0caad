package io.mithril.server.upstream;

import com.google.protobuf.ByteString;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.mithril.api.workload.SpiffeWorkloadAPIGrpc;
import io.mithril.api.workload.X509SVID;
import io.mithril.api.workload.X509SVIDRequest;
import io.mithril.api.workload.X509SVIDResponse;
import io.mithril.pki.KeyType;
import io.mithril.server.IdentityServer;
import io.mithril.spiffe.id.SpiffeId;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A one-identity Workload API on a Unix socket, standing in for the root server's agent: it streams
 * an X509-SVID for {@code id} signed by the root server's real CA, with the root's bundle, as the
 * agent does for a workload registered with that ID. (The real agent is in another module; the
 * demo's end-to-end test runs it.)
 */
final class FakeWorkloadApi implements AutoCloseable {

    private final Server server;
    private final EventLoopGroup group;

    FakeWorkloadApi(Path socket, IdentityServer root, SpiffeId id) throws IOException {
        KeyPair key = KeyType.EC_P256.generate();
        List<X509Certificate> chain =
                root.caManager().signX509Svid(key.getPublic(), id, List.of(), Duration.ofHours(1));
        X509SVIDResponse response;
        try {
            response =
                    X509SVIDResponse.newBuilder()
                            .addSvids(
                                    X509SVID.newBuilder()
                                            .setSpiffeId(id.toString())
                                            .setX509Svid(ByteString.copyFrom(concat(chain)))
                                            .setX509SvidKey(
                                                    ByteString.copyFrom(
                                                            key.getPrivate().getEncoded()))
                                            .setBundle(
                                                    ByteString.copyFrom(
                                                            concat(
                                                                    root.bundle()
                                                                            .x509Authorities()))))
                            .build();
        } catch (CertificateEncodingException e) {
            throw new IOException(e);
        }
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        server =
                NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                        .channelType(EpollServerDomainSocketChannel.class)
                        .bossEventLoopGroup(group)
                        .workerEventLoopGroup(group)
                        .addService(
                                new SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase() {
                                    @Override
                                    public void fetchX509SVID(
                                            X509SVIDRequest request,
                                            StreamObserver<X509SVIDResponse> out) {
                                        out.onNext(response); // the stream stays open
                                    }
                                })
                        .build()
                        .start();
    }

    static byte[] concat(List<X509Certificate> certs) throws CertificateEncodingException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (X509Certificate c : certs) {
            out.writeBytes(c.getEncoded());
        }
        return out.toByteArray();
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
    }
}
