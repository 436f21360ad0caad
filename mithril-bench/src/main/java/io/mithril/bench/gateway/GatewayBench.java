package io.mithril.bench.gateway;

import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchOptions;
import io.mithril.bench.BenchPki;
import io.mithril.bench.BenchReport;
import io.mithril.bench.BenchSuite;
import io.mithril.bench.ChildJvm;
import io.mithril.bench.Spread;
import io.mithril.pki.Pem;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Suite {@code gateway}: the ingress gateway terminating ISTIO_MUTUAL in front of a fixed backend,
 * beside nginx doing the same (same certificates, same backend, client certificate required), in
 * the same run, driven by {@code ab -E}: keep-alive requests/s with p50/p99 (also in the first
 * seconds after start, before the JIT has compiled the gateway), new mTLS connections/s, CPU per
 * request and resident memory. The gateway runs in a JVM of its own ({@link GatewayMain}), as an
 * operator runs it; measured runs alternate gateway and nginx. The backend is an nginx
 * {@code return 200} server block, so neither proxy waits on a slow application. Needs
 * {@code ab} (apache2-utils) and {@code nginx}.
 */
public final class GatewayBench implements BenchSuite {

    private static final int CONCURRENCY = 32;
    /** The first keep-alive run after start, reported apart: a JVM's code is not compiled yet. */
    static final Duration COLD = Duration.ofSeconds(5);
    /** The warm-up after it, at least: the gateway's JIT compilers were still busy after 10 s of load here. */
    static final Duration MIN_WARMUP = Duration.ofSeconds(15);

    @Override
    public String name() {
        return "gateway";
    }

    @Override
    public String description() {
        return "mTLS ingress gateway (ISTIO_MUTUAL, own JVM) beside nginx: keep-alive req/s, p50/p99, new mTLS connections/s, CPU per request, RSS (needs ab, nginx)";
    }

    /** What ab measured. */
    record AbResult(double rps, double p50, double p99, int failed, long completed) {
    }

    @Override
    public BenchReport run(BenchContext ctx) throws Exception {
        String ab = which("ab", "apache2-utils");
        String nginx = which("nginx", "nginx");
        Path dir = Files.createTempDirectory("mithril-bench-gateway");
        Process nginxProc = null;
        ChildJvm gateway = null;
        try {
            // Certificates: one root, one intermediate (as an identity server's), the gateway's and sleep's SVIDs.
            BenchPki pki = new BenchPki();
            BenchPki.write(pki.svid(GatewayMain.ID, List.of("app.example.org")), dir, "server");
            pki.writeRoot(dir.resolve("root.pem"));
            BenchPki.writeCombined(pki.svid("spiffe://example.org/ns/default/sa/sleep", List.of()), dir.resolve("client.pem"));

            int backendPort = freePort();
            int nginxPort = freePort();
            Files.writeString(dir.resolve("nginx.conf"), """
                    worker_processes %d;
                    pid %s/nginx.pid;
                    error_log %s/error.log warn;
                    events { worker_connections 4096; }
                    http {
                      access_log off;
                      client_body_temp_path %s/tmp;
                      upstream backend { server 127.0.0.1:%d; keepalive 64; }
                      server {
                        listen 127.0.0.1:%d;
                        location / { return 200 "productpage\\n"; }
                      }
                      server {
                        listen 127.0.0.1:%d ssl;
                        ssl_certificate %s/server.pem;
                        ssl_certificate_key %s/server.key;
                        ssl_client_certificate %s/root.pem;
                        ssl_verify_client on;
                        ssl_verify_depth 3;
                        ssl_protocols TLSv1.2 TLSv1.3;
                        location / {
                          proxy_pass http://backend;
                          proxy_http_version 1.1;
                          proxy_set_header Connection "";
                        }
                      }
                    }
                    """.formatted(ctx.machine().cores(), dir, dir, dir, backendPort, backendPort, nginxPort, dir, dir, dir));
            Files.createDirectories(dir.resolve("tmp"));
            nginxProc = new ProcessBuilder(nginx, "-p", dir.toString(), "-c", dir.resolve("nginx.conf").toString(), "-g", "daemon off;")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("nginx.out").toFile()).start();
            awaitPort(nginxPort, nginxProc, dir.resolve("nginx.out"));
            awaitPort(backendPort, nginxProc, dir.resolve("nginx.out"));

            Files.writeString(dir.resolve("gateway.yaml"), """
                    apiVersion: networking.istio.io/v1alpha3
                    kind: Gateway
                    metadata: {name: bookinfo-gateway}
                    spec:
                      selector: {istio: ingressgateway}
                      servers: [{port: {number: 8080, name: https, protocol: HTTPS}, tls: {mode: ISTIO_MUTUAL}, hosts: ["*"]}]
                    ---
                    apiVersion: networking.istio.io/v1alpha3
                    kind: VirtualService
                    metadata: {name: bookinfo-service}
                    spec:
                      hosts: ["*"]
                      gateways: [bookinfo-gateway]
                      http: [{match: [{uri: {exact: /productpage}}], route: [{destination: {host: productpage.default.svc.cluster.local, port: {number: 9080}}}]}]
                    ---
                    apiVersion: networking.istio.io/v1beta1
                    kind: ServiceEntry
                    metadata: {name: productpage}
                    spec:
                      hosts: [productpage.default.svc.cluster.local]
                      resolution: STATIC
                      ports: [{number: 9080, name: http, protocol: HTTP}]
                      endpoints: [{address: 127.0.0.1, ports: {http: %d}}]
                    """.formatted(backendPort));
            // Its own JVM, as an operator runs it: /proc then tells its memory and CPU apart from the bench's.
            gateway = ChildJvm.start("bench gateway: the Mithril gateway", GatewayMain.class, dir.resolve("gateway.log"), dir.toString());
            int gatewayPort = gateway.awaitReady(GatewayMain.READY);
            long hz = ChildJvm.clockTicksPerSecond();

            BenchOptions o = ctx.options();
            Path client = dir.resolve("client.pem");
            String[] names = {"Mithril gateway", "nginx"};
            String[] urls = {"https://127.0.0.1:" + gatewayPort + "/productpage", "https://127.0.0.1:" + nginxPort + "/productpage"};
            long nginxPid = nginxProc.pid();
            AbResult[] cold = new AbResult[2];
            Duration warmup = o.warmup().compareTo(MIN_WARMUP) < 0 ? MIN_WARMUP : o.warmup();
            for (int i = 0; i < 2; i++) {
                // A JVM compiles its hot code during its first seconds under load: the first seconds are reported apart,
                // then the warm-up runs on until the measured runs see the compiled code, as a long-running gateway would.
                ctx.progress("bench gateway: " + names[i] + " keep-alive, first " + COLD.toSeconds() + " s after start");
                cold[i] = ab(ab, client, urls[i], true, COLD);
                ctx.progress("bench gateway: " + names[i] + " warm-up " + warmup.toSeconds() + " s more");
                ab(ab, client, urls[i], true, warmup);
            }
            // Measured runs alternate gateway / nginx run by run: a change in the machine's load hits both.
            List<List<AbResult>> keepAlive = List.of(new ArrayList<>(), new ArrayList<>());
            List<List<AbResult>> fresh = List.of(new ArrayList<>(), new ArrayList<>());
            long[] ticks = new long[2];   // the server's own CPU over its keep-alive runs (nginx: master plus workers)
            long[] requests = new long[2];
            long backendTicks = 0;        // nginx's CPU during the gateway's keep-alive runs: only its backend then
            for (int r = 0; r < o.runs(); r++) {
                for (int i = 0; i < 2; i++) {
                    long own0 = i == 0 ? gateway.cpuTicks() : 0;
                    long nginx0 = treeCpuTicks(nginxPid);
                    AbResult k = ab(ab, client, urls[i], true, o.runTime());
                    long nginxUsed = treeCpuTicks(nginxPid) - nginx0;
                    if (i == 0) {
                        ticks[0] += gateway.cpuTicks() - own0;
                        backendTicks += nginxUsed;
                    } else {
                        ticks[1] += nginxUsed;
                    }
                    requests[i] += k.completed();
                    keepAlive.get(i).add(k);
                }
                ctx.progress(String.format(Locale.ROOT, "bench gateway: keep-alive run %d/%d: Mithril %.0f req/s, nginx %.0f req/s",
                        r + 1, o.runs(), keepAlive.get(0).get(r).rps(), keepAlive.get(1).get(r).rps()));
            }
            for (int r = 0; r < o.runs(); r++) {
                for (int i = 0; i < 2; i++) {
                    fresh.get(i).add(ab(ab, client, urls[i], false, o.runTime()));
                }
                ctx.progress(String.format(Locale.ROOT, "bench gateway: new-connection run %d/%d: Mithril %.0f/s, nginx %.0f/s",
                        r + 1, o.runs(), fresh.get(0).get(r).rps(), fresh.get(1).get(r).rps()));
            }
            long[] rss = {gateway.rssKb(), treeRssKb(nginxPid)};
            double usPerTick = 1e6 / hz;
            double backendUs = backendTicks * usPerTick / Math.max(1, requests[0]);
            double[] cpuUs = {ticks[0] * usPerTick / Math.max(1, requests[0]), ticks[1] * usPerTick / Math.max(1, requests[1]) - backendUs};

            BenchReport report = new BenchReport(name(), "bench gateway: mTLS ingress (ISTIO_MUTUAL) vs nginx, ab -c " + CONCURRENCY,
                    ctx.machine(), List.of("What", names[0], names[1], "Mithril / nginx"));
            rateRow(report, "keep-alive req/s", keepAlive, AbResult::rps);
            report.row(List.of("keep-alive req/s, first " + COLD.toSeconds() + " s after start", BenchReport.rate(cold[0].rps()),
                    BenchReport.rate(cold[1].rps()), BenchReport.ratio(cold[0].rps() / cold[1].rps())));
            rateRow(report, "keep-alive p50 ms", keepAlive, AbResult::p50);
            rateRow(report, "keep-alive p99 ms", keepAlive, AbResult::p99);
            rateRow(report, "new mTLS connections/s", fresh, AbResult::rps);
            report.row(List.of("keep-alive CPU µs per request", ms(cpuUs[0]), ms(cpuUs[1]), BenchReport.ratio(cpuUs[0] / cpuUs[1])));
            report.row(List.of("resident memory MB", mb(rss[0]), mb(rss[1]), BenchReport.ratio((double) rss[0] / rss[1])));
            int[] failed = new int[2];
            for (int i = 0; i < 2; i++) {
                for (AbResult a : keepAlive.get(i)) {
                    failed[i] += a.failed();
                }
                for (AbResult a : fresh.get(i)) {
                    failed[i] += a.failed();
                }
            }
            report.note("Same certificates (EC P-256 SVIDs, client certificate required), same backend (an nginx `return 200` server), "
                    + "ab -E with " + CONCURRENCY + " connections. Each server: " + COLD.toSeconds() + " s keep-alive right after start "
                    + "(the \"first " + COLD.toSeconds() + " s\" row), a " + warmup.toSeconds() + " s warm-up, then " + o.runs()
                    + " keep-alive and " + o.runs() + " new-connection runs of " + o.runTime().toSeconds() + " s, gateway and nginx "
                    + "alternating run by run: median (min-max) over the runs; the ratio is the median of the run-by-run ratios. "
                    + "ab percentiles are whole milliseconds. The gateway runs in a JVM of its "
                    + "own (GatewayMain: " + String.join(" ", ChildJvm.PROXY_JVM_OPTIONS) + ", as ./mithril runs a proxy), access log off. "
                    + "CPU is utime+stime from /proc over the keep-alive runs divided by the requests ab completed: the gateway's "
                    + "JVM; for nginx, master plus workers less the backend's share (the backend server block runs in the same "
                    + "workers; measured during the gateway's runs at " + ms(backendUs) + " µs per request). "
                    + "Memory is VmRSS after the runs, same processes. Failed requests: Mithril " + failed[0] + ", nginx " + failed[1] + ".");
            return report;
        } finally {
            if (gateway != null) {
                gateway.close();
            }
            if (nginxProc != null) {
                nginxProc.destroy();
                if (!nginxProc.waitFor(5, TimeUnit.SECONDS)) {
                    nginxProc.destroyForcibly();
                }
            }
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Median (min-max) of each server's runs, and the median of the run-by-run ratios. */
    private static void rateRow(BenchReport report, String what, List<List<AbResult>> runs, java.util.function.ToDoubleFunction<AbResult> f) {
        List<Double> a = runs.get(0).stream().map(f::applyAsDouble).toList();
        List<Double> b = runs.get(1).stream().map(f::applyAsDouble).toList();
        List<Double> ratios = new ArrayList<>();
        for (int r = 0; r < a.size(); r++) {
            // ab's percentiles are whole milliseconds: a 0 ms run compares as 1 ms.
            ratios.add(what.endsWith(" ms") ? a.get(r) / Math.max(1, b.get(r)) : a.get(r) / b.get(r));
        }
        report.row(List.of(what, Spread.of(a).format(0), Spread.of(b).format(0), BenchReport.ratio(Spread.of(ratios).median())));
    }

    private static String ms(double v) {
        return String.format(Locale.ROOT, "%.0f", v);
    }

    private static String mb(long kb) {
        return String.format(Locale.ROOT, "%.0f", kb / 1024.0);
    }

    static AbResult ab(String ab, Path clientPem, String url, boolean keepAlive, Duration length) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ab, "-q", "-r", "-c", Integer.toString(CONCURRENCY), "-t",
                Long.toString(Math.max(1, length.toSeconds())), "-n", "10000000", "-E", clientPem.toString()));
        if (keepAlive) {
            cmd.add("-k");
        }
        cmd.add(url);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(length.toSeconds() + 60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("ab did not finish: " + cmd);
        }
        double rps = number(out, "Requests per second:\\s+([0-9.]+)");
        if (Double.isNaN(rps)) {
            throw new IOException("ab failed (exit " + p.exitValue() + "): " + out.strip());
        }
        double failed = number(out, "Failed requests:\\s+([0-9]+)");
        double completed = number(out, "Complete requests:\\s+([0-9]+)");
        return new AbResult(rps, number(out, "\\n\\s+50%\\s+([0-9]+)"), number(out, "\\n\\s+99%\\s+([0-9]+)"),
                Double.isNaN(failed) ? 0 : (int) failed, Double.isNaN(completed) ? 0 : (long) completed);
    }

    private static double number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    private static String which(String tool, String pkg) throws IOException {
        for (String dir : List.of("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin")) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new IOException("bench gateway needs " + tool + ": install it (apt-get install " + pkg + ")");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void awaitPort(int port, Process proc, Path log) throws Exception {
        for (int i = 0; i < 100; i++) {
            try (java.net.Socket s = new java.net.Socket(InetAddress.getLoopbackAddress(), port)) {
                return;
            } catch (IOException e) {
                if (!proc.isAlive()) {
                    throw new IOException("nginx exited: " + Files.readString(log).strip());
                }
                Thread.sleep(50);
            }
        }
        throw new IOException("nginx did not listen on port " + port + ": " + Files.readString(log).strip());
    }

    /** VmRSS of a process and its descendants (nginx: master plus workers), in KiB. */
    static long treeRssKb(long pid) {
        long total = ChildJvm.rssKb(pid);
        for (ProcessHandle child : ProcessHandle.of(pid).map(h -> h.descendants().toList()).orElse(List.of())) {
            total += ChildJvm.rssKb(child.pid());
        }
        return total;
    }

    /** utime + stime (clock ticks) of a process and its descendants. */
    static long treeCpuTicks(long pid) throws IOException {
        long total = ChildJvm.parseStatTicks(Files.readString(Path.of("/proc/" + pid + "/stat")));
        for (ProcessHandle child : ProcessHandle.of(pid).map(h -> h.descendants().toList()).orElse(List.of())) {
            try {
                total += ChildJvm.parseStatTicks(Files.readString(Path.of("/proc/" + child.pid() + "/stat")));
            } catch (IOException e) {
                // a worker that just exited
            }
        }
        return total;
    }
}
