package io.mithril.cli.demo;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * What {@code kubectl port-forward} does for the seed: listens on a host address (127.0.0.1) in the
 * host's network namespace and relays every connection, bytes unchanged, to one address in a
 * cluster's network namespace (the ingress gateway's). TLS stays end to end between the client and
 * the gateway; the forwarder sees only ciphertext and trusts nobody.
 *
 * <p>At most {@value #MAX_CONNECTIONS} connections at once (more are closed at once); after one
 * side has finished sending, the other has {@value #HALF_CLOSED_SECONDS} s to finish too, so a
 * client that never closes does not hold a slot for ever.
 */
final class PortForward implements AutoCloseable {

    static final int MAX_CONNECTIONS = 256;
    static final int HALF_CLOSED_SECONDS = 30;
    private static final int CONNECT_TIMEOUT_MILLIS = 5000;

    private final ServerSocket server;
    private final InetSocketAddress target;
    private final Semaphore slots = new Semaphore(MAX_CONNECTIONS);
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private PortForward(ServerSocket server, InetSocketAddress target) {
        this.server = server;
        this.target = target;
    }

    /**
     * Binds {@code host:port} now (so the port is this demo's from here on) and starts relaying to
     * {@code target}.
     *
     * @throws IOException when the port cannot be bound (e.g. {@link java.net.BindException})
     */
    static PortForward open(String host, int port, InetSocketAddress target) throws IOException {
        ServerSocket s = new ServerSocket();
        try {
            s.bind(new InetSocketAddress(InetAddress.getByName(host), port), 128);
        } catch (IOException e) {
            s.close();
            throw e;
        }
        PortForward f = new PortForward(s, target);
        Thread t = new Thread(f::acceptLoop, "port-forward-" + s.getLocalPort());
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** The host port it listens on. */
    int port() {
        return server.getLocalPort();
    }

    InetSocketAddress target() {
        return target;
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                continue;
            }
            if (!slots.tryAcquire()) {
                closeQuietly(client);
                continue;
            }
            Thread t = new Thread(() -> relay(client), "port-forward-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    private void relay(Socket client) {
        Socket upstream = new Socket();
        open.add(client);
        open.add(upstream);
        try {
            if (closed) {
                return;
            }
            client.setTcpNoDelay(true);
            upstream.setTcpNoDelay(true);
            upstream.connect(target, CONNECT_TIMEOUT_MILLIS);
            Thread up = new Thread(() -> pump(client, upstream), "port-forward-up");
            up.setDaemon(true);
            up.start();
            pump(upstream, client);
            up.join();
        } catch (IOException | InterruptedException e) {
            // the gateway is not there (yet) or a side reset: the client sees its connection close
        } finally {
            closeQuietly(client);
            closeQuietly(upstream);
            open.remove(client);
            open.remove(upstream);
            slots.release();
        }
    }

    /**
     * Copies {@code from} to {@code to} until {@code from} finishes sending, then half-closes
     * {@code to} and gives {@code to} a deadline for the rest; on an error closes both.
     */
    private static void pump(Socket from, Socket to) {
        byte[] buf = new byte[16 * 1024];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                out.flush();
            }
            to.shutdownOutput();
            to.setSoTimeout(HALF_CLOSED_SECONDS * 1000);
        } catch (IOException e) {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing
        }
    }

    /** Stops listening and closes every relayed connection. */
    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // closing
        }
        for (Socket s : open) {
            closeQuietly(s);
        }
    }

    /** Whether {@code e} says the port is taken. */
    static boolean inUse(IOException e) {
        return e instanceof java.net.BindException
                || (e instanceof SocketException
                        && String.valueOf(e.getMessage()).contains("in use"));
    }
}
