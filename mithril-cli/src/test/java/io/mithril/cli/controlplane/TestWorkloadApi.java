package io.mithril.cli.controlplane;

import com.google.protobuf.ByteString;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.mithril.api.workload.SpiffeWorkloadAPIGrpc;
import io.mithril.api.workload.X509SVID;
import io.mithril.api.workload.X509SVIDRequest;
import io.mithril.api.workload.X509SVIDResponse;
import io.mithril.pki.KeyType;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A one-identity SPIFFE Workload API on {@code tcp://127.0.0.1:port} for process tests: it streams
 * one X509-SVID (minted here with the pki module) and its trust domain's bundle, as an agent would
 * to a workload registered with that SPIFFE ID.
 */
public final class TestWorkloadApi implements AutoCloseable {

    /** A trust domain's root CA. */
    public static final class Ca {
        public final TrustDomain trustDomain;
        public final X509Certificate root;
        public final SigningAuthority authority;
        public final X509Minter minter = new X509Minter(Clock.systemUTC());

        public Ca(String td) {
            trustDomain = TrustDomain.parse(td);
            KeyPair key = KeyType.EC_P256.generate();
            root = minter.selfSignedCa(key, trustDomain, Duration.ofHours(2), null);
            authority = SigningAuthority.of(root, key.getPrivate());
        }
    }

    private final Server server;

    public TestWorkloadApi(Ca ca, SpiffeId id) throws IOException {
        KeyPair key = KeyType.EC_P256.generate();
        X509Certificate leaf =
                ca.minter.signX509Svid(
                        ca.authority, key.getPublic(), id, List.of(), Duration.ofHours(1));
        X509SVIDResponse response;
        try {
            response =
                    X509SVIDResponse.newBuilder()
                            .addSvids(
                                    X509SVID.newBuilder()
                                            .setSpiffeId(id.toString())
                                            .setX509Svid(ByteString.copyFrom(leaf.getEncoded()))
                                            .setX509SvidKey(
                                                    ByteString.copyFrom(
                                                            key.getPrivate().getEncoded()))
                                            .setBundle(ByteString.copyFrom(ca.root.getEncoded())))
                            .build();
        } catch (CertificateEncodingException e) {
            throw new IOException(e);
        }
        server =
                NettyServerBuilder.forAddress(
                                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                        .addService(
                                new SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase() {
                                    @Override
                                    public void fetchX509SVID(
                                            X509SVIDRequest request,
                                            StreamObserver<X509SVIDResponse> out) {
                                        out.onNext(response); // and the stream stays open, as an
                                        // agent's does
                                    }
                                })
                        .build()
                        .start();
    }

    public String address() {
        return "tcp://127.0.0.1:"
                + ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
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
    }
}
