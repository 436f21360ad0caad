package io.mithril.bench.sidecar;

import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchOptions;
import io.mithril.bench.BenchPki;
import io.mithril.bench.BenchReport;
import io.mithril.bench.BenchSuite;
import io.mithril.bench.ChildJvm;
import io.mithril.bench.Latencies;
import io.mithril.bench.Spread;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

/**
 * Suite {@code sidecar}: the latency a client sidecar plus a server sidecar (mTLS between them,
 * ISTIO_MUTUAL per DestinationRule) add over a direct call to the same backend, p50/p90/p99 at a
 * fixed {@value #RATE} req/s, and the CPU and memory of each sidecar, each sidecar in a JVM of its
 * own ({@link SidecarMain}) so /proc tells its cost apart. Istio's published figures for the same
 * two hops at the same rate are printed beside ours.
 */
public final class SidecarBench implements BenchSuite {

    static final int RATE = 1000;
    static final int CONNECTIONS = 4;

    /** One run at least this long: at 1,000 req/s a 1 s run has too few samples for a p99. */
    static final Duration MIN_RUN = Duration.ofSeconds(5);

    static final String CLIENT_ID = "spiffe://example.org/ns/default/sa/sleep";
    static final String SERVER_ID = "spiffe://example.org/ns/default/sa/bookinfo-details";
    static final String HOST = "details.default.svc.cluster.local:9080";

    @Override
    public String name() {
        return "sidecar";
    }

    @Override
    public String description() {
        return "latency added by client + server sidecar (mTLS) over a direct call at "
                + RATE
                + " req/s, p50/p90/p99, CPU and memory per sidecar, beside Istio's published figures";
    }

    static String ids(String role) {
        return role.equals("server") ? SERVER_ID : CLIENT_ID;
    }

    @Override
    public BenchReport run(BenchContext ctx) throws Exception {
        Path dir = Files.createTempDirectory("mithril-bench-sidecar");
        TinyBackend backend = null;
        List<ChildJvm> children = new ArrayList<>();
        try {
            writePki(dir);
            backend = new TinyBackend();
            int backendPort = backend.port();

            Files.writeString(dir.resolve("server.yaml"), DESTINATION_RULE);
            ChildJvm server = startSidecar(dir, "server", backendPort, children);
            int serverPort = server.awaitReady(SidecarMain.READY);
            Files.writeString(
                    dir.resolve("client.yaml"),
                    DESTINATION_RULE + "---\n" + SERVICE_ENTRY.formatted(serverPort));
            ChildJvm client = startSidecar(dir, "client", serverPort, children);
            int clientPort = client.awaitReady(SidecarMain.READY);
            long hz = ChildJvm.clockTicksPerSecond();

            BenchOptions o = ctx.options();
            Duration runLength = o.runTime().compareTo(MIN_RUN) < 0 ? MIN_RUN : o.runTime();
            InetSocketAddress direct =
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), backendPort);
            InetSocketAddress mesh =
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), clientPort);
            String meshTarget = "http://" + HOST + "/details/0";
            Duration warmup =
                    o.warmup().compareTo(Duration.ofSeconds(5)) < 0
                            ? Duration.ofSeconds(5)
                            : o.warmup();
            ctx.progress(
                    "bench sidecar: warm-up "
                            + warmup.toSeconds()
                            + " s per path (JIT of both sidecars)");
            FixedRateLoad.run(
                    direct, "/details/0", "127.0.0.1:" + backendPort, RATE, CONNECTIONS, warmup);
            FixedRateLoad.run(mesh, meshTarget, HOST, RATE, CONNECTIONS, warmup);
            if (backend.requestsWithXfcc() == 0) {
                throw new IOException(
                        "bench sidecar: no request reached the backend through the sidecars with an x-forwarded-client-cert: "
                                + "the path is not mTLS; see "
                                + dir.resolve("client.log")
                                + " and "
                                + dir.resolve("server.log"));
            }

            List<FixedRateLoad.Result> directRuns = new ArrayList<>();
            List<FixedRateLoad.Result> meshRuns = new ArrayList<>();
            List<Double> clientCpu = new ArrayList<>();
            List<Double> serverCpu = new ArrayList<>();
            int errors = 0;
            for (int r = 0; r < o.runs(); r++) {
                // Direct and through the sidecars alternate run by run: a change in the machine's
                // load hits both.
                FixedRateLoad.Result d =
                        FixedRateLoad.run(
                                direct,
                                "/details/0",
                                "127.0.0.1:" + backendPort,
                                RATE,
                                CONNECTIONS,
                                runLength);
                long c0 = client.cpuTicks();
                long s0 = server.cpuTicks();
                long t0 = System.nanoTime();
                FixedRateLoad.Result m =
                        FixedRateLoad.run(mesh, meshTarget, HOST, RATE, CONNECTIONS, runLength);
                double wall = (System.nanoTime() - t0) / 1e9;
                // vCPU used, per 1,000 req/s actually delivered.
                clientCpu.add(
                        (client.cpuTicks() - c0) / (double) hz / wall / (m.achievedRate() / 1000));
                serverCpu.add(
                        (server.cpuTicks() - s0) / (double) hz / wall / (m.achievedRate() / 1000));
                directRuns.add(d);
                meshRuns.add(m);
                errors += d.errors() + m.errors();
                ctx.progress(
                        String.format(
                                Locale.ROOT,
                                "bench sidecar: run %d/%d: direct p50 %s p99 %s ms; through sidecars p50 %s p99 %s ms",
                                r + 1,
                                o.runs(),
                                Latencies.ms(d.latencies().p50()),
                                Latencies.ms(d.latencies().p99()),
                                Latencies.ms(m.latencies().p50()),
                                Latencies.ms(m.latencies().p99())));
            }
            long clientRss = client.rssKb();
            long serverRss = server.rssKb();

            BenchReport report =
                    new BenchReport(
                            name(),
                            "bench sidecar: client + server sidecar (mTLS) at "
                                    + RATE
                                    + " req/s, vs a direct call",
                            ctx.machine(),
                            List.of(
                                    "What",
                                    "direct",
                                    "through 2 sidecars",
                                    "added by the sidecars",
                                    "Istio published (added)"));
            addRow(report, "p50 ms", directRuns, meshRuns, Latencies::p50, "-");
            addRow(report, "p90 ms", directRuns, meshRuns, Latencies::p90, "~0.23");
            addRow(report, "p99 ms", directRuns, meshRuns, Latencies::p99, "~0.30");
            report.row(
                    List.of(
                            "achieved req/s",
                            Spread.of(
                                            directRuns.stream()
                                                    .map(FixedRateLoad.Result::achievedRate)
                                                    .toList())
                                    .format(0),
                            Spread.of(
                                            meshRuns.stream()
                                                    .map(FixedRateLoad.Result::achievedRate)
                                                    .toList())
                                    .format(0),
                            "-",
                            "-"));
            report.row(
                    List.of(
                            "client sidecar vCPU per 1,000 req/s",
                            "-",
                            Spread.of(clientCpu).format(3),
                            "-",
                            "0.20-0.5"));
            report.row(
                    List.of(
                            "server sidecar vCPU per 1,000 req/s",
                            "-",
                            Spread.of(serverCpu).format(3),
                            "-",
                            "0.20-0.5"));
            report.row(List.of("client sidecar resident MB", "-", mb(clientRss), "-", "50-60"));
            report.row(List.of("server sidecar resident MB", "-", mb(serverRss), "-", "50-60"));
            report.note(
                    "Load client: a small HTTP/1.1 keep-alive client inside the bench (FixedRateLoad; no Debian tool holds a fixed rate "
                            + "and reports sub-millisecond p90/p99), "
                            + RATE
                            + " req/s over "
                            + CONNECTIONS
                            + " connections, latency measured from "
                            + "when each request was due (no coordinated omission). "
                            + o.runs()
                            + " runs of "
                            + runLength.toSeconds()
                            + " s per path after a "
                            + warmup.toSeconds()
                            + " s warm-up, direct and sidecar runs alternating; "
                            + "median (min-max) over the runs; \"added\" is the sidecar run's percentile minus the direct run's, run by run.");
            report.note(
                    "Path: load client -> client sidecar's outbound HTTP proxy -> mTLS (ISTIO_MUTUAL, EC P-256 SVIDs) -> server "
                            + "sidecar's inbound -> backend (TinyBackend: a fixed 200 answer, thread per connection, in the bench JVM); direct: load client -> the same backend. "
                            + "Each sidecar is an io.mithril.proxy.Proxy in a JVM of its own ("
                            + String.join(" ", ChildJvm.PROXY_JVM_OPTIONS)
                            + ", as ./mithril runs a proxy), "
                            + "access log off, identity from SVID files minted by the bench (not the Workload API). CPU is utime+stime from "
                            + "/proc/<pid>/stat over each sidecar run; resident memory is VmRSS after the runs (whole JVM). Failed requests: "
                            + errors
                            + ".");
            report.note(
                    "Istio figures: istio.io performance and scalability page (Envoy sidecars, 1,000 req/s, client + server proxy; "
                            + "CPU and 50-60 MB per sidecar), measured on other hardware. This machine is shared with other engineers' "
                            + "builds and tests: figures are noisy.");
            return report;
        } finally {
            for (ChildJvm p : children) {
                p.close();
            }
            if (backend != null) {
                backend.close();
            }
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void addRow(
            BenchReport report,
            String what,
            List<FixedRateLoad.Result> direct,
            List<FixedRateLoad.Result> mesh,
            ToDoubleFunction<Latencies> f,
            String istio) {
        List<Double> d = direct.stream().map(r -> f.applyAsDouble(r.latencies())).toList();
        List<Double> m = mesh.stream().map(r -> f.applyAsDouble(r.latencies())).toList();
        List<Double> added = new ArrayList<>();
        for (int i = 0; i < d.size(); i++) {
            added.add(m.get(i) - d.get(i));
        }
        report.row(
                List.of(
                        what,
                        Spread.of(d).format(3),
                        Spread.of(m).format(3),
                        Spread.of(added).format(3),
                        istio));
    }

    static final String DESTINATION_RULE =
            """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: default, namespace: istio-system}
            spec: {host: "*.svc.cluster.local", trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
            """;

    static final String SERVICE_ENTRY =
            """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: details, namespace: default}
            spec:
              hosts: [details.default.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 9080, name: http, protocol: HTTP}]
              workloadSelector: {labels: {app: details}}
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: details-v1, namespace: default}
            spec: {address: 127.0.0.1, ports: {http: %d}, labels: {app: details}, serviceAccount: bookinfo-details}
            """;

    private static void writePki(Path dir) {
        BenchPki pki = new BenchPki();
        pki.writeRoot(dir.resolve("root.pem"));
        for (String role : List.of("client", "server")) {
            BenchPki.write(pki.svid(ids(role), List.of()), dir, role);
        }
    }

    private static ChildJvm startSidecar(Path dir, String role, int port, List<ChildJvm> children)
            throws IOException {
        ChildJvm p =
                ChildJvm.start(
                        "bench sidecar: the " + role + " sidecar",
                        SidecarMain.class,
                        dir.resolve(role + ".log"),
                        role,
                        dir.toString(),
                        Integer.toString(port));
        children.add(p);
        return p;
    }

    private static String mb(long kb) {
        return String.format(Locale.ROOT, "%.0f", kb / 1024.0);
    }
}
