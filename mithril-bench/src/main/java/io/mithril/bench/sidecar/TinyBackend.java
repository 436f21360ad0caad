package io.mithril.bench.sidecar;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@code sidecar} bench's backend: HTTP/1.1 keep-alive on 127.0.0.1, a thread per connection, a
 * fixed 200 answer written in one piece with TCP_NODELAY. (The JDK's HttpServer writes headers and
 * body separately and, with Nagle's algorithm on, waits for the client's delayed ACK: 40 ms per
 * request, which would measure the kernel, not the sidecars.) Counts the requests that arrived with
 * an {@code x-forwarded-client-cert} header, i.e. over mTLS.
 */
final class TinyBackend implements AutoCloseable {

    private static final byte[] ANSWER =
            ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\ndetails\n")
                    .getBytes(StandardCharsets.US_ASCII);

    private final ServerSocket server;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong withXfcc = new AtomicLong();

    TinyBackend() throws IOException {
        server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "bench-backend-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return server.getLocalPort();
    }

    long requestsWithXfcc() {
        return withXfcc.get();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                s.setTcpNoDelay(true);
                open.add(s);
                Thread t = new Thread(() -> serve(s), "bench-backend-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = new BufferedInputStream(s.getInputStream(), 16 * 1024);
            OutputStream out = s.getOutputStream();
            while (true) {
                String requestLine = HttpLines.read(in);
                if (requestLine == null) {
                    return;
                }
                long length = 0;
                boolean xfcc = false;
                for (String h = HttpLines.read(in);
                        h != null && !h.isEmpty();
                        h = HttpLines.read(in)) {
                    String lower = h.toLowerCase(Locale.ROOT);
                    if (lower.startsWith("content-length:")) {
                        length = Long.parseLong(lower.substring(15).trim());
                    } else if (lower.startsWith("x-forwarded-client-cert:")) {
                        xfcc = true;
                    }
                }
                in.skipNBytes(length);
                if (xfcc) {
                    withXfcc.incrementAndGet();
                }
                out.write(ANSWER);
                out.flush();
            }
        } catch (IOException e) {
            // client went away
        } finally {
            open.remove(s);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : open) {
            s.close();
        }
    }
}
