package io.mithril.cli.demo;

import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * The ready-to-paste commands {@code --keep-running} prints, right for the demo's {@link Network}
 * mode: addresses reachable from the host as they are, and {@code ip netns exec ...} before what
 * only listens inside a cluster's or a pod's namespace. The admin and Workload API sockets are Unix
 * sockets, reachable from every namespace.
 */
final class TryIt {

    private final PrintWriter out;
    private final DemoCommand demo;
    private final Network net;

    TryIt(PrintWriter out, DemoCommand demo, Network net) {
        this.out = out;
        this.demo = demo;
        this.net = net;
    }

    /** A blank line and a heading. */
    TryIt heading(String text) {
        out.println();
        out.println(text);
        return this;
    }

    TryIt comment(String text) {
        out.println("  # " + text);
        return this;
    }

    TryIt command(String text) {
        out.println("  " + text);
        return this;
    }

    /** {@code mithril ARGS} as the user types it. */
    TryIt mithril(String args) {
        return command(demo.launcher() + " " + args);
    }

    /**
     * The status commands of one cluster: its identity server (healthcheck, entries, agents,
     * bundle) and agent (healthcheck), and in namespaces mode what listens in its namespace.
     */
    TryIt cluster(int cluster, String name, String serverAddress, Path adminSocket, Path agent) {
        comment(
                name
                        + ": identity server on "
                        + serverAddress
                        + (net.namespaces() ? " in " + net.netns(cluster) : "")
                        + ", admin socket and Workload API socket:");
        mithril("server healthcheck -socketPath " + adminSocket);
        mithril("server entry show -socketPath " + adminSocket);
        mithril("server agent list -socketPath " + adminSocket);
        mithril("server bundle show -socketPath " + adminSocket);
        mithril("agent healthcheck -socketPath " + agent);
        if (net.namespaces()) {
            command(net.exec(cluster) + "ss -ltnp   # what listens in " + name + "'s namespace");
        }
        return this;
    }

    /** A proxy's admin endpoint ({@code /certs}: the SVID and bundle it serves with). */
    TryIt proxyAdmin(String name, String netns, String hostPort) {
        return command(
                (netns == null ? "" : "ip netns exec " + netns + " ")
                        + "curl -s http://"
                        + hostPort
                        + "/certs   # "
                        + name
                        + "'s admin: the SVID and bundle it serves with");
    }

    /** The control plane's status (which proxies it serves, and whether they ACKed). */
    TryIt controlPlane(int cluster, String adminHostPort) {
        return command(
                net.exec(cluster)
                        + demo.launcher()
                        + " controlplane status -adminAddress "
                        + adminHostPort);
    }

    void flush() {
        out.println("  # the dashboard (below) shows all of it live; Ctrl-C here stops everything");
        out.flush();
    }
}
