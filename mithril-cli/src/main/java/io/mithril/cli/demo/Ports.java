package io.mithril.cli.demo;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The host ports a demo run listens on. Each is the documented one (examples/two-clusters) when it
 * is free, otherwise one the kernel picks; so two demos, or a demo on a busy host, do not collide.
 * The choices are written to {@value #FILE} in the state directory, where the dashboard, {@code
 * mithril doctor} and tests read them.
 *
 * <p>Without pods the bookinfo workloads listen on loopback addresses ("pod IPs") 127.0.1.1-6,
 * ports 9080, 19080, 15001 and 15000; when any of them is taken, the first block 127.0.N.1-6 whose
 * ports are all free is used instead. With pods those ports are in the pods' own network namespaces
 * and cannot collide.
 */
final class Ports {

    /** The file in the state directory that records the choices. */
    static final String FILE = "demo-ports.properties";

    /** The workloads' ports on their "pod IP" when there are no pods. */
    static final List<Integer> WORKLOAD_PORTS = List.of(9080, 19080, 15001, 15000);

    private final Map<String, String> chosen = new LinkedHashMap<>();

    /**
     * {@code preferred} on {@code host} when nothing listens there, else a free port there the
     * kernel picks; recorded under {@code key}.
     */
    int pick(String key, String host, int preferred) throws IOException {
        int port;
        synchronized (Ports.class) {
            port =
                    free(host, preferred) && Claims.claim(host + ":" + preferred)
                            ? preferred
                            : ephemeral(host);
        }
        chosen.put(key, host + ":" + port);
        return port;
    }

    /**
     * Documented ports this user's running demos have chosen but their processes may not have bound
     * yet: a demo starting at the same time skips them (checking that a port is free and binding it
     * later is otherwise a race two demos lose together). Kept in a file of this uid's in the
     * temporary directory, one {@code pid host:port} a line, under a file lock; lines of demos that
     * are gone are dropped. A file another uid owns is ignored (it could only make us skip ports).
     */
    static final class Claims {
        private Claims() {}

        static boolean claim(String hostPort) {
            Path file =
                    Path.of(
                            System.getProperty("java.io.tmpdir"),
                            "mithril-demo-ports-" + DemoCommand.UID);
            long self = ProcessHandle.current().pid();
            try (java.nio.channels.FileChannel ch =
                            java.nio.channels.FileChannel.open(
                                    file,
                                    java.nio.file.StandardOpenOption.CREATE,
                                    java.nio.file.StandardOpenOption.READ,
                                    java.nio.file.StandardOpenOption.WRITE,
                                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    java.nio.channels.FileLock lock = ch.lock()) {
                if (StateDir.uidOf(file) != DemoCommand.UID) {
                    return true;
                }
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) ch.size());
                ch.read(buf, 0);
                StringBuilder kept = new StringBuilder();
                boolean taken = false;
                for (String line : new String(buf.array(), StandardCharsets.UTF_8).split("\n")) {
                    String[] f = line.split(" ");
                    if (f.length != 2 || !f[0].matches("\\d+")) {
                        continue;
                    }
                    long pid = Long.parseLong(f[0]);
                    if (pid != self
                            && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                        continue;
                    }
                    kept.append(line).append('\n');
                    taken |= pid != self && f[1].equals(hostPort);
                }
                if (!taken) {
                    kept.append(self).append(' ').append(hostPort).append('\n');
                }
                byte[] out = kept.toString().getBytes(StandardCharsets.UTF_8);
                ch.truncate(0);
                ch.write(java.nio.ByteBuffer.wrap(out), 0);
                return !taken;
            } catch (IOException | RuntimeException e) {
                return true; // best effort: the check that the port is free still holds
            }
        }
    }

    /** Records a port chosen elsewhere (the gateway's, given by the user). */
    void record(String key, String hostPort) {
        chosen.put(key, hostPort);
    }

    /**
     * The first loopback block {@code 127.0.N} (from {@code preferred}) where {@code .1} to {@code
     * .count} have every one of {@code ports} free.
     */
    String loopbackBlock(String key, int preferred, int count, List<Integer> ports)
            throws IOException {
        for (int n = preferred; n < preferred + 254; n++) {
            String block = "127.0." + (((n - 1) % 254) + 1);
            if (allFree(block, count, ports) && Claims.claim(block + ".1-" + count)) {
                chosen.put(key, block + ".1-" + count);
                return block;
            }
        }
        throw new IOException(
                "no loopback block 127.0.N.1-" + count + " has ports " + ports + " free");
    }

    private static boolean allFree(String block, int count, List<Integer> ports) {
        for (int i = 1; i <= count; i++) {
            for (int port : ports) {
                if (!free(block + "." + i, port)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Whether a listening socket can be bound at host:port now. */
    static boolean free(String host, int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int ephemeral(String host) throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
            return s.getLocalPort();
        }
    }

    /** The choices, {@code key=host:port}, in the order made. */
    Map<String, String> chosen() {
        return Map.copyOf(chosen);
    }

    /** The choices on one line, for the step's output. */
    String describe() {
        StringBuilder sb = new StringBuilder();
        chosen.forEach(
                (k, v) -> sb.append(sb.length() == 0 ? "" : ", ").append(k).append(' ').append(v));
        return sb.toString();
    }

    /** Writes the choices to {@code dir/}{@value #FILE} (readable by all: they are not secret). */
    void write(Path dir) throws IOException {
        // Plain key=value lines (java.util.Properties reads them; Properties.store would escape the
        // colons).
        StringBuilder sb =
                new StringBuilder(
                        "# The host ports of this demo run: the documented ones where free, else picked.\n");
        chosen.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        Files.writeString(dir.resolve(FILE), sb.toString(), StandardCharsets.UTF_8);
    }
}
