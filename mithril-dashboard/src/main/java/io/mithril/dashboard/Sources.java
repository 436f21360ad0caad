package io.mithril.dashboard;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Where the dashboard reads from: identity servers' admin sockets (by cluster name), the control
 * plane's admin endpoint, and proxies' admin endpoints. A proxy whose admin port listens on the
 * loopback of a pod (a network namespace of the demo) is read inside that namespace with the real
 * {@code curl} ({@code ip netns exec}); that needs root, as the pods do.
 *
 * @param controlPlaneNetns the network namespace the control plane's admin endpoint listens in
 *     (read there with {@code curl}, as a pod's proxy is), or null for this one
 * @param discoverProxies also read every proxy the control plane lists, at its address, port 15000
 */
public record Sources(
        Map<String, Path> servers,
        String controlPlaneAdmin,
        String controlPlaneNetns,
        List<ProxyAdmin> proxies,
        boolean discoverProxies) {

    /** Sources whose control plane admin endpoint is in this network namespace. */
    public Sources(
            Map<String, Path> servers,
            String controlPlaneAdmin,
            List<ProxyAdmin> proxies,
            boolean discoverProxies) {
        this(servers, controlPlaneAdmin, null, proxies, discoverProxies);
    }

    /**
     * A proxy's admin endpoint: {@code host:port}, inside network namespace {@code netns} unless
     * that is null.
     */
    public record ProxyAdmin(String name, String netns, String hostPort) {
        public ProxyAdmin {
            HostPort.parse(hostPort, "proxy admin address of " + name, false);
        }
    }

    public Sources {
        servers = Map.copyOf(new LinkedHashMap<>(servers));
        proxies = List.copyOf(proxies);
        if (controlPlaneAdmin != null) {
            HostPort.parse(controlPlaneAdmin, "control plane admin address", false);
        }
    }

    private static final Pattern NETNS = Pattern.compile("mithril-(\\d+)-(.+)");

    /**
     * The sources of a running {@code mithril demo} in {@code dir}: both clusters' admin sockets,
     * the control plane's admin endpoint and the ingress gateway's admin (as its
     * demo-ports.properties records them, the gateway's inside cluster 2's network namespace when
     * it names one; 127.0.0.1:15014 and :15000 without one) and the sidecars: in the demo's pods
     * when it made them (network namespaces {@code mithril-<pid>-<workload>} of a live demo; {@code
     * demoPid} picks one, or any live one when it is 0), otherwise every proxy the control plane
     * lists.
     */
    public static Sources demo(Path dir, long demoPid) throws IOException {
        Map<String, Path> servers = new LinkedHashMap<>();
        for (int c : new int[] {1, 2}) {
            Path cluster = dir.resolve("cluster" + c);
            if (!Files.isDirectory(cluster)) {
                throw new IOException(
                        dir + " is not the state directory of a demo: it has no cluster" + c + "/");
            }
            servers.put("cluster" + c, cluster.resolve("server/private/api.sock"));
        }
        // The demo records the host ports it chose (the documented ones unless they were taken).
        java.util.Properties ports = new java.util.Properties();
        Path portsFile = dir.resolve("demo-ports.properties");
        if (Files.isRegularFile(portsFile)) {
            try (var in = Files.newBufferedReader(portsFile)) {
                ports.load(in);
            }
        }
        List<ProxyAdmin> proxies = new ArrayList<>();
        proxies.add(
                new ProxyAdmin(
                        "ingressgateway",
                        // In cluster 2's network namespace when the demo made one.
                        ports.getProperty("gateway.admin.netns"),
                        ports.getProperty("gateway.admin", "127.0.0.1:15000")));
        Path netnsDir = Path.of("/run/netns");
        if (Files.isDirectory(netnsDir)) {
            try (Stream<Path> s = Files.list(netnsDir)) {
                for (Path p : s.sorted().toList()) {
                    Matcher m = NETNS.matcher(p.getFileName().toString());
                    // The clusters' own namespaces (mithril-<pid>-clusterN) hold no sidecar.
                    if (!m.matches() || m.group(2).matches("cluster\\d+")) {
                        continue;
                    }
                    long pid = Long.parseLong(m.group(1));
                    boolean wanted =
                            demoPid != 0
                                    ? pid == demoPid
                                    : ProcessHandle.of(pid)
                                            .map(ProcessHandle::isAlive)
                                            .orElse(false);
                    if (wanted) {
                        proxies.add(
                                new ProxyAdmin(
                                        m.group(2), p.getFileName().toString(), "127.0.0.1:15000"));
                    }
                }
            }
        }
        return new Sources(
                servers,
                ports.getProperty("controlplane.admin", "127.0.0.1:15014"),
                // In cluster 2's network namespace when the demo made one.
                ports.getProperty("controlplane.admin.netns"),
                proxies,
                proxies.size() == 1);
    }
}
