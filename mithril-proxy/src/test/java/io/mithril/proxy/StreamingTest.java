package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.mithril.proxy.identity.StaticIdentitySource;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bodies stream through the proxies (issue 16): 256 MiB up and down, with the real curl, through
 * the gateway (mTLS, HTTP/1.1 and HTTP/2) and the app's sidecar, and through a client sidecar's
 * outbound proxy and the same server sidecar (curl's {@code Expect: 100-continue} upload). The
 * bytes arriving are the bytes sent (SHA-256 on both ends), and the proxies never hold a body: the
 * buffers Netty has allocated, sampled through the transfers, stay far below one body (the three
 * proxies run in this JVM). Before, bodies were aggregated whole, refused over 10 MiB (requests)
 * and 64 MiB (answers).
 */
class StreamingTest {

    private static final long SIZE = 256L << 20;

    /**
     * All three proxies' Netty buffers together, at any moment of a transfer; a buffered body would
     * be 256 MiB.
     */
    private static final long MAX_HELD = 48L << 20;

    @TempDir static Path dir;

    static TestPki pki;
    static HttpServer app;
    static Proxy serverSidecar;
    static Proxy clientSidecar;
    static Proxy gateway;
    static TestPki.Files sleep;
    static Path upload;
    static String uploadDigest;
    static final AtomicLong appBytes = new AtomicLong();

    @BeforeAll
    static void start() throws Exception {
        pki = new TestPki("example.org");
        app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        app.setExecutor(Executors.newFixedThreadPool(4));
        app.createContext(
                "/",
                ex -> {
                    if (ex.getRequestURI().getPath().endsWith("/download")) {
                        download(ex);
                        return;
                    }
                    MessageDigest md = sha256();
                    long n = 0;
                    byte[] buf = new byte[64 * 1024];
                    try (InputStream in = ex.getRequestBody()) {
                        for (int r; (r = in.read(buf)) > 0; ) {
                            md.update(buf, 0, r);
                            n += r;
                        }
                    }
                    appBytes.set(n);
                    byte[] body =
                            ("sha256="
                                            + HexFormat.of().formatHex(md.digest())
                                            + " bytes="
                                            + n
                                            + "\n")
                                    .getBytes(StandardCharsets.UTF_8);
                    ex.sendResponseHeaders(200, body.length);
                    try (OutputStream out = ex.getResponseBody()) {
                        out.write(body);
                    }
                });
        app.start();
        int appPort = app.getAddress().getPort();
        serverSidecar =
                MeshFixture.sidecar(
                        new StaticIdentitySource(pki.identity(MeshFixture.PRODUCTPAGE_ID)),
                        Map.of("app", "productpage"),
                        appPort,
                        MeshFixture.parse(MeshFixture.SEED));
        int inbound = serverSidecar.listenerAddress(9080).getPort();
        gateway =
                MeshFixture.gateway(
                        pki.identity(MeshFixture.GATEWAY_ID, List.of("app.example.org")),
                        MeshFixture.parse(
                                MeshFixture.SEED,
                                MeshFixture.productpageEntry(inbound, "bookinfo-productpage")));
        clientSidecar =
                MeshFixture.sidecar(
                        new StaticIdentitySource(pki.identity(MeshFixture.SLEEP_ID)),
                        Map.of("app", "sleep"),
                        appPort,
                        MeshFixture.parse(
                                MeshFixture.SEED,
                                MeshFixture.productpageEntry(inbound, "bookinfo-productpage")));
        sleep = TestPki.write(pki.identity(MeshFixture.SLEEP_ID), dir, "sleep");
        upload = dir.resolve("upload.bin");
        try (OutputStream out = Files.newOutputStream(upload)) {
            uploadDigest = pattern(out, SIZE);
        }
    }

    @AfterAll
    static void stop() {
        gateway.close();
        clientSidecar.close();
        serverSidecar.close();
        app.stop(0);
        ((java.util.concurrent.ExecutorService) app.getExecutor()).shutdownNow();
    }

    /** {@code /...download[?chunked]}: the pattern, with a Content-Length or chunked. */
    private static void download(com.sun.net.httpserver.HttpExchange ex) throws IOException {
        ex.getRequestBody().readAllBytes();
        boolean chunked = "chunked".equals(ex.getRequestURI().getQuery());
        ex.sendResponseHeaders(200, chunked ? 0 : SIZE);
        try (OutputStream out = ex.getResponseBody()) {
            pattern(out, SIZE);
        }
    }

    /**
     * Writes {@code size} pseudo-random bytes (the same for every call) and returns their SHA-256.
     */
    static String pattern(OutputStream out, long size) throws IOException {
        MessageDigest md = sha256();
        SplittableRandom rnd = new SplittableRandom(16);
        byte[] block = new byte[1 << 20];
        for (long done = 0; done < size; done += block.length) {
            for (int i = 0; i < block.length; i += 8) {
                long v = rnd.nextLong();
                for (int k = 0; k < 8; k++) {
                    block[i + k] = (byte) (v >>> (8 * k));
                }
            }
            int n = (int) Math.min(block.length, size - done);
            md.update(block, 0, n);
            out.write(block, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Runs curl (status on the last line) while sampling the Netty buffers in use; returns stdout
     * and the peak.
     */
    private static Transfer curl(String... args) throws Exception {
        List<String> cmd =
                new ArrayList<>(
                        List.of("curl", "-sS", "--max-time", "300", "-w", "\n%{http_code}"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(false);
        pb.environment().remove("http_proxy");
        pb.environment().remove("https_proxy");
        Path out = Files.createTempFile(dir, "curl", ".out");
        Path err = Files.createTempFile(dir, "curl", ".err");
        long t0 = System.nanoTime();
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        ByteBufAllocatorMetric metric =
                ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric();
        long peak = 0;
        while (!p.waitFor(50, TimeUnit.MILLISECONDS)) {
            peak = Math.max(peak, metric.usedDirectMemory() + metric.usedHeapMemory());
        }
        String text = Files.readString(out);
        assertThat(p.exitValue()).as("curl %s: %s", args, Files.readString(err)).isZero();
        String[] lines = text.strip().split("\n");
        return new Transfer(
                Integer.parseInt(lines[lines.length - 1].trim()),
                text.substring(0, Math.max(0, text.strip().lastIndexOf('\n'))),
                peak,
                (System.nanoTime() - t0) / 1e9);
    }

    record Transfer(int status, String body, long peakHeld, double seconds) {}

    private List<String> viaGateway(String http, String path) {
        int port = gateway.listenerAddress(8080).getPort();
        return new ArrayList<>(
                List.of(
                        http,
                        "--cert",
                        sleep.cert().toString(),
                        "--key",
                        sleep.key().toString(),
                        "--cacert",
                        sleep.bundle().toString(),
                        "--resolve",
                        "app.example.org:" + port + ":127.0.0.1",
                        "https://app.example.org:" + port + path));
    }

    private Transfer uploadVia(List<String> args) throws Exception {
        List<String> a = new ArrayList<>(args);
        a.addAll(
                0,
                List.of(
                        "--data-binary",
                        "@" + upload,
                        "-H",
                        "Content-Type: application/octet-stream"));
        return curl(a.toArray(String[]::new));
    }

    private Transfer downloadVia(List<String> args, Path to) throws Exception {
        List<String> a = new ArrayList<>(args);
        a.addAll(0, List.of("-o", to.toString()));
        return curl(a.toArray(String[]::new));
    }

    private static String digest(Path file) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int r; (r = in.read(buf)) > 0; ) {
                md.update(buf, 0, r);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @Test
    void aLargeUploadAndDownloadStreamThroughGatewayAndSidecarOverHttp11() throws Exception {
        // A path the gateway normalizes: routing, policy and the app see /api/v1/products/upload.
        throughGateway(
                "--http1.1", "/static/../api/v1/products/upload", "/api/v1/products/download");
    }

    @Test
    void aLargeUploadAndDownloadStreamThroughGatewayAndSidecarOverHttp2() throws Exception {
        // The answer chunked by the app, DATA frames to curl.
        throughGateway("--http2", "/api/v1/products/upload", "/api/v1/products/download?chunked");
    }

    private void throughGateway(String http, String uploadPath, String downloadPath)
            throws Exception {
        check(
                "gateway " + http,
                uploadVia(viaGateway(http, uploadPath)),
                downloadVia(viaGateway(http, downloadPath), dir.resolve("got.bin")));
        assertThat(gateway.bodyBudget().used()).as("retry copies given back").isZero();
    }

    /**
     * The app got the upload whole; curl got the download whole; neither was held by the proxies.
     */
    private void check(String path, Transfer up, Transfer down) throws Exception {
        assertThat(up.status()).as(up.body()).isEqualTo(200);
        assertThat(up.body().strip()).isEqualTo("sha256=" + uploadDigest + " bytes=" + SIZE);
        assertThat(up.peakHeld()).as("Netty buffers held during the upload").isLessThan(MAX_HELD);
        Path got = dir.resolve("got.bin");
        assertThat(down.status()).isEqualTo(200);
        assertThat(Files.size(got)).isEqualTo(SIZE);
        assertThat(digest(got)).isEqualTo(uploadDigest);
        assertThat(down.peakHeld())
                .as("Netty buffers held during the download")
                .isLessThan(MAX_HELD);
        Files.delete(got);
        System.out.printf(
                "StreamingTest %s: 256 MiB up in %.1f s, down in %.1f s; Netty buffers at most %d KiB up, %d KiB down%n",
                path, up.seconds(), down.seconds(), up.peakHeld() >> 10, down.peakHeld() >> 10);
    }

    @Test
    void aLargeUploadAndDownloadStreamThroughTheClientAndServerSidecars() throws Exception {
        // curl asks for 100-continue on a large upload over HTTP/1.1: the sidecar invites the body
        // itself.
        String proxy = "http://127.0.0.1:" + clientSidecar.listenerAddress(15001).getPort();
        check(
                "sidecars",
                uploadVia(
                        List.of(
                                "-x",
                                proxy,
                                "http://productpage.default.svc.cluster.local:9080/upload")),
                downloadVia(
                        List.of(
                                "-x",
                                proxy,
                                "http://productpage.default.svc.cluster.local:9080/download"),
                        dir.resolve("got.bin")));
    }
}
