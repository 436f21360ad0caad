package io.mithril.cli.dashboard;

import io.mithril.dashboard.Collector;
import io.mithril.dashboard.DashboardServer;
import io.mithril.dashboard.Sources;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

/**
 * The dashboard of {@code mithril demo --keep-running}: served from the demo's own process on
 * 127.0.0.1:15100, or a port the kernel picks when that one is taken (plain HTTP, loopback only),
 * reading the demo's components. A failure to start it is printed and does not stop the demo.
 */
public final class DemoDashboard {

    public static final int PORT = 15100;

    private DemoDashboard() {}

    /** Starts it and prints its address; returns null (after printing why) when it cannot. */
    public static AutoCloseable start(Path dir, PrintWriter out) {
        Collector collector = null;
        try {
            collector =
                    new Collector(
                            Sources.demo(dir, ProcessHandle.current().pid()),
                            Clock.systemUTC(),
                            Duration.ofSeconds(1));
            DashboardServer server;
            try {
                server =
                        DashboardServer.start(
                                new InetSocketAddress(InetAddress.getLoopbackAddress(), PORT),
                                null,
                                collector);
            } catch (java.net.BindException busy) {
                // Another demo (or anything else) holds 15100: as for the demo's other ports, the
                // kernel picks one.
                server =
                        DashboardServer.start(
                                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                                null,
                                collector);
            }
            collector.start();
            out.println("  dashboard: " + server.url() + "  (live; read-only)");
            DashboardServer started = server;
            out.flush();
            Collector c = collector;
            return () -> {
                started.close();
                c.close();
            };
        } catch (IOException | RuntimeException e) {
            if (collector != null) {
                collector.close();
            }
            out.println("  dashboard: not started (" + e.getMessage() + ")");
            out.flush();
            return null;
        }
    }
}
