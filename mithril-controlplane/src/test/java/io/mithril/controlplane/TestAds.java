package io.mithril.controlplane;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.svid.IdentitySource;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One ADS stream as an Envoy opens it, on Envoy's generated API over real gRPC and mTLS. Either
 * driven by hand ({@link #request}, {@link #ack}, {@link #nack}), or {@link #follow following}: it
 * subscribes to CDS and LDS, then to the routes its listeners name, and answers every response by
 * itself: a NACK with the reason {@code check} gives, else an ACK.
 */
class TestAds implements AutoCloseable {

    final LinkedBlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
    final LinkedBlockingQueue<Status> errors = new LinkedBlockingQueue<>();
    final ManagedChannel channel;
    final StreamObserver<DiscoveryRequest> requests;
    final Node node;

    /** Following: type URL -> the last response ACKed. */
    final Map<String, DiscoveryResponse> applied = new ConcurrentHashMap<>();

    private volatile Function<DiscoveryResponse, String> check;
    private final TreeSet<String> routeNames = new TreeSet<>();

    /**
     * @param expectedServer the only SPIFFE ID accepted from the control plane
     */
    TestAds(int port, IdentitySource identity, SpiffeId expectedServer, Node node)
            throws IOException {
        this.node = node;
        channel =
                NettyChannelBuilder.forAddress("127.0.0.1", port)
                        .sslContext(
                                SpiffeTls.client(
                                        identity,
                                        new SpiffeTrustManager(
                                                identity.bundles(),
                                                SpiffeIdAuthorizer.exactly(expectedServer))))
                        .build();
        requests =
                AggregatedDiscoveryServiceGrpc.newStub(channel)
                        .streamAggregatedResources(
                                new StreamObserver<>() {
                                    @Override
                                    public void onNext(DiscoveryResponse r) {
                                        Function<DiscoveryResponse, String> c = check;
                                        if (c != null) {
                                            answer(r, c);
                                        }
                                        responses.add(r);
                                    }

                                    @Override
                                    public void onError(Throwable t) {
                                        errors.add(Status.fromThrowable(t));
                                    }

                                    @Override
                                    public void onCompleted() {}
                                });
    }

    /**
     * A node of Istio's form with these labels ({@code key, value, ...}) and, optionally, more
     * metadata.
     */
    static Node node(String id, Map<String, String> metadata, String... labels) {
        Struct.Builder l = Struct.newBuilder();
        for (int i = 0; i < labels.length; i += 2) {
            l.putFields(labels[i], Value.newBuilder().setStringValue(labels[i + 1]).build());
        }
        Struct.Builder meta =
                Struct.newBuilder()
                        .putFields("LABELS", Value.newBuilder().setStructValue(l).build());
        metadata.forEach((k, v) -> meta.putFields(k, Value.newBuilder().setStringValue(v).build()));
        return Node.newBuilder().setId(id).setCluster("test").setMetadata(meta).build();
    }

    /** Subscribes to CDS and LDS (wildcard) and answers every response by itself from now on. */
    TestAds follow(Function<DiscoveryResponse, String> check) {
        this.check = check;
        send(Resources.V3.CLUSTER_TYPE_URL, "", "", List.of());
        send(Resources.V3.LISTENER_TYPE_URL, "", "", List.of());
        return this;
    }

    /** Following and ACKing everything. */
    TestAds follow() {
        return follow(r -> null);
    }

    private synchronized void answer(DiscoveryResponse r, Function<DiscoveryResponse, String> c) {
        String reason = c.apply(r);
        DiscoveryResponse last = applied.get(r.getTypeUrl());
        if (reason != null) {
            nack(r, last == null ? "" : last.getVersionInfo(), reason);
            return;
        }
        applied.put(r.getTypeUrl(), r);
        send(
                r.getTypeUrl(),
                r.getVersionInfo(),
                r.getNonce(),
                r.getTypeUrl().equals(Resources.V3.ROUTE_TYPE_URL)
                        ? List.copyOf(routeNames)
                        : List.of());
        if (r.getTypeUrl().equals(Resources.V3.LISTENER_TYPE_URL)) {
            TreeSet<String> names = new TreeSet<>();
            for (Listener l : unpack(r, Listener.class)) {
                for (var chain : l.getFilterChainsList()) {
                    for (var f : chain.getFiltersList()) {
                        try {
                            HttpConnectionManager hcm =
                                    f.getTypedConfig().unpack(HttpConnectionManager.class);
                            if (hcm.hasRds()) {
                                names.add(hcm.getRds().getRouteConfigName());
                            }
                        } catch (InvalidProtocolBufferException e) {
                            throw new AssertionError(e);
                        }
                    }
                }
            }
            if (!names.equals(routeNames) && !names.isEmpty()) {
                routeNames.clear();
                routeNames.addAll(names);
                DiscoveryResponse rds = applied.get(Resources.V3.ROUTE_TYPE_URL);
                send(
                        Resources.V3.ROUTE_TYPE_URL,
                        rds == null ? "" : rds.getVersionInfo(),
                        rds == null ? "" : rds.getNonce(),
                        List.copyOf(names));
            }
        }
    }

    void send(String type, String version, String nonce, List<String> names) {
        requests.onNext(
                DiscoveryRequest.newBuilder()
                        .setNode(node)
                        .setTypeUrl(type)
                        .setVersionInfo(version)
                        .setResponseNonce(nonce)
                        .addAllResourceNames(names)
                        .build());
    }

    /** Sends a request and waits for the next response (null after 10 s). */
    DiscoveryResponse request(String type, String version, String nonce, List<String> names)
            throws InterruptedException {
        send(type, version, nonce, names);
        return responses.poll(10, TimeUnit.SECONDS);
    }

    void ack(DiscoveryResponse r) {
        send(r.getTypeUrl(), r.getVersionInfo(), r.getNonce(), List.of());
    }

    void nack(DiscoveryResponse r, String lastGood) {
        nack(r, lastGood, "cannot bind 0.0.0.0:8080");
    }

    void nack(DiscoveryResponse r, String lastGood, String why) {
        requests.onNext(
                DiscoveryRequest.newBuilder()
                        .setNode(node)
                        .setTypeUrl(r.getTypeUrl())
                        .setVersionInfo(lastGood)
                        .setResponseNonce(r.getNonce())
                        .setErrorDetail(
                                com.google.rpc.Status.newBuilder().setCode(3).setMessage(why))
                        .build());
    }

    /** The next response of {@code type} (others are skipped), or null after 10 s. */
    DiscoveryResponse next(String type) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < end) {
            DiscoveryResponse r = responses.poll(100, TimeUnit.MILLISECONDS);
            if (r != null && r.getTypeUrl().equals(type)) {
                return r;
            }
        }
        return null;
    }

    static <T extends com.google.protobuf.Message> List<T> unpack(
            DiscoveryResponse r, Class<T> type) {
        List<T> out = new ArrayList<>();
        for (var any : r.getResourcesList()) {
            try {
                out.add(any.unpack(type));
            } catch (InvalidProtocolBufferException e) {
                throw new AssertionError(e);
            }
        }
        return out;
    }

    /** Following: the names of the clusters last ACKed. */
    List<String> clusters() {
        DiscoveryResponse r = applied.get(Resources.V3.CLUSTER_TYPE_URL);
        return r == null
                ? List.of()
                : unpack(r, Cluster.class).stream().map(Cluster::getName).toList();
    }

    /** Following: the route configurations last ACKed, as text (paths, hosts). */
    String routes() {
        DiscoveryResponse r = applied.get(Resources.V3.ROUTE_TYPE_URL);
        return r == null ? "" : unpack(r, RouteConfiguration.class).toString();
    }

    /** Following: the ports of the listeners last ACKed. */
    List<Integer> listenerPorts() {
        DiscoveryResponse r = applied.get(Resources.V3.LISTENER_TYPE_URL);
        return r == null
                ? List.of()
                : unpack(r, Listener.class).stream()
                        .map(l -> l.getAddress().getSocketAddress().getPortValue())
                        .toList();
    }

    @Override
    public void close() throws InterruptedException {
        try {
            requests.onCompleted();
        } catch (RuntimeException ignored) {
            // already closed
        }
        channel.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
    }
}
