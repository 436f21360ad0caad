package io.mithril.cli.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Network namespaces for the demo, as Kubernetes gives Istio: under root, each cluster (see {@link
 * Network}) and each pod (a workload: app and sidecar) runs in a network namespace of its own,
 * joined to the host by a veth pair on one bridge. In a pod the app listens on the pod's loopback,
 * and so do the sidecar's outbound listener and admin port; only the sidecar's inbound mTLS port
 * listens on the pod's address, so a local user in the host's namespace can neither call an app
 * directly nor use a sidecar as a proxy.
 *
 * <p>Names carry the demo's pid (netns {@code mithril-<pid>-<workload>}, bridge {@code
 * mithril<pid>}, host ends {@code mv<pid>-<n>}): {@link #removeStale()} deletes those of demos that
 * are gone (killed with -9, crashed), and {@link #close()} deletes this run's.
 */
final class Pods implements AutoCloseable {

    /**
     * The pods' subnet: the host (bridge) is .1, pods from .2; the first that no route already
     * covers (10.213.0 to 10.213.63, then 172.30.213 and 192.168.213): one per running demo.
     */
    private static final List<String> SUBNETS = subnets();

    /**
     * Held while a demo chooses its subnet and adds its bridge, so that two demos starting at once
     * do not take the same one.
     */
    private static final Path LOCK = Path.of("/run/mithril-demo-net.lock");

    private static final Path NETNS_DIR = Path.of("/run/netns");
    private static final String PREFIX = "mithril-";

    private final long pid;
    private final String subnet;
    private final Map<String, String> addresses = new LinkedHashMap<>();
    private boolean closed;

    private Pods(long pid, String subnet) {
        this.pid = pid;
        this.subnet = subnet;
    }

    /**
     * Creates one pod per name (in order: addresses .2, .3, ...), or explains why it cannot.
     *
     * @throws IOException with the reason (no {@code ip}, no CAP_NET_ADMIN, no free subnet); what
     *     was created is removed again
     */
    static Pods create(List<String> names) throws IOException, InterruptedException {
        for (String tool : List.of("ip", "nsenter")) {
            if (!Checks.onPath(tool)) {
                throw new IOException(tool + " is not installed");
            }
        }
        Pods pods;
        try (java.nio.channels.FileChannel lock =
                        java.nio.channels.FileChannel.open(
                                LOCK,
                                java.nio.file.StandardOpenOption.CREATE,
                                java.nio.file.StandardOpenOption.WRITE);
                java.nio.channels.FileLock held = lock.lock()) {
            pods = new Pods(ProcessHandle.current().pid(), freeSubnet());
            // The bridge and its address (so its route) exist before the lock is released.
            try {
                ip(
                        List.of("ip", "-batch", "-"),
                        "link add "
                                + pods.bridge()
                                + " type bridge\naddr add "
                                + pods.hostAddress()
                                + "/24 dev "
                                + pods.bridge()
                                + "\nlink set "
                                + pods.bridge()
                                + " up\n");
            } catch (IOException | InterruptedException e) {
                pods.close();
                throw e;
            }
        }
        StringBuilder host = new StringBuilder();
        int n = 0;
        for (String name : names) {
            n++;
            pods.addresses.put(name, pods.subnet + "." + (n + 1));
            String ns = pods.netns(name);
            String veth = "mv" + pods.pid + "-" + n;
            host.append("netns add ")
                    .append(ns)
                    .append('\n')
                    .append("link add ")
                    .append(veth)
                    .append(" type veth peer name eth0 netns ")
                    .append(ns)
                    .append('\n')
                    .append("link set ")
                    .append(veth)
                    .append(" master ")
                    .append(pods.bridge())
                    .append(" up\n");
        }
        try {
            ip(List.of("ip", "-batch", "-"), host.toString());
            // Inside each pod (all at once): loopback up, the pod's address on its end of the pair.
            List<Process> inside = new ArrayList<>();
            for (Map.Entry<String, String> e : pods.addresses.entrySet()) {
                inside.add(
                        start(
                                List.of("ip", "-n", pods.netns(e.getKey()), "-batch", "-"),
                                "link set lo up\naddr add "
                                        + e.getValue()
                                        + "/24 dev eth0\nlink set eth0 up\n"));
            }
            for (Process p : inside) {
                finish(p);
            }
        } catch (IOException | InterruptedException e) {
            pods.close();
            throw e;
        }
        return pods;
    }

    /**
     * Deletes the namespaces and bridges of demos whose process is gone (or is no longer a demo:
     * the pid was reused). Returns how many it removed.
     */
    static int removeStale() {
        StringBuilder batch = new StringBuilder();
        int removed = 0;
        if (Files.isDirectory(NETNS_DIR)) {
            try (Stream<Path> all = Files.list(NETNS_DIR)) {
                for (Path p : (Iterable<Path>) all::iterator) {
                    String name = p.getFileName().toString();
                    Optional<Long> owner =
                            ownerPid(
                                    name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : "",
                                    '-');
                    if (owner.isPresent() && !demoAlive(owner.get())) {
                        batch.append("netns del ").append(name).append('\n');
                        removed++;
                    }
                }
            } catch (IOException e) {
                return 0;
            }
        }
        try {
            Checks.Exec links =
                    Checks.exec(
                            List.of("ip", "-o", "link", "show", "type", "bridge"),
                            Duration.ofSeconds(10));
            for (String line : links.out().split("\n")) {
                String[] f = line.split(":\\s*");
                if (f.length > 1 && f[1].matches("mithril\\d+")) {
                    long owner = Long.parseLong(f[1].substring("mithril".length()));
                    if (!demoAlive(owner)) {
                        batch.append("link del ").append(f[1]).append('\n');
                        removed++;
                    }
                }
            }
            if (batch.length() > 0) {
                // -force: one stale item that is already gone does not stop the others.
                ip(List.of("ip", "-force", "-batch", "-"), batch.toString());
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            // best effort: a leftover costs a name, not correctness (this run's names carry its own
            // pid)
        }
        return removed;
    }

    private static Optional<Long> ownerPid(String rest, char end) {
        int i = rest.indexOf(end);
        if (i <= 0) {
            return Optional.empty();
        }
        try {
            return Optional.of(Long.parseLong(rest.substring(0, i)));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static boolean demoAlive(long pid) {
        return ProcessHandle.of(pid)
                .flatMap(h -> h.info().commandLine())
                .map(c -> c.contains(" demo"))
                .orElse(false);
    }

    /** The first candidate subnet that no route of the host overlaps. */
    private static String freeSubnet() throws IOException, InterruptedException {
        Checks.Exec routes =
                Checks.exec(
                        List.of("ip", "-4", "-o", "route", "show", "table", "all"),
                        Duration.ofSeconds(10));
        List<long[]> taken = new ArrayList<>();
        for (String line : routes.out().split("\n")) {
            String dst = line.trim().split("\\s+")[0];
            if (dst.equals("local") || dst.equals("broadcast")) {
                dst = line.trim().split("\\s+")[1];
            }
            if (dst.matches("\\d+\\.\\d+\\.\\d+\\.\\d+(/\\d+)?")) {
                String[] p = dst.split("/");
                int bits = p.length > 1 ? Integer.parseInt(p[1]) : 32;
                long mask = bits == 0 ? 0 : (0xFFFFFFFFL << (32 - bits)) & 0xFFFFFFFFL;
                taken.add(new long[] {ipv4(p[0]) & mask, mask});
            }
        }
        for (String candidate : SUBNETS) {
            long net = ipv4(candidate + ".0");
            long mask = 0xFFFFFF00L;
            boolean overlaps =
                    taken.stream()
                            .anyMatch(
                                    t -> {
                                        long common = t[1] & mask;
                                        return (t[0] & common) == (net & common) && t[1] != 0;
                                    });
            if (!overlaps) {
                return candidate;
            }
        }
        throw new IOException(
                "every candidate subnet (10.213.0-63.0/24, 172.30.213.0/24, 192.168.213.0/24) is"
                        + " routed on this host already");
    }

    private static List<String> subnets() {
        List<String> all = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            all.add("10.213." + i);
        }
        all.add("172.30.213");
        all.add("192.168.213");
        return List.copyOf(all);
    }

    private static long ipv4(String dotted) {
        long v = 0;
        for (String octet : dotted.split("\\.")) {
            v = (v << 8) | Integer.parseInt(octet);
        }
        return v;
    }

    private static void ip(List<String> cmd, String batch)
            throws IOException, InterruptedException {
        finish(start(cmd, batch));
    }

    private static Process start(List<String> cmd, String batch) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            in.write(batch.getBytes(StandardCharsets.US_ASCII));
        }
        return p;
    }

    private static void finish(Process p) throws IOException, InterruptedException {
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(
                    String.join(" ", p.info().commandLine().orElse("ip"))
                            + " failed: "
                            + out.strip());
        }
    }

    private String bridge() {
        return "mithril" + pid;
    }

    /** The network namespace of a pod. */
    String netns(String name) {
        return PREFIX + pid + "-" + name;
    }

    /**
     * The host's address on the pods' bridge: what pods reach the host's services (control plane)
     * on.
     */
    String hostAddress() {
        return subnet + ".1";
    }

    /** The pod's address (where its sidecar's inbound port listens). */
    String address(String name) {
        String a = addresses.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no pod " + name);
        }
        return a;
    }

    Map<String, String> addresses() {
        return Map.copyOf(addresses);
    }

    /**
     * The prefix a user types to run a command inside the namespace ({@code ip netns exec NAME}),
     * for the commands the demo prints.
     */
    String exec(String name) {
        return "ip netns exec " + netns(name);
    }

    /** {@code command} run inside the pod's network namespace (nsenter execs it: same pid). */
    List<String> enter(String name, List<String> command) {
        List<String> cmd =
                new ArrayList<>(
                        List.of("nsenter", "--net=" + NETNS_DIR.resolve(netns(name)), "--"));
        cmd.addAll(command);
        return cmd;
    }

    /**
     * Whether a process listens on TCP {@code port} in its own network namespace, from
     * /proc/PID/net/tcp (what the kernel shows of that process's namespace): how the demo sees a
     * pod's loopback-only listeners from the host without entering the pod.
     */
    static boolean listeningIn(long pid, int port) {
        return listeningIn(pid, null, port);
    }

    /**
     * Whether a process's network namespace has a TCP listener on {@code address:port} (any address
     * when null, or a listener on the wildcard address).
     */
    static boolean listeningIn(long pid, String address, int port) {
        String hexPort = String.format(":%04X", port);
        // /proc/net/tcp writes an IPv4 address as one 32-bit word in host (little-endian) order;
        // tcp6 writes an IPv4-mapped one as its last word the same way.
        String hexAddress = null;
        if (address != null) {
            long a = ipv4(address);
            hexAddress =
                    String.format(
                            "%02X%02X%02X%02X",
                            a & 0xFF, (a >> 8) & 0xFF, (a >> 16) & 0xFF, (a >> 24) & 0xFF);
        }
        for (String table : List.of("tcp", "tcp6")) {
            try {
                for (String line :
                        Files.readAllLines(Path.of("/proc", Long.toString(pid), "net", table))) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length <= 3 || !f[1].endsWith(hexPort) || !f[3].equals("0A")) {
                        continue;
                    }
                    String local = f[1].substring(0, f[1].length() - hexPort.length());
                    if (hexAddress == null
                            || local.endsWith(hexAddress)
                            || local.chars().allMatch(ch -> ch == '0')) {
                        return true;
                    }
                }
            } catch (IOException e) {
                // not started yet, or gone
            }
        }
        return false;
    }

    /** Deletes this run's pods and bridge (the veth pairs go with their namespaces). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        StringBuilder batch = new StringBuilder();
        for (String name : addresses.keySet()) {
            batch.append("netns del ").append(netns(name)).append('\n');
        }
        batch.append("link del ").append(bridge()).append('\n');
        try {
            ip(List.of("ip", "-force", "-batch", "-"), batch.toString());
        } catch (IOException | InterruptedException e) {
            // the next demo removes what is left (removeStale)
        }
    }
}
