package io.mithril.bench.gateway;

import io.mithril.bench.BenchContext;
import io.mithril.bench.BenchOptions;
import io.mithril.bench.BenchPki;
import io.mithril.bench.BenchReport;
import io.mithril.bench.BenchSuite;
import io.mithril.bench.ChildJvm;
import io.mithril.bench.Spread;
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
 * operator runs it; measured runs alternate gateway and nginx. The backend is an nginx {@code
 * return 200} server block, so no proxy waits on a slow application. HAProxy (Debian's {@code
 * haproxy}) is a second peer when installed, configured as nginx is. Needs {@code ab}
 * (apache2-utils) and {@code nginx}.
 */
public final class GatewayBench implements BenchSuite {

    private static final int CONCURRENCY = 32;

    /** The first keep-alive run after start, reported apart: a JVM's code is not compiled yet. */
    static final Duration COLD = Duration.ofSeconds(5);

    /**
     * The warm-up after it, at least: the gateway's JIT compilers were still busy after 10 s of
     * load here.
     */
    static final Duration MIN_WARMUP = Duration.ofSeconds(15);

    @Override
    public String name() {
        return "gateway";
    }

    @Override
    public String description() {
        return "mTLS ingress gateway (ISTIO_MUTUAL, own JVM) beside nginx and HAProxy: keep-alive req/s, p50/p99, new mTLS connections/s, CPU per request, RSS (needs ab, nginx)";
    }

    /** What ab measured. */
    record AbResult(double rps, double p50, double p99, int failed, long completed) {}

    @Override
    public BenchReport run(BenchContext ctx) throws Exception {
        String ab = which("ab", "apache2-utils");
        String nginx = which("nginx", "nginx");
        String haproxy = find("haproxy");
        Path dir = Files.createTempDirectory("mithril-bench-gateway");
        // The streaming rows' 1 GiB file, where nginx's workers (nobody) can read it; dir itself is
        // private.
        Path bigDir =
                Files.createTempDirectory(
                        "mithril-bench-stream",
                        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                                java.nio.file.attribute.PosixFilePermissions.fromString(
                                        "rwxr-xr-x")));
        Process nginxProc = null;
        Process haproxyProc = null;
        com.sun.net.httpserver.HttpServer sink = null;
        ChildJvm gateway = null;
        try {
            // Certificates: one root, one intermediate (as an identity server's), the gateway's and
            // sleep's SVIDs.
            BenchPki pki = new BenchPki();
            BenchPki.Svid serverSvid = pki.svid(GatewayMain.ID, List.of("app.example.org"));
            BenchPki.write(serverSvid, dir, "server");
            BenchPki.writeCombined(serverSvid, dir.resolve("haproxy.pem"));
            pki.writeRoot(dir.resolve("root.pem"));
            BenchPki.writeCombined(
                    pki.svid("spiffe://example.org/ns/default/sa/sleep", List.of()),
                    dir.resolve("client.pem"));

            int backendPort = freePort();
            // Uploads go to a sink that reads the whole body before it answers (nginx's return
            // would answer first).
            sink = sink();
            int sinkPort = sink.getAddress().getPort();
            int nginxPort = freePort();
            Files.writeString(
                    dir.resolve("nginx.conf"),
                    """
                    worker_processes %d;
                    pid %s/nginx.pid;
                    error_log %s/error.log warn;
                    events { worker_connections 4096; }
                    http {
                      access_log off;
                      client_max_body_size 0;
                      client_body_temp_path %s/tmp;
                      upstream backend { server 127.0.0.1:%d; keepalive 64; }
                      server {
                        listen 127.0.0.1:%d;
                        location / { return 200 "productpage\\n"; }
                        location = /big { alias %s/big.bin; }
                      }
                      server {
                        listen 127.0.0.1:%d ssl;
                        ssl_certificate %s/server.pem;
                        ssl_certificate_key %s/server.key;
                        ssl_client_certificate %s/root.pem;
                        ssl_verify_client on;
                        ssl_verify_depth 3;
                        ssl_protocols TLSv1.2 TLSv1.3;
                        location = /sink {
                          proxy_pass http://127.0.0.1:%d;
                          proxy_http_version 1.1;
                          proxy_request_buffering off;
                        }
                        location / {
                          proxy_pass http://backend;
                          proxy_http_version 1.1;
                          proxy_set_header Connection "";
                        }
                      }
                    }
                    """
                            .formatted(
                                    ctx.machine().cores(),
                                    dir,
                                    dir,
                                    dir,
                                    backendPort,
                                    backendPort,
                                    bigDir,
                                    nginxPort,
                                    dir,
                                    dir,
                                    dir,
                                    sinkPort));
            Files.createDirectories(dir.resolve("tmp"));
            nginxProc =
                    new ProcessBuilder(
                                    nginx,
                                    "-p",
                                    dir.toString(),
                                    "-c",
                                    dir.resolve("nginx.conf").toString(),
                                    "-g",
                                    "daemon off;")
                            .redirectErrorStream(true)
                            .redirectOutput(dir.resolve("nginx.out").toFile())
                            .start();
            awaitPort(nginxPort, nginxProc, dir.resolve("nginx.out"));
            awaitPort(backendPort, nginxProc, dir.resolve("nginx.out"));
            int haproxyPort = 0;
            if (haproxy == null) {
                ctx.progress(
                        "bench gateway: HAProxy not installed (apt-get install haproxy): its column is left out");
            } else {
                haproxyPort = freePort();
                // The same termination as nginx's: TLS 1.2+, the same SVID, a client certificate
                // required and
                // verified against the same root, plain HTTP/1.1 with keep-alive to the same
                // backend.
                Files.writeString(
                        dir.resolve("haproxy.cfg"),
                        """
                        global
                          nbthread %d
                          maxconn 4096
                          log stderr format raw local0 warning
                        defaults
                          mode http
                          timeout connect 5s
                          timeout client 60s
                          timeout server 60s
                          option http-keep-alive
                          http-reuse always
                        frontend mtls
                          bind 127.0.0.1:%d ssl crt %s/haproxy.pem ca-file %s/root.pem verify required ssl-min-ver TLSv1.2
                          use_backend sink if { path /sink }
                          default_backend app
                        backend app
                          server backend 127.0.0.1:%d
                        backend sink
                          server sink 127.0.0.1:%d
                        """
                                .formatted(
                                        ctx.machine().cores(),
                                        haproxyPort,
                                        dir,
                                        dir,
                                        backendPort,
                                        sinkPort));
                haproxyProc =
                        new ProcessBuilder(
                                        haproxy, "-db", "-f", dir.resolve("haproxy.cfg").toString())
                                .redirectErrorStream(true)
                                .redirectOutput(dir.resolve("haproxy.out").toFile())
                                .start();
                awaitPort(haproxyPort, haproxyProc, dir.resolve("haproxy.out"));
            }

            Files.writeString(
                    dir.resolve("gateway.yaml"),
                    """
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
                      http:
                      - {match: [{uri: {exact: /productpage}}, {uri: {exact: /big}}], route: [{destination: {host: productpage.default.svc.cluster.local, port: {number: 9080}}}]}
                      - {match: [{uri: {exact: /sink}}], route: [{destination: {host: sink.default.svc.cluster.local, port: {number: 9080}}}]}
                    """
                            + serviceEntry("productpage", backendPort)
                            + serviceEntry("sink", sinkPort));
            // Its own JVM, as an operator runs it: /proc then tells its memory and CPU apart from
            // the bench's.
            gateway =
                    ChildJvm.start(
                            "bench gateway: the Mithril gateway",
                            GatewayMain.class,
                            dir.resolve("gateway.log"),
                            dir.toString());
            int gatewayPort = gateway.awaitReady(GatewayMain.READY);
            long hz = ChildJvm.clockTicksPerSecond();

            BenchOptions o = ctx.options();
            Path client = dir.resolve("client.pem");
            long nginxPid = nginxProc.pid();
            List<String> names = new ArrayList<>(List.of("Mithril gateway", "nginx"));
            List<String> urls =
                    new ArrayList<>(
                            List.of(
                                    "https://127.0.0.1:" + gatewayPort + "/productpage",
                                    "https://127.0.0.1:" + nginxPort + "/productpage"));
            if (haproxyProc != null) {
                names.add("HAProxy");
                urls.add("https://127.0.0.1:" + haproxyPort + "/productpage");
            }
            int n = names.size();
            long haproxyPid = haproxyProc == null ? 0 : haproxyProc.pid();
            AbResult[] cold = new AbResult[n];
            Duration warmup = o.warmup().compareTo(MIN_WARMUP) < 0 ? MIN_WARMUP : o.warmup();
            for (int i = 0; i < n; i++) {
                // A JVM compiles its hot code during its first seconds under load: the first
                // seconds are reported apart,
                // then the warm-up runs on until the measured runs see the compiled code, as a
                // long-running gateway would.
                ctx.progress(
                        "bench gateway: "
                                + names.get(i)
                                + " keep-alive, first "
                                + COLD.toSeconds()
                                + " s after start");
                cold[i] = ab(ab, client, urls.get(i), true, COLD);
                ctx.progress(
                        "bench gateway: "
                                + names.get(i)
                                + " warm-up "
                                + warmup.toSeconds()
                                + " s more");
                ab(ab, client, urls.get(i), true, warmup);
            }
            // Measured runs alternate the servers run by run: a change in the machine's load hits
            // all of them.
            List<List<AbResult>> keepAlive = new ArrayList<>();
            List<List<AbResult>> fresh = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                keepAlive.add(new ArrayList<>());
                fresh.add(new ArrayList<>());
            }
            long[] ticks =
                    new long[n]; // the server's own CPU over its keep-alive runs (nginx: master
            // plus workers)
            long[] requests = new long[n];
            long backendTicks =
                    0; // nginx's CPU during the gateway's keep-alive runs: only its backend then
            for (int r = 0; r < o.runs(); r++) {
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < n; i++) {
                    long own0 = i == 0 ? gateway.cpuTicks() : i == 2 ? treeCpuTicks(haproxyPid) : 0;
                    long nginx0 = treeCpuTicks(nginxPid);
                    AbResult k = ab(ab, client, urls.get(i), true, o.runTime());
                    long nginxUsed = treeCpuTicks(nginxPid) - nginx0;
                    if (i == 0) {
                        ticks[0] += gateway.cpuTicks() - own0;
                        backendTicks += nginxUsed;
                    } else if (i == 1) {
                        ticks[1] += nginxUsed;
                    } else {
                        ticks[2] += treeCpuTicks(haproxyPid) - own0;
                    }
                    requests[i] += k.completed();
                    keepAlive.get(i).add(k);
                    line.append(
                            String.format(
                                    Locale.ROOT,
                                    "%s%s %.0f req/s",
                                    i == 0 ? "" : ", ",
                                    names.get(i),
                                    k.rps()));
                }
                ctx.progress(
                        "bench gateway: keep-alive run " + (r + 1) + "/" + o.runs() + ": " + line);
            }
            for (int r = 0; r < o.runs(); r++) {
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < n; i++) {
                    AbResult f = ab(ab, client, urls.get(i), false, o.runTime());
                    fresh.get(i).add(f);
                    line.append(
                            String.format(
                                    Locale.ROOT,
                                    "%s%s %.0f/s",
                                    i == 0 ? "" : ", ",
                                    names.get(i),
                                    f.rps()));
                }
                ctx.progress(
                        "bench gateway: new-connection run "
                                + (r + 1)
                                + "/"
                                + o.runs()
                                + ": "
                                + line);
            }
            long[] rss = new long[n];
            rss[0] = gateway.rssKb();
            rss[1] = treeRssKb(nginxPid);
            if (n > 2) {
                rss[2] = treeRssKb(haproxyPid);
            }
            double usPerTick = 1e6 / hz;
            double backendUs = backendTicks * usPerTick / Math.max(1, requests[0]);
            double[] cpuUs = new double[n];
            for (int i = 0; i < n; i++) {
                cpuUs[i] =
                        ticks[i] * usPerTick / Math.max(1, requests[i]) - (i == 1 ? backendUs : 0);
            }

            List<String> header = new ArrayList<>(List.of("What"));
            header.addAll(names);
            for (int i = 1; i < n; i++) {
                header.add("Mithril / " + names.get(i));
            }
            BenchReport report =
                    new BenchReport(
                            name(),
                            "bench gateway: mTLS ingress (ISTIO_MUTUAL) vs "
                                    + String.join(" and ", names.subList(1, n))
                                    + ", ab -c "
                                    + CONCURRENCY,
                            ctx.machine(),
                            header);
            rateRow(report, "keep-alive req/s", keepAlive, AbResult::rps);
            report.row(
                    row(
                            "keep-alive req/s, first " + COLD.toSeconds() + " s after start",
                            java.util.Arrays.stream(cold).mapToDouble(AbResult::rps).toArray(),
                            BenchReport::rate));
            rateRow(report, "keep-alive p50 ms", keepAlive, AbResult::p50);
            rateRow(report, "keep-alive p99 ms", keepAlive, AbResult::p99);
            rateRow(report, "new mTLS connections/s", fresh, AbResult::rps);
            report.row(row("keep-alive CPU µs per request", cpuUs, GatewayBench::ms));
            report.row(
                    row(
                            "resident memory MB",
                            java.util.Arrays.stream(rss).mapToDouble(k -> k / 1024.0).toArray(),
                            GatewayBench::ms));
            streamingRows(
                    ctx,
                    report,
                    bigDir,
                    client,
                    names,
                    urls,
                    "http://127.0.0.1:" + backendPort,
                    "http://127.0.0.1:" + sinkPort,
                    gateway);
            int[] failed = new int[n];
            StringBuilder failures = new StringBuilder();
            for (int i = 0; i < n; i++) {
                for (AbResult a : keepAlive.get(i)) {
                    failed[i] += a.failed();
                }
                for (AbResult a : fresh.get(i)) {
                    failed[i] += a.failed();
                }
                failures.append(i == 0 ? "" : ", ")
                        .append(names.get(i))
                        .append(' ')
                        .append(failed[i]);
            }
            report.note(
                    "Same certificates (EC P-256 SVIDs, client certificate required), same backend (an nginx `return 200` server), "
                            + "ab -E with "
                            + CONCURRENCY
                            + " connections. Each server: "
                            + COLD.toSeconds()
                            + " s keep-alive right after start "
                            + "(the \"first "
                            + COLD.toSeconds()
                            + " s\" row), a "
                            + warmup.toSeconds()
                            + " s warm-up, then "
                            + o.runs()
                            + " keep-alive and "
                            + o.runs()
                            + " new-connection runs of "
                            + o.runTime().toSeconds()
                            + " s, the servers "
                            + "alternating run by run: median (min-max) over the runs; a ratio is the median of the run-by-run ratios. "
                            + "ab percentiles are whole milliseconds. The gateway runs in a JVM of its "
                            + "own (GatewayMain: "
                            + String.join(" ", ChildJvm.PROXY_JVM_OPTIONS)
                            + ", as ./mithril runs a proxy), access log off. "
                            + "nginx and HAProxy terminate mTLS the same way (TLS 1.2+, client certificate required against the same root) and "
                            + "proxy plain HTTP/1.1 with keep-alive to the backend, as the gateway does to a plaintext upstream. "
                            + "CPU is utime+stime from /proc over the keep-alive runs divided by the requests ab completed: the gateway's "
                            + "JVM; HAProxy's process; for nginx, master plus workers less the backend's share (the backend server block runs in the same "
                            + "workers; measured during the gateway's runs at "
                            + ms(backendUs)
                            + " µs per request). "
                            + "Memory is VmRSS after the runs, same processes. Failed requests: "
                            + failures
                            + "."
                            + " Streaming rows: curl --http1.1 downloads (GET) and uploads (PUT -T) "
                            + (STREAM_BYTES >> 30)
                            + " GiB through each "
                            + "server, one transfer at a time, the backend (nginx) serving a file (sendfile), uploads going to a sink in the bench's JVM that reads "
                            + "the body whole before it answers; \"direct\" is curl to those in plain HTTP (no TLS): the ratio to it includes "
                            + "TLS. nginx streams the upload too (proxy_request_buffering off for /sink; its default would write it to disk first). The gateway's growth is its VmRSS sampled every 100 ms during "
                            + "the transfer, less VmRSS before it."
                            + (haproxyProc == null
                                    ? " HAProxy is not installed here (apt-get install haproxy): its column is left out."
                                    : ""));
            return report;
        } finally {
            if (sink != null) {
                sink.stop(0);
            }
            if (gateway != null) {
                gateway.close();
            }
            if (haproxyProc != null) {
                haproxyProc.destroy();
                if (!haproxyProc.waitFor(5, TimeUnit.SECONDS)) {
                    haproxyProc.destroyForcibly();
                }
            }
            if (nginxProc != null) {
                nginxProc.destroy();
                if (!nginxProc.waitFor(5, TimeUnit.SECONDS)) {
                    nginxProc.destroyForcibly();
                }
            }
            for (Path d : List.of(dir, bigDir)) {
                try (Stream<Path> s = Files.walk(d)) {
                    s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    /**
     * Median (min-max) of each server's runs, and for each peer the median of the run-by-run ratios
     * Mithril / peer.
     */
    private static void rateRow(
            BenchReport report,
            String what,
            List<List<AbResult>> runs,
            java.util.function.ToDoubleFunction<AbResult> f) {
        List<String> cells = new ArrayList<>(List.of(what));
        List<List<Double>> values = new ArrayList<>();
        for (List<AbResult> server : runs) {
            List<Double> v = server.stream().map(f::applyAsDouble).toList();
            values.add(v);
            cells.add(Spread.of(v).format(0));
        }
        for (int peer = 1; peer < runs.size(); peer++) {
            List<Double> ratios = new ArrayList<>();
            for (int r = 0; r < values.get(0).size(); r++) {
                double a = values.get(0).get(r);
                double b = values.get(peer).get(r);
                // ab's percentiles are whole milliseconds: a 0 ms run compares as 1 ms.
                ratios.add(what.endsWith(" ms") ? a / Math.max(1, b) : a / b);
            }
            cells.add(BenchReport.ratio(Spread.of(ratios).median()));
        }
        report.row(cells);
    }

    /**
     * A ServiceEntry document: {@code <name>.default.svc.cluster.local} port 9080 at
     * 127.0.0.1:{@code port}.
     */
    private static String serviceEntry(String name, int port) {
        return """
                ---
                apiVersion: networking.istio.io/v1beta1
                kind: ServiceEntry
                metadata: {name: %s}
                spec:
                  hosts: [%s.default.svc.cluster.local]
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  endpoints: [{address: 127.0.0.1, ports: {http: %d}}]
                """
                .formatted(name, name, port);
    }

    /** Reads each request's body whole, then answers 200 (the uploads' backend). */
    private static com.sun.net.httpserver.HttpServer sink() throws IOException {
        com.sun.net.httpserver.HttpServer server =
                com.sun.net.httpserver.HttpServer.create(
                        new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.createContext(
                "/",
                ex -> {
                    try (java.io.InputStream in = ex.getRequestBody()) {
                        in.transferTo(java.io.OutputStream.nullOutputStream());
                    }
                    byte[] ok = "ok\n".getBytes(StandardCharsets.US_ASCII);
                    ex.sendResponseHeaders(200, ok.length);
                    try (java.io.OutputStream out = ex.getResponseBody()) {
                        out.write(ok);
                    }
                });
        server.start();
        return server;
    }

    /** Bytes of one streaming transfer (download or upload). */
    static final long STREAM_BYTES = 1L << 30;

    /**
     * A 1 GiB download and upload through each server and directly to the backend, one at a time:
     * MB/s, and how much the gateway's resident memory grew meanwhile (bodies stream: it should
     * not).
     */
    private static void streamingRows(
            BenchContext ctx,
            BenchReport report,
            Path dir,
            Path clientPem,
            List<String> names,
            List<String> urls,
            String direct,
            String directSink,
            ChildJvm gateway)
            throws IOException, InterruptedException {
        Path big = dir.resolve("big.bin");
        byte[] block = new byte[1 << 20];
        new java.util.SplittableRandom(1).nextBytes(block);
        try (java.io.OutputStream out = Files.newOutputStream(big)) {
            for (long done = 0; done < STREAM_BYTES; done += block.length) {
                out.write(block);
            }
        }
        int n = names.size();
        double[] down = new double[n];
        double[] up = new double[n];
        long growth = 0;
        ctx.progress("bench gateway: " + (STREAM_BYTES >> 30) + " GiB down and up, direct");
        double directDown = transfer(clientPem, direct + "/big", null, null)[0];
        double directUp = transfer(clientPem, directSink + "/sink", big, null)[0];
        for (int i = 0; i < n; i++) {
            ctx.progress(
                    "bench gateway: "
                            + (STREAM_BYTES >> 30)
                            + " GiB down and up through "
                            + names.get(i));
            String base = urls.get(i).substring(0, urls.get(i).indexOf("/productpage"));
            double[] d = transfer(clientPem, base + "/big", null, i == 0 ? gateway : null);
            double[] u = transfer(clientPem, base + "/sink", big, i == 0 ? gateway : null);
            down[i] = d[0];
            up[i] = u[0];
            if (i == 0) {
                growth = (long) Math.max(d[1], u[1]);
            }
        }
        Files.delete(big);
        List<String> row =
                new ArrayList<>(
                        List.of(
                                (STREAM_BYTES >> 30)
                                        + " GiB download MB/s (direct: "
                                        + ms(directDown)
                                        + ")"));
        for (double v : down) {
            row.add(ms(v) + " (" + BenchReport.ratio(v / directDown) + " of direct)");
        }
        for (int i = 1; i < n; i++) {
            row.add(BenchReport.ratio(down[0] / down[i]));
        }
        report.row(row);
        row =
                new ArrayList<>(
                        List.of(
                                (STREAM_BYTES >> 30)
                                        + " GiB upload MB/s (direct: "
                                        + ms(directUp)
                                        + ")"));
        for (double v : up) {
            row.add(ms(v) + " (" + BenchReport.ratio(v / directUp) + " of direct)");
        }
        for (int i = 1; i < n; i++) {
            row.add(BenchReport.ratio(up[0] / up[i]));
        }
        report.row(row);
        row = new ArrayList<>(List.of("gateway resident memory growth during a transfer, MB"));
        row.add(ms(growth / 1024.0));
        while (row.size() < n + n) {
            row.add("");
        }
        report.row(row);
    }

    /**
     * One curl transfer: a download of {@code url} (upload null) or a PUT of {@code upload};
     * returns MB/s and, when {@code watch} is given, the most its VmRSS grew (KiB) while curl ran.
     */
    private static double[] transfer(Path clientPem, String url, Path upload, ChildJvm watch)
            throws IOException, InterruptedException {
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                "curl",
                                "-sS",
                                "--http1.1",
                                "-k",
                                "--max-time",
                                "600",
                                "-o",
                                "/dev/null",
                                "-w",
                                upload == null
                                        ? "%{http_code} %{size_download} %{speed_download}"
                                        : "%{http_code} %{size_upload} %{speed_upload}"));
        if (url.startsWith("https:")) {
            cmd.addAll(List.of("--cert", clientPem.toString()));
        }
        if (upload != null) {
            cmd.addAll(List.of("-T", upload.toString()));
        }
        cmd.add(url);
        long before = watch == null ? 0 : watch.rssKb();
        long peak = before;
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        while (!p.waitFor(100, TimeUnit.MILLISECONDS)) {
            if (watch != null) {
                peak = Math.max(peak, watch.rssKb());
            }
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        String[] f = out.split("\\s+");
        if (p.exitValue() != 0
                || f.length != 3
                || !f[0].equals("200")
                || Long.parseLong(f[1]) != STREAM_BYTES) {
            throw new IOException(
                    "bench gateway: "
                            + (upload == null ? "download " : "upload ")
                            + url
                            + " failed: "
                            + out);
        }
        return new double[] {Double.parseDouble(f[2]) / 1e6, peak - before};
    }

    /** One figure per server, then Mithril / each peer. */
    private static List<String> row(
            String what, double[] v, java.util.function.DoubleFunction<String> format) {
        List<String> cells = new ArrayList<>(List.of(what));
        for (double x : v) {
            cells.add(format.apply(x));
        }
        for (int i = 1; i < v.length; i++) {
            cells.add(BenchReport.ratio(v[0] / v[i]));
        }
        return cells;
    }

    private static String ms(double v) {
        return String.format(Locale.ROOT, "%.0f", v);
    }

    static AbResult ab(String ab, Path clientPem, String url, boolean keepAlive, Duration length)
            throws IOException, InterruptedException {
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                ab,
                                "-q",
                                "-r",
                                "-c",
                                Integer.toString(CONCURRENCY),
                                "-t",
                                Long.toString(Math.max(1, length.toSeconds())),
                                "-n",
                                "10000000",
                                "-E",
                                clientPem.toString()));
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
        return new AbResult(
                rps,
                number(out, "\\n\\s+50%\\s+([0-9]+)"),
                number(out, "\\n\\s+99%\\s+([0-9]+)"),
                Double.isNaN(failed) ? 0 : (int) failed,
                Double.isNaN(completed) ? 0 : (long) completed);
    }

    private static double number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    private static String which(String tool, String pkg) throws IOException {
        String p = find(tool);
        if (p == null) {
            throw new IOException(
                    "bench gateway needs " + tool + ": install it (apt-get install " + pkg + ")");
        }
        return p;
    }

    /** The tool's path, or null when it is not installed. */
    private static String find(String tool) {
        for (String dir :
                List.of(
                        "/usr/bin",
                        "/usr/sbin",
                        "/usr/local/bin",
                        "/usr/local/sbin",
                        "/bin",
                        "/sbin")) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
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
        throw new IOException(
                log.getFileName()
                        + ": the server did not listen on port "
                        + port
                        + ": "
                        + Files.readString(log).strip());
    }

    /** VmRSS of a process and its descendants (nginx: master plus workers), in KiB. */
    static long treeRssKb(long pid) {
        long total = ChildJvm.rssKb(pid);
        for (ProcessHandle child :
                ProcessHandle.of(pid).map(h -> h.descendants().toList()).orElse(List.of())) {
            total += ChildJvm.rssKb(child.pid());
        }
        return total;
    }

    /** utime + stime (clock ticks) of a process and its descendants. */
    static long treeCpuTicks(long pid) throws IOException {
        long total = ChildJvm.parseStatTicks(Files.readString(Path.of("/proc/" + pid + "/stat")));
        for (ProcessHandle child :
                ProcessHandle.of(pid).map(h -> h.descendants().toList()).orElse(List.of())) {
            try {
                total +=
                        ChildJvm.parseStatTicks(
                                Files.readString(Path.of("/proc/" + child.pid() + "/stat")));
            } catch (IOException e) {
                // a worker that just exited
            }
        }
        return total;
    }
}
