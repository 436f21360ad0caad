package io.mithril.cli.demo;

import io.mithril.cli.Cli;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a demo's clusters run and listen: the one place a scenario asks for addresses, ports and
 * network namespaces, so that demos run side by side. Two modes, said in one line ({@link
 * #modeLine()}, "network mode: ..."):
 *
 * <ul>
 *   <li><b>namespaces</b> (root, unless {@code --loopback}): each cluster N gets a network
 *       namespace {@code mithril-<pid>-clusterN} with its own address on the demo's bridge {@code
 *       mithril<pid>} (veth pairs, made by {@link Pods} together with the workloads' pods). Its
 *       identity server, agent, control plane and gateway run inside ({@link #enter}) and listen on
 *       the documented ports of the cluster's address ({@link #port}) or of its loopback ({@link
 *       #localPort}): the namespace is the cluster's own, so nothing collides with another demo.
 *       The host reaches the cluster's address through the bridge; Unix sockets (admin and Workload
 *       API) are reachable from every namespace. Only the ingress gateway is published in the
 *       host's namespace, on 127.0.0.1:{@code --gateway-port}, by a {@link PortForward} in the demo
 *       process (what the seed's {@code kubectl port-forward} does).
 *   <li><b>loopback</b> (another user, {@code --loopback}, or when namespaces cannot be made):
 *       every process in the host's namespace on 127.0.0.1; each port is the documented one when
 *       free, otherwise one the kernel picks ({@link Ports}).
 * </ul>
 *
 * <p>How a scenario uses it (see {@link Scenario} and {@link FederationScenario}):
 *
 * <pre>{@code
 * net = Network.open(demo, 2, podNames);                 // in a step; its detail is modeLine()
 * int port = net.port("cluster1.server", 1, 8081);       // bind/connect on net.address(1)
 * int admin = net.localPort("gateway.admin", 2, 15000);  // on 127.0.0.1 of cluster 2's namespace
 * int published = net.publishGateway(2, 8080);           // 127.0.0.1:published on the host
 * supervisor.start(name, net.enter(1, demo.mithril(...)), env);
 * net.write(dir);                                        // demo-ports.properties
 * }</pre>
 *
 * {@link #exec(int)} gives the {@code ip netns exec ...} prefix for the commands printed with
 * {@code --keep-running}. Closing it (the supervisor does, once every process has exited) stops the
 * forwarder and deletes the namespaces; {@link Pods#removeStale()} deletes those of killed demos.
 */
final class Network implements AutoCloseable {

    /** The two modes. */
    enum Mode {
        NAMESPACES,
        LOOPBACK
    }

    static final String LOOPBACK = "127.0.0.1";

    /** The loopback block of the workloads' "pod IPs" in examples/two-clusters. */
    static final String EXAMPLE_BLOCK = "127.0.1";

    private final DemoCommand demo;
    private final int clusters;
    private final Pods pods;
    private final String why;
    private final Ports ports = new Ports();
    private PortForward forward;
    private String gatewayListen;

    private Network(DemoCommand demo, int clusters, Pods pods, String why) {
        this.demo = demo;
        this.clusters = clusters;
        this.pods = pods;
        this.why = why;
    }

    /**
     * The demo's network: namespaces for clusters 1..{@code clusters} and pods for {@code podNames}
     * when the demo runs as root (and not {@code --loopback}) and they can be made, loopback
     * otherwise. Removes what killed demos left first. The demo closes it when it stops.
     */
    static Network open(DemoCommand demo, int clusters, List<String> podNames)
            throws InterruptedException {
        Network net;
        if (!DemoCommand.isRoot()) {
            net = new Network(demo, clusters, null, "not root");
        } else if (!demo.wantsNamespaces()) {
            net = new Network(demo, clusters, null, "--loopback");
        } else {
            int stale = Pods.removeStale();
            List<String> names = new ArrayList<>();
            for (int c = 1; c <= clusters; c++) {
                names.add(clusterName(c));
            }
            names.addAll(podNames);
            Pods pods;
            String why = stale > 0 ? "removed " + stale + " left by an earlier demo" : null;
            try {
                pods = Pods.create(names);
            } catch (IOException e) {
                pods = null;
                why = "namespaces unavailable: " + e.getMessage();
            }
            net = new Network(demo, clusters, pods, why);
        }
        demo.network(net);
        return net;
    }

    /** The demo's network on loopback only, for a scenario that needs it; {@code why} says so. */
    static Network loopback(DemoCommand demo, int clusters, String why) {
        Network net = new Network(demo, clusters, null, why);
        demo.network(net);
        return net;
    }

    /** The ports chosen so far, for a scenario's own (recorded in the same file). */
    Ports ports() {
        return ports;
    }

    private static String clusterName(int cluster) {
        return "cluster" + cluster;
    }

    Mode mode() {
        return pods == null ? Mode.LOOPBACK : Mode.NAMESPACES;
    }

    boolean namespaces() {
        return pods != null;
    }

    /** The namespaces (clusters and pods), or null in loopback mode. */
    Pods pods() {
        return pods;
    }

    /**
     * The cluster's address: in its namespace, reachable from the host and the other clusters;
     * 127.0.0.1 in loopback mode.
     */
    String address(int cluster) {
        return pods == null ? LOOPBACK : pods.address(clusterName(checked(cluster)));
    }

    /** The cluster's network namespace, or null in loopback mode. */
    String netns(int cluster) {
        return pods == null ? null : pods.netns(clusterName(checked(cluster)));
    }

    private int checked(int cluster) {
        if (cluster < 1 || cluster > clusters) {
            throw new IllegalArgumentException("no cluster " + cluster);
        }
        return cluster;
    }

    /** {@code command} run in the cluster's namespace (unchanged in loopback mode). */
    List<String> enter(int cluster, List<String> command) {
        return pods == null ? command : pods.enter(clusterName(checked(cluster)), command);
    }

    /**
     * What a user types before a command to run it where the cluster's processes run: {@code ip
     * netns exec mithril-<pid>-clusterN } (with a trailing space), or nothing in loopback mode.
     */
    String exec(int cluster) {
        return pods == null ? "" : pods.exec(clusterName(checked(cluster))) + " ";
    }

    /**
     * A port on the cluster's {@link #address}, recorded under {@code key}: {@code documented} in
     * the cluster's own namespace; in loopback mode {@code documented} when free, else a free one.
     */
    int port(String key, int cluster, int documented) throws IOException {
        if (pods == null) {
            return ports.pick(key, LOOPBACK, documented);
        }
        ports.record(key, address(cluster) + ":" + documented);
        return documented;
    }

    /**
     * A port on 127.0.0.1 where the cluster's processes run (in namespaces mode its namespace's own
     * loopback, which the host cannot reach: recorded with {@code key.netns}); as {@link #port}.
     */
    int localPort(String key, int cluster, int documented) throws IOException {
        if (pods == null) {
            return ports.pick(key, LOOPBACK, documented);
        }
        ports.record(key, LOOPBACK + ":" + documented);
        ports.record(key + ".netns", netns(cluster));
        return documented;
    }

    /**
     * Without pods, the first loopback block 127.0.N (from the examples' 127.0.1) whose addresses
     * .1 to .count have {@link Ports#WORKLOAD_PORTS} free; in a cluster's namespace the examples'
     * block itself.
     */
    String workloadBlock(int count) throws IOException {
        if (pods != null) {
            return EXAMPLE_BLOCK;
        }
        return ports.loopbackBlock("workloads", 1, count, Ports.WORKLOAD_PORTS);
    }

    /**
     * Publishes cluster {@code cluster}'s ingress gateway (its listener {@code gatewayPort}) on the
     * host at 127.0.0.1: on {@code --gateway-port} when given (an error when taken), else on 8000
     * when free, else on a free port. In namespaces mode the port is bound here, by a forwarder to
     * the gateway in the cluster's namespace; in loopback mode the gateway binds it itself ({@link
     * #gatewayListen()}). Returns the host port, also set on the demo.
     */
    int publishGateway(int cluster, int gatewayPort) throws IOException {
        int wanted =
                demo.gatewayPortGiven() ? demo.gatewayPort() : DemoCommand.DEFAULT_GATEWAY_PORT;
        int port;
        if (pods != null) {
            InetSocketAddress target = new InetSocketAddress(address(cluster), gatewayPort);
            try {
                forward = PortForward.open(LOOPBACK, wanted, target);
            } catch (IOException e) {
                if (demo.gatewayPortGiven() || !PortForward.inUse(e)) {
                    throw inUse(wanted, e);
                }
                forward = PortForward.open(LOOPBACK, 0, target);
            }
            port = forward.port();
            gatewayListen = address(cluster) + ":" + gatewayPort;
            ports.record("gateway.target", gatewayListen);
        } else {
            if (demo.gatewayPortGiven()) {
                if (!Ports.free(LOOPBACK, wanted)) {
                    throw inUse(wanted, null);
                }
                port = wanted;
            } else {
                port = ports.pick("gateway", LOOPBACK, wanted);
            }
            gatewayListen = LOOPBACK + ":" + port;
        }
        ports.record("gateway", LOOPBACK + ":" + port);
        demo.gatewayPort(port);
        return port;
    }

    private static Cli.UserException inUse(int port, IOException cause) {
        return new Cli.UserException(
                "port "
                        + LOOPBACK
                        + ":"
                        + port
                        + " already in use"
                        + (cause == null || PortForward.inUse(cause)
                                ? ""
                                : " (" + cause.getMessage() + ")")
                        + " (choose another with --gateway-port, or leave it out to get a free one)");
    }

    /**
     * Where the gateway listens ({@code -publish ADDRESS:PORT=<listener>}): the cluster's address
     * in namespaces mode (the forwarder relays to it), the published host port in loopback mode.
     */
    String gatewayListen() {
        if (gatewayListen == null) {
            throw new IllegalStateException("publishGateway first");
        }
        return gatewayListen;
    }

    /** Waits until the gateway listens where {@link #gatewayListen()} says. */
    void awaitGateway(Supervisor.Managed gateway, java.time.Duration timeout)
            throws IOException, InterruptedException {
        String listen = gatewayListen();
        int colon = listen.lastIndexOf(':');
        Checks.await(
                "ingress gateway on "
                        + listen
                        + (namespaces() ? ", published on 127.0.0.1:" + demo.gatewayPort() : ""),
                timeout,
                gateway,
                () ->
                        Checks.listening(
                                listen.substring(0, colon),
                                Integer.parseInt(listen.substring(colon + 1))));
    }

    /**
     * Whether something listens on {@code host:port} where cluster {@code cluster}'s processes run;
     * {@code pid} is a process in that namespace (its /proc/PID/net/tcp tells, for addresses the
     * host cannot reach).
     */
    boolean listening(int cluster, long pid, String host, int port) {
        if (pods == null || !host.startsWith("127.")) {
            return Checks.listening(host, port);
        }
        checked(cluster);
        return Pods.listeningIn(pid, host, port);
    }

    /** The choices made so far, on one line. */
    String describePorts() {
        return ports.describe();
    }

    /** Writes the choices to the state directory's {@value Ports#FILE}, with the mode. */
    void write(Path dir) throws IOException {
        ports.record("mode", mode().name().toLowerCase(java.util.Locale.ROOT));
        if (pods != null) {
            for (int c = 1; c <= clusters; c++) {
                ports.record("cluster" + c + ".netns", netns(c));
                ports.record("cluster" + c + ".address", address(c));
            }
        }
        ports.write(dir);
    }

    /** One line saying which mode this demo uses and why. */
    String modeLine() {
        StringBuilder sb = new StringBuilder("network mode: ");
        if (pods != null) {
            sb.append("namespaces (");
            for (int c = 1; c <= clusters; c++) {
                sb.append(c == 1 ? "" : ", ")
                        .append("cluster ")
                        .append(c)
                        .append(' ')
                        .append(netns(c))
                        .append(' ')
                        .append(address(c));
            }
            sb.append(" on bridge ").append(pods.hostAddress()).append("/24");
            int podCount = pods.addresses().size() - clusters;
            if (podCount > 0) {
                sb.append("; ").append(podCount).append(" pods");
            }
            sb.append("; the ingress gateway published on the host by a forwarder)");
        } else {
            sb.append("loopback (")
                    .append(why)
                    .append(
                            ": every process on 127.0.0.1, each port the documented one if free,"
                                    + " else a free one)");
        }
        if (pods != null && why != null) {
            sb.append("; ").append(why);
        }
        return sb.toString();
    }

    /** Stops the forwarder and deletes the namespaces (once every process has exited). */
    @Override
    public synchronized void close() {
        if (forward != null) {
            forward.close();
        }
        if (pods != null) {
            pods.close();
        }
    }
}
