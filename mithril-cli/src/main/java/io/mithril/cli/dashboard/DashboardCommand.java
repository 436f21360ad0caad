package io.mithril.cli.dashboard;

import io.mithril.cli.Cli;
import io.mithril.dashboard.Collector;
import io.mithril.dashboard.DashboardServer;
import io.mithril.dashboard.HostPort;
import io.mithril.dashboard.Sources;
import io.mithril.spiffe.id.SpiffeId;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mithril dashboard}: a read-only web page of the identities, the mesh and its events, fed
 * by the components' own admin APIs (see docs/dashboard.md).
 */
@Command(
        name = "dashboard",
        mixinStandardHelpOptions = true,
        description = {
            "Serve a live, read-only web dashboard: trust domains and CAs, agents, entries, the mesh graph, events.",
            "",
            "Reads identity servers' admin sockets, the control plane's admin endpoint and the proxies' admin",
            "endpoints. On 127.0.0.1 (the default) it is plain HTTP; any other address is served only over mTLS",
            "to the SPIFFE IDs given with -allowedID."
        })
public final class DashboardCommand implements Callable<Integer> {

    @Option(
            names = {"-address", "--address"},
            defaultValue = "127.0.0.1:15100",
            paramLabel = "HOST:PORT",
            description = "Where to serve the page (default: ${DEFAULT-VALUE}).")
    String address;

    @Option(
            names = {"-dir", "--dir"},
            paramLabel = "DIR",
            description = "Read a running `mithril demo` with this state directory.")
    Path dir;

    @Option(
            names = "-serverSocket",
            paramLabel = "CLUSTER=SOCKET",
            description = "An identity server's admin socket, by cluster name (repeatable).")
    Map<String, Path> servers = new LinkedHashMap<>();

    @Option(
            names = "-controlPlaneAdmin",
            paramLabel = "HOST:PORT",
            description = "The control plane's admin endpoint (e.g. 127.0.0.1:15014).")
    String controlPlane;

    @Option(
            names = "-proxyAdmin",
            paramLabel = "[NAME=]HOST:PORT",
            description =
                    "A proxy's admin endpoint (repeatable); proxies the control plane lists are read at their address, port 15000.")
    List<String> proxies = new ArrayList<>();

    @Option(
            names = "-cert",
            paramLabel = "FILE",
            description = "mTLS (non-loopback address): the dashboard's X509-SVID chain (PEM).")
    Path cert;

    @Option(names = "-key", paramLabel = "FILE", description = "mTLS: its private key (PEM).")
    Path key;

    @Option(
            names = "-bundle",
            paramLabel = "FILE",
            description = "mTLS: the trust bundle clients' SVIDs must chain to (PEM).")
    Path bundle;

    @Option(
            names = "-allowedID",
            paramLabel = "SPIFFE_ID",
            description = "mTLS: a SPIFFE ID allowed to see the dashboard (repeatable).")
    List<String> allowed = new ArrayList<>();

    @Option(
            names = "-interval",
            defaultValue = "1s",
            paramLabel = "DURATION",
            description = "How often to read the sources (default: ${DEFAULT-VALUE}).")
    String interval;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Sources sources;
        if (dir != null) {
            sources = Sources.demo(dir.toAbsolutePath().normalize(), 0);
        } else {
            List<Sources.ProxyAdmin> admins = proxyAdmins(proxies);
            if (servers.isEmpty() && controlPlane == null && admins.isEmpty()) {
                throw new Cli.UserException(
                        "nothing to show: give -dir DIR of a demo, or -serverSocket, -controlPlaneAdmin, -proxyAdmin");
            }
            sources = new Sources(servers, controlPlane, admins, controlPlane != null);
        }
        InetSocketAddress bind = parseAddress(address);
        DashboardServer.Mtls mtls = null;
        if (cert != null || key != null || bundle != null || !allowed.isEmpty()) {
            if (cert == null || key == null || bundle == null) {
                throw new Cli.UserException(
                        "-cert, -key and -bundle go together (with -allowedID)");
            }
            List<SpiffeId> ids =
                    io.mithril.cli.inspect.InspectCommand.spiffeIds("-allowedID", allowed);
            mtls = new DashboardServer.Mtls(cert, key, bundle, ids);
        }
        Collector collector = new Collector(sources, Clock.systemUTC(), parseDuration(interval));
        DashboardServer server;
        try {
            server = DashboardServer.start(bind, mtls, collector);
        } catch (IllegalArgumentException e) {
            collector.close();
            throw new Cli.UserException(e.getMessage());
        } catch (IOException e) {
            collector.close();
            throw new Cli.UserException(
                    "cannot serve the dashboard on " + address + ": " + e.getMessage());
        }
        collector.start();
        PrintWriter out = spec.commandLine().getOut();
        out.println("dashboard: " + server.url());
        out.flush();
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    server.close();
                                    collector.close();
                                }));
        new CountDownLatch(1).await();
        return 0;
    }

    /** {@code -proxyAdmin [NAME=]HOST:PORT} values (the name defaults to the address). */
    public static List<Sources.ProxyAdmin> proxyAdmins(List<String> values) {
        List<Sources.ProxyAdmin> admins = new ArrayList<>();
        for (String p : values) {
            int eq = p.indexOf('=');
            try {
                admins.add(
                        new Sources.ProxyAdmin(
                                eq > 0 ? p.substring(0, eq) : p,
                                null,
                                eq > 0 ? p.substring(eq + 1) : p));
            } catch (IllegalArgumentException e) {
                throw new Cli.UserException("-proxyAdmin: " + e.getMessage());
            }
        }
        return admins;
    }

    static InetSocketAddress parseAddress(String hostPort) {
        try {
            return HostPort.parse(hostPort, "-address", true).resolve("-address");
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException(e.getMessage());
        }
    }

    static Duration parseDuration(String s) {
        try {
            Duration d =
                    s.endsWith("ms")
                            ? Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)))
                            : s.endsWith("s")
                                    ? Duration.ofSeconds(
                                            Long.parseLong(s.substring(0, s.length() - 1)))
                                    : Duration.ofSeconds(Long.parseLong(s));
            if (d.toMillis() < 100) {
                throw new Cli.UserException("-interval " + s + " is below 100ms");
            }
            return d;
        } catch (NumberFormatException e) {
            throw new Cli.UserException("-interval " + s + ": expected e.g. 1s or 500ms");
        }
    }
}
