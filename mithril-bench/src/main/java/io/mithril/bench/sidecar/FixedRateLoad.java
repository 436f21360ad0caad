package io.mithril.bench.sidecar;

import io.mithril.bench.Latencies;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The {@code sidecar} bench's load client: plain HTTP/1.1 keep-alive GETs at a fixed total rate,
 * spread over a few connections, each connection sending on its own schedule (one request every
 * {@code connections / rate} seconds). Latency is measured from when a request was <em>due</em>,
 * not from when it was sent, so a stall shows up in the percentiles instead of being hidden by
 * sending later (no coordinated omission). Written here because no Debian load tool both holds a
 * fixed rate and reports p90/p99 below a millisecond.
 */
public final class FixedRateLoad {

    /** What one run delivered. */
    public record Result(Latencies latencies, double achievedRate, int errors) {}

    /**
     * How far behind schedule a run may fall before it is abandoned (the bench must stay bounded).
     */
    static final long GRACE_NANOS = 10_000_000_000L;

    private FixedRateLoad() {}

    /**
     * Sends {@code GET <target>} with {@code Host: <host>} to {@code address} at {@code rate}
     * requests/s for {@code length}.
     *
     * @throws IOException if a connection fails or an answer is not HTTP (a load run over a broken
     *     path means nothing)
     */
    public static Result run(
            InetSocketAddress address,
            String target,
            String host,
            int rate,
            int connections,
            Duration length)
            throws Exception {
        byte[] request =
                ("GET "
                                + target
                                + " HTTP/1.1\r\nHost: "
                                + host
                                + "\r\nUser-Agent: mithril-bench\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII);
        long interval = 1_000_000_000L * connections / rate;
        int perConnection = (int) (length.toNanos() / interval);
        long[][] samples = new long[connections][perConnection];
        int[] errors = new int[connections];
        AtomicReference<Exception> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime() + 20_000_000L; // time for every thread to connect
        for (int c = 0; c < connections; c++) {
            int conn = c;
            Thread t =
                    new Thread(
                            () -> {
                                try (Socket s = new Socket()) {
                                    s.setTcpNoDelay(true);
                                    s.connect(address, 5000);
                                    s.setSoTimeout(10_000);
                                    OutputStream out = s.getOutputStream();
                                    InputStream in =
                                            new java.io.BufferedInputStream(
                                                    s.getInputStream(), 16 * 1024);
                                    // Connections start staggered so the requests are evenly spread
                                    // in time.
                                    long due = start + interval * conn / connections;
                                    long giveUp = start + length.toNanos() + GRACE_NANOS;
                                    for (int i = 0; i < perConnection; i++, due += interval) {
                                        if (System.nanoTime() > giveUp) {
                                            throw new IOException(
                                                    "could not hold "
                                                            + rate
                                                            + " req/s: "
                                                            + i
                                                            + " of "
                                                            + perConnection
                                                            + " requests sent on connection "
                                                            + conn
                                                            + " "
                                                            + GRACE_NANOS / 1_000_000_000L
                                                            + " s after the run should have ended");
                                        }
                                        long wait = due - System.nanoTime();
                                        if (wait > 0) {
                                            LockSupport.parkNanos(wait);
                                        }
                                        out.write(request);
                                        out.flush();
                                        int status = readResponse(in);
                                        samples[conn][i] = System.nanoTime() - due;
                                        if (status != 200) {
                                            errors[conn]++;
                                        }
                                    }
                                } catch (Exception e) {
                                    failure.compareAndSet(null, e);
                                }
                            },
                            "bench-load-" + c);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        long elapsed = System.nanoTime() - start;
        if (failure.get() != null) {
            throw new IOException(
                    "load client to " + address + ": " + failure.get().getMessage(), failure.get());
        }
        long[] all = Arrays.stream(samples).flatMapToLong(Arrays::stream).toArray();
        int errs = Arrays.stream(errors).sum();
        return new Result(Latencies.ofNanos(all), all.length / (elapsed / 1e9), errs);
    }

    /**
     * Reads one HTTP/1.1 response (status line, headers, a Content-Length or chunked body) and
     * returns its status code.
     *
     * @throws IOException if the stream ends early or the response is not HTTP/1.x
     */
    static int readResponse(InputStream in) throws IOException {
        String statusLine = line(in);
        if (!statusLine.startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP/1.x response: \"" + statusLine + "\"");
        }
        String[] parts = statusLine.split(" ", 3);
        int status = Integer.parseInt(parts[1]);
        long length = -1;
        boolean chunked = false;
        for (String h = line(in); !h.isEmpty(); h = line(in)) {
            String lower = h.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Long.parseLong(lower.substring(15).trim());
            } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                chunked = true;
            }
        }
        if (chunked) {
            while (true) {
                String size = line(in);
                int semi = size.indexOf(';');
                long n = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                if (n == 0) {
                    for (String t = line(in); !t.isEmpty(); t = line(in)) {
                        // trailers
                    }
                    break;
                }
                skip(in, n);
                line(in);
            }
        } else if (length > 0) {
            skip(in, length);
        }
        return status;
    }

    private static void skip(InputStream in, long n) throws IOException {
        while (n > 0) {
            long k = in.skip(n);
            if (k <= 0) {
                if (in.read() < 0) {
                    throw new IOException("connection closed inside a response body");
                }
                k = 1;
            }
            n -= k;
        }
    }

    private static String line(InputStream in) throws IOException {
        String line = HttpLines.read(in);
        if (line == null) {
            throw new IOException("connection closed before the end of a response");
        }
        return line;
    }
}
