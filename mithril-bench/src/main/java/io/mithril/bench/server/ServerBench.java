package io.mithril.bench.server;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.mithril.api.admin.BatchCreateEntryRequest;
import io.mithril.api.agent.AgentServiceGrpc;
import io.mithril.api.agent.AttestAgentRequest;
import io.mithril.api.agent.AttestAgentResponse;
import io.mithril.api.agent.AttestationData;
import io.mithril.api.agent.BatchNewX509SVIDRequest;
import io.mithril.api.agent.BatchNewX509SVIDResponse;
import io.mithril.api.agent.GetAuthorizedEntriesRequest;
import io.mithril.api.agent.NewX509SVIDParams;
import io.mithril.api.types.Entry;
import io.mithril.api.types.Selector;
import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchReport;
import io.mithril.bench.BenchSuite;
import io.mithril.bench.OpensslSpeed;
import io.mithril.bench.Throughput;
import io.mithril.pki.Certificates;
import io.mithril.pki.Csr;
import io.mithril.pki.KeyType;
import io.mithril.server.IdentityServer;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * {@code mithril bench server}: the identity server measured through its real APIs on this machine:
 * X.509-SVIDs signed per second through the agent API (batches of CSRs over mTLS), beside the
 * in-process signing rate and {@code openssl speed ecdsap256} in the same run; registration entries
 * created per second through the admin API; and the time to compute the authorised entries of an
 * agent that has 10,000 and then 100,000 entries.
 */
public final class ServerBench implements BenchSuite {

    static final TrustDomain TD = TrustDomain.parse("example.org");
    static final int BATCH = 50;
    static final int ENTRIES = 10_000;
    static final int LARGE = 100_000;

    @Override
    public String name() {
        return "server";
    }

    @Override
    public String description() {
        return "identity server: SVIDs/s through the agent API (mTLS, batches), entries/s, authorised entries for 10k and 100k entries";
    }

    @Override
    public BenchReport run(BenchContext ctx) throws Exception {
        Path dir = Files.createTempDirectory("mithril-bench-server");
        BenchReport report =
                new BenchReport(
                        "server",
                        "bench server: the identity server through its real APIs",
                        ctx.machine(),
                        List.of("what", "how", "rate", "unit", "min..max"),
                        2);
        ServerConfig cfg =
                ServerConfig.builder(TD, dir)
                        .bindAddress("127.0.0.1")
                        .bindPort(0)
                        .socketPath(dir.resolve("private/api.sock"))
                        .keyManager(ServerConfig.KeyManagerConfig.memory())
                        .rotationCheckInterval(Duration.ofHours(1))
                        .build();
        try (IdentityServer server = IdentityServer.start(cfg);
                AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
            SpiffeId node = TD.spiffeId("/bench/node");
            String token = server.generateJoinToken(null, node);
            RegistrationEntry workload =
                    server.createEntry(
                            RegistrationEntry.of(
                                    TD.spiffeId("/bench/workload"),
                                    node,
                                    List.of(
                                            io.mithril.api.selector.Selector.parse(
                                                    "unix:uid:1000"))));
            try (Client client = Client.attest(server, token)) {
                // SVIDs through the agent API, batches of CSRs, 1 and 2 client threads
                List<ByteString> csrs = new ArrayList<>();
                for (int i = 0; i < BATCH; i++) {
                    csrs.add(
                            ByteString.copyFrom(
                                    Csr.create(
                                            KeyType.EC_P256.generate(),
                                            workload.spiffeId(),
                                            List.of())));
                }
                BatchNewX509SVIDRequest.Builder req = BatchNewX509SVIDRequest.newBuilder();
                csrs.forEach(
                        c ->
                                req.addParams(
                                        NewX509SVIDParams.newBuilder()
                                                .setEntryId(workload.id())
                                                .setCsr(c)));
                BatchNewX509SVIDRequest batch = req.build();
                for (int threads : new int[] {1, 2}) {
                    ctx.progress(
                            "bench server: agent API BatchNewX509SVID, " + threads + " thread(s)");
                    Throughput.Stats s =
                            ctx.measure(
                                    threads,
                                    t ->
                                            () -> {
                                                BatchNewX509SVIDResponse r =
                                                        client.stub().batchNewX509SVID(batch);
                                                if (r.getResults(BATCH - 1).getStatus().getCode()
                                                        != 0) {
                                                    throw new IllegalStateException(
                                                            r.getResults(BATCH - 1)
                                                                    .getStatus()
                                                                    .getMessage());
                                                }
                                            });
                    row(
                            report,
                            "X.509-SVIDs via agent API",
                            "mTLS gRPC, batches of "
                                    + BATCH
                                    + " CSRs, "
                                    + threads
                                    + " client thread(s)",
                            s,
                            BATCH,
                            "SVIDs/s");
                }
                // the same signing in-process (no TLS, no gRPC, no CSR parsing)
                KeyPair kp = KeyType.EC_P256.generate();
                ctx.progress("bench server: in-process CA signing");
                Throughput.Stats raw =
                        ctx.measure(
                                1,
                                t ->
                                        () ->
                                                server.caManager()
                                                        .signX509Svid(
                                                                kp.getPublic(),
                                                                workload.spiffeId(),
                                                                List.of(),
                                                                Duration.ofHours(1)));
                row(
                        report,
                        "X.509-SVIDs in-process",
                        "CaManager.signX509Svid, 1 thread ("
                                + KeyType.fromConfig(cfg.caKeyType())
                                + " CA)",
                        raw,
                        1,
                        "SVIDs/s");
                if (OpensslSpeed.version().isPresent()) {
                    ctx.progress("bench server: openssl speed ecdsap256");
                    OpensslSpeed.Result o =
                            OpensslSpeed.ecdsaP256(ctx.options().opensslSeconds(), 1);
                    report.row(
                            List.of(
                                    "ECDSA P-256 signs",
                                    OpensslSpeed.version().get() + ", 1 process",
                                    BenchReport.rate(o.signsPerSecond()),
                                    "signs/s",
                                    "single run"));
                } else {
                    report.row(
                            List.of(
                                    "ECDSA P-256 signs",
                                    "openssl not installed",
                                    "n/a",
                                    "signs/s",
                                    "n/a"));
                }

                // entries through the admin API, batches of 500, until the agent has 10k, then 100k
                ctx.progress(
                        "bench server: creating " + ENTRIES + " entries through the admin API");
                long start = System.nanoTime();
                createEntries(ctx, admin, node, 0, ENTRIES);
                double perSecond = ENTRIES / ((System.nanoTime() - start) / 1e9);
                report.row(
                        List.of(
                                "entries created",
                                "admin API over the Unix socket, batches of 500, SQLite",
                                BenchReport.rate(perSecond),
                                "entries/s",
                                "single run"));
                authorised(ctx, report, client, ENTRIES, "10k");

                ctx.progress(
                        "bench server: creating "
                                + (LARGE - ENTRIES)
                                + " more entries (to "
                                + LARGE
                                + ") through the admin API");
                createEntries(ctx, admin, node, ENTRIES, LARGE);
                authorised(ctx, report, client, LARGE, "100k");
            }
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        report.note(
                "The agent API rate includes TLS, gRPC, CSR verification and authorisation (each entry's parents walked in the server's"
                        + " in-memory index); the in-process rate is the CA's signing alone; openssl is the native ECDSA P-256 sign rate of one core."
                        + " GetAuthorizedEntries answers from the server's in-memory authorised-entries index; the time includes building, sending"
                        + " (TLS) and parsing the response, about 1.3 MB for 10k entries and 13 MB for 100k, with client and server in one JVM.");
        // The same run, beside SPIRE's server and agent (the Go harness of interop/go/).
        io.mithril.bench.spire.SpireServerRows.add(ctx, report);
        return report;
    }

    /**
     * Creates entries {@code from..to-1} parented by {@code node}, 500 per admin API batch, with a
     * progress line every 10k.
     */
    private static void createEntries(
            BenchContext ctx, AdminClient admin, SpiffeId node, int from, int to) {
        for (int b = from / 500; b < to / 500; b++) {
            BatchCreateEntryRequest.Builder create = BatchCreateEntryRequest.newBuilder();
            for (int i = 0; i < 500; i++) {
                create.addEntries(
                        Entry.newBuilder()
                                .setSpiffeId(TD.idString() + "/bench/w" + b + "-" + i)
                                .setParentId(node.toString())
                                .addSelectors(
                                        Selector.newBuilder()
                                                .setType("unix")
                                                .setValue("uid:" + i)));
            }
            admin.admin().batchCreateEntry(create.build());
            int done = (b + 1) * 500;
            if (done % 10_000 == 0 && done > from) {
                ctx.progress("bench server:   " + done + " / " + to + " entries");
            }
        }
    }

    /** Measures GetAuthorizedEntries for the agent, which has {@code entries} (+2) entries. */
    private static void authorised(
            BenchContext ctx, BenchReport report, Client client, int entries, String label)
            throws Exception {
        ctx.progress("bench server: GetAuthorizedEntries with " + (entries + 2) + " entries");
        Throughput.Stats auth =
                ctx.measure(
                        1,
                        t ->
                                () -> {
                                    if (client.stub()
                                                    .getAuthorizedEntries(
                                                            GetAuthorizedEntriesRequest
                                                                    .getDefaultInstance())
                                                    .getEntriesCount()
                                            < entries) {
                                        throw new IllegalStateException(
                                                "authorised entries missing");
                                    }
                                });
        report.row(
                List.of(
                        "authorised entries of an agent with " + label + " entries",
                        "GetAuthorizedEntries over mTLS, 1 thread",
                        String.format(java.util.Locale.ROOT, "%.1f", 1000 / auth.median()),
                        "ms per call",
                        String.format(
                                java.util.Locale.ROOT,
                                "%.1f..%.1f",
                                1000 / auth.max(),
                                1000 / auth.min())));
    }

    private static void row(
            BenchReport report,
            String what,
            String how,
            Throughput.Stats s,
            int perOp,
            String unit) {
        report.row(
                List.of(
                        what,
                        how,
                        BenchReport.rate(s.median() * perOp),
                        unit,
                        BenchReport.rate(s.min() * perOp)
                                + ".."
                                + BenchReport.rate(s.max() * perOp)));
    }

    /** A minimal agent: attests with a join token, then calls over mTLS with its agent SVID. */
    static final class Client implements AutoCloseable {
        private final ManagedChannel channel;

        private Client(ManagedChannel channel) {
            this.channel = channel;
        }

        AgentServiceGrpc.AgentServiceBlockingStub stub() {
            return AgentServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(60, TimeUnit.SECONDS);
        }

        static Client attest(IdentityServer server, String token) throws Exception {
            // Trusts the server's bundle and requires its SPIFFE ID.
            X509ExtendedTrustManager trust =
                    new SpiffeTrustManager(
                            td -> server.bundle().x509Bundle(),
                            SpiffeIdAuthorizer.exactly(server.serverId()));
            ManagedChannel anon =
                    NettyChannelBuilder.forAddress(server.agentApiAddress())
                            .sslContext(GrpcSslContexts.forClient().trustManager(trust).build())
                            .build();
            KeyPair key = KeyType.EC_P256.generate();
            CompletableFuture<AttestAgentResponse.Result> result = new CompletableFuture<>();
            try {
                StreamObserver<AttestAgentRequest> req =
                        AgentServiceGrpc.newStub(anon)
                                .attestAgent(
                                        new StreamObserver<>() {
                                            @Override
                                            public void onNext(AttestAgentResponse r) {
                                                result.complete(r.getResult());
                                            }

                                            @Override
                                            public void onError(Throwable t) {
                                                result.completeExceptionally(t);
                                            }

                                            @Override
                                            public void onCompleted() {}
                                        });
                req.onNext(
                        AttestAgentRequest.newBuilder()
                                .setParams(
                                        AttestAgentRequest.Params.newBuilder()
                                                .setData(
                                                        AttestationData.newBuilder()
                                                                .setType("join_token")
                                                                .setPayload(
                                                                        ByteString.copyFromUtf8(
                                                                                token)))
                                                .setCsr(
                                                        ByteString.copyFrom(
                                                                Csr.create(key, null, List.of()))))
                                .build());
                AttestAgentResponse.Result r = result.get(30, TimeUnit.SECONDS);
                req.onCompleted();
                List<X509Certificate> chain = new ArrayList<>();
                r.getSvid()
                        .getCertChainList()
                        .forEach(b -> chain.addAll(Certificates.parseDer(b.toByteArray())));
                // 100k entries make a response of about 12 MB, over gRPC's default 4 MiB inbound
                // limit.
                return new Client(
                        NettyChannelBuilder.forAddress(server.agentApiAddress())
                                .maxInboundMessageSize(64 << 20)
                                .sslContext(
                                        GrpcSslContexts.forClient()
                                                .trustManager(trust)
                                                .keyManager(
                                                        key.getPrivate(),
                                                        chain.toArray(new X509Certificate[0]))
                                                .build())
                                .build());
            } finally {
                anon.shutdownNow();
            }
        }

        @Override
        public void close() throws InterruptedException {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
