package io.mithril.bench.scale;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * HAProxy (Debian's {@code haproxy}) as operators put it in front of several identity servers: a
 * TCP load balancer ({@code mode tcp}, so TLS goes end to end from agent to server) on one loopback
 * address, round robin over the backends, each health-checked every 500 ms by a TCP connect; a
 * connection to a backend that just died is retried on the other ({@code option redispatch}). Runs
 * in the foreground ({@code -db}) as a child of the bench and is stopped on {@link #close()}.
 */
public final class Haproxy implements AutoCloseable {

    private final Process process;
    private final int port;
    private final Path log;

    private Haproxy(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** The {@code haproxy} binary on the PATH or in /usr/sbin, if installed. */
    public static Optional<Path> find() {
        List<String> dirs =
                new java.util.ArrayList<>(
                        List.of(
                                System.getenv()
                                        .getOrDefault("PATH", "")
                                        .split(File.pathSeparator)));
        dirs.add("/usr/sbin");
        for (String d : dirs) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, "haproxy"))) {
                return Optional.of(Path.of(d, "haproxy"));
            }
        }
        return Optional.empty();
    }

    /** The configuration for {@code port} in front of {@code backends}. */
    static String config(int port, List<InetSocketAddress> backends) {
        StringBuilder sb = new StringBuilder();
        // Two descriptors per agent connection; Debian's default hard limit of 20,000 descriptors
        // allows about 9,000.
        sb.append("global\n    maxconn 9000\n\n");
        sb.append(
                        "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1h\n    timeout server 1h\n")
                .append("    retries 2\n    option redispatch\n\n");
        sb.append("frontend identity_servers\n    bind 127.0.0.1:")
                .append(port)
                .append("\n    default_backend servers\n\n");
        sb.append("backend servers\n    balance roundrobin\n");
        for (int i = 0; i < backends.size(); i++) {
            InetSocketAddress b = backends.get(i);
            sb.append("    server s")
                    .append(i + 1)
                    .append(' ')
                    .append(b.getHostString())
                    .append(':')
                    .append(b.getPort())
                    .append(" check inter 500 fall 1 rise 2\n");
        }
        return sb.toString();
    }

    /**
     * Writes the configuration into {@code dir}, checks it ({@code haproxy -c}) and starts HAProxy.
     *
     * @throws IOException when haproxy is not installed, refuses the configuration or does not
     *     listen within 10 s
     */
    public static Haproxy start(Path dir, List<InetSocketAddress> backends)
            throws IOException, InterruptedException {
        Path bin =
                find().orElseThrow(
                                () ->
                                        new IOException(
                                                "haproxy is not installed (Debian: apt-get install haproxy)"));
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path cfg = dir.resolve("haproxy.cfg");
        Files.writeString(cfg, config(port, backends), StandardCharsets.UTF_8);
        Process check =
                new ProcessBuilder(bin.toString(), "-c", "-f", cfg.toString())
                        .redirectErrorStream(true)
                        .start();
        String out = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!check.waitFor(30, TimeUnit.SECONDS) || check.exitValue() != 0) {
            throw new IOException("haproxy -c refused " + cfg + ": " + out.strip());
        }
        Path log = dir.resolve("haproxy.log");
        Process p =
                new ProcessBuilder(bin.toString(), "-db", "-f", cfg.toString())
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
        Haproxy h = new Haproxy(p, port, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IOException(
                        "haproxy exited (" + p.exitValue() + "): " + Files.readString(log).strip());
            }
            try (Socket s = new Socket("127.0.0.1", port)) {
                return h;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        h.close();
        throw new IOException(
                "haproxy did not listen on 127.0.0.1:" + port + " within 10 s; see " + log);
    }

    public InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", port);
    }

    public long pid() {
        return process.pid();
    }

    public Path log() {
        return log;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
