package io.mithril.cli.controlplane;

import io.mithril.cli.Cli;
import io.mithril.controlplane.AdminServer;
import io.mithril.controlplane.ControlPlaneConfig;
import io.mithril.controlplane.ControlPlaneConfigException;
import io.mithril.controlplane.ControlPlaneServer;
import io.mithril.controlplane.ControlPlaneStatus;
import io.mithril.controlplane.StatusTable;
import io.mithril.controlplane.k8s.KubernetesConfigMirror;
import io.mithril.hcl.GoDuration;
import io.mithril.k8s.KubeClients;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mithril controlplane ...}: the control plane (Mithril's istiod). {@code run} serves the
 * mesh configuration of a watched directory to proxies over mTLS with the control plane's own SVID;
 * {@code status} shows the connected proxies like {@code istioctl proxy-status}.
 */
@Command(
        name = "controlplane",
        mixinStandardHelpOptions = true,
        description = "Run the control plane (istiod's part) or show the proxies connected to it.",
        subcommands = {
            ControlPlaneCommand.Run.class,
            ControlPlaneCommand.Status.class,
            ConfigDumpCommand.class,
            CommandLine.HelpCommand.class
        })
public final class ControlPlaneCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code mithril controlplane run -config controlplane.conf}. */
    @Command(
            name = "run",
            mixinStandardHelpOptions = true,
            description =
                    "Serve the Istio configuration of a directory to gateways and sidecars over Envoy's xDS (ADS), compiled per proxy (runs until stopped).")
    public static final class Run implements Callable<Integer> {

        @Option(
                names = {"-config", "--config"},
                required = true,
                paramLabel = "FILE",
                description = "Control plane configuration file (HCL, see docs/controlplane.md).")
        Path config;

        @Option(
                names = {"-expandEnv", "--expandEnv"},
                description = "Expand environment variables ($VAR, $${VAR}) in the config file.")
        boolean expandEnv;

        @Option(
                names = {"-svidTimeout", "--svidTimeout"},
                defaultValue = "30s",
                paramLabel = "DURATION",
                description =
                        "How long to wait for the SVID from the Workload API at startup (default ${DEFAULT-VALUE}).")
        String svidTimeout;

        @Option(
                names = {"-kubernetes", "--kubernetes"},
                description =
                        "Also read Istio's resources (Gateway, VirtualService, DestinationRule, ServiceEntry, "
                                + "WorkloadEntry, PeerAuthentication, AuthorizationPolicy), Services and EndpointSlices from the "
                                + "Kubernetes API, with the in-cluster configuration, into config_dir (see docs/controlplane-kubernetes.md).")
        boolean kubernetes;

        @Option(
                names = {"-kubeconfig", "--kubeconfig"},
                paramLabel = "FILE",
                description =
                        "Read Istio's resources from the cluster this kubeconfig names (implies -kubernetes).")
        Path kubeconfig;

        @Option(
                names = {"-httpAddr", "--httpAddr"},
                paramLabel = "[ADDR]:PORT",
                description =
                        "istiod's readiness endpoint for the kubelet's probes: only GET /ready (200 once the control plane "
                                + "serves with its SVID, 503 with the reason otherwise), e.g. -httpAddr :8080 (all addresses). Default: none")
        String httpAddr;

        @Option(
                names = {"-clusterDomain", "--clusterDomain"},
                paramLabel = "DOMAIN",
                description =
                        "The cluster's DNS domain, for the hosts of Services read from the Kubernetes API (default: ${DEFAULT-VALUE}).")
        String clusterDomain = "cluster.local";

        @Override
        public Integer call() throws Exception {
            if (!Files.isRegularFile(config)) {
                throw new Cli.UserException("configuration file " + config + " does not exist");
            }
            ControlPlaneConfig cfg;
            try {
                cfg = ControlPlaneConfig.load(config, expandEnv ? System.getenv() : null);
            } catch (ControlPlaneConfigException e) {
                throw new Cli.UserException(e.getMessage(), e);
            }
            setLogLevel(cfg.logLevel());
            Duration timeout = parseDuration(svidTimeout);
            KubernetesConfigMirror mirror = kubernetes || kubeconfig != null ? mirror(cfg) : null;
            ControlPlaneServer started = null;
            try {
                started = ControlPlaneServer.start(cfg, timeout);
            } catch (ControlPlaneConfigException e) {
                throw new Cli.UserException(e.getMessage(), e);
            } catch (IOException e) {
                throw new Cli.UserException("cannot start the control plane: " + e.getMessage(), e);
            } catch (RuntimeException e) {
                throw new Cli.UserException("cannot start the control plane: " + e.getMessage(), e);
            } finally {
                if (started == null && mirror != null) {
                    mirror.close();
                }
            }
            ControlPlaneServer server = started;
            io.mithril.cli.HealthEndpoint ready = null;
            if (httpAddr != null) {
                try {
                    ready =
                            io.mithril.cli.HealthEndpoint.start(
                                    httpAddress(httpAddr),
                                    java.util.Map.of("/ready", () -> notReadyReason(server)));
                } catch (IOException e) {
                    server.close();
                    if (mirror != null) {
                        mirror.close();
                    }
                    throw new Cli.UserException(
                            "-httpAddr " + httpAddr + ": cannot listen: " + e.getMessage(), e);
                }
            }
            io.mithril.cli.HealthEndpoint readyEndpoint = ready;
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime()
                    .addShutdownHook(
                            new Thread(
                                    () -> {
                                        if (readyEndpoint != null) {
                                            readyEndpoint.close();
                                        }
                                        server.close();
                                        if (mirror != null) {
                                            mirror.close();
                                        }
                                        stopped.countDown();
                                    },
                                    "controlplane-shutdown"));
            stopped.await();
            return 0;
        }

        /**
         * Mirrors the cluster's Istio resources into config_dir before the watcher first reads it.
         */
        private KubernetesConfigMirror mirror(ControlPlaneConfig cfg) {
            String what = kubeconfig == null ? "-kubernetes" : "-kubeconfig " + kubeconfig;
            try {
                KubernetesConfigMirror m =
                        KubernetesConfigMirror.start(
                                KubeClients.create(kubeconfig, what),
                                cfg.configDir(),
                                cfg.trustDomain().name(),
                                clusterDomain);
                LoggerFactory.getLogger(ControlPlaneCommand.class)
                        .info(
                                "reading Istio resources from the Kubernetes API ({}) into {}",
                                kubeconfig == null ? "in-cluster" : kubeconfig,
                                cfg.configDir());
                return m;
            } catch (IllegalArgumentException
                    | IOException
                    | io.fabric8.kubernetes.client.KubernetesClientException e) {
                throw new Cli.UserException(
                        what
                                + ": cannot read Istio resources from the Kubernetes API: "
                                + e.getMessage(),
                        e);
            }
        }

        /**
         * istiod's: empty until the control plane serves a configuration it loaded, with its own
         * SVID.
         */
        static String notReadyReason(ControlPlaneServer server) {
            var status = server.controlPlane().status();
            if (status.spiffeId() == null || status.spiffeId().isEmpty()) {
                return "no SVID from the Workload API";
            }
            if (java.time.Instant.EPOCH.equals(server.controlPlane().current().loadedAt())) {
                List<String> rejected = status.rejectedErrors();
                return rejected.isEmpty()
                        ? "no configuration loaded yet"
                        : "the first configuration was rejected ("
                                + rejected.size()
                                + " errors; see mithril controlplane status)";
            }
            return "";
        }

        /** {@code :8080} (all addresses, as istiod's {@code --httpAddr}), {@code host:port}. */
        static java.net.InetSocketAddress httpAddress(String s) {
            int colon = s.lastIndexOf(':');
            String host = colon <= 0 ? "0.0.0.0" : s.substring(0, colon);
            String port = colon < 0 ? s : s.substring(colon + 1);
            try {
                int p = Integer.parseInt(port);
                if (p < 1 || p > 65535) {
                    throw new NumberFormatException();
                }
                return new java.net.InetSocketAddress(
                        host.startsWith("[") ? host.substring(1, host.length() - 1) : host, p);
            } catch (NumberFormatException e) {
                throw new Cli.UserException(
                        "-httpAddr " + s + ": write [ADDR]:PORT with a port 1-65535, e.g. :8080");
            }
        }

        private static Duration parseDuration(String s) {
            try {
                return GoDuration.parse(s);
            } catch (IllegalArgumentException e) {
                throw new Cli.UserException(
                        "-svidTimeout \"" + s + "\" is not a duration (e.g. 30s, 500ms, 2m)");
            }
        }

        private static void setLogLevel(String level) {
            if (LoggerFactory.getILoggerFactory()
                    instanceof ch.qos.logback.classic.LoggerContext ctx) {
                ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)
                        .setLevel(
                                ch.qos.logback.classic.Level.toLevel(
                                        level, ch.qos.logback.classic.Level.INFO));
            }
        }
    }

    /** {@code mithril controlplane status}: like {@code istioctl proxy-status}. */
    @Command(
            name = "status",
            mixinStandardHelpOptions = true,
            description =
                    "Show each proxy connected over xDS (ADS): name, SPIFFE ID, kind, namespace, per xDS type SYNCED/STALE/NACKED/NOT SENT, and any NACK error.")
    public static final class Status implements Callable<Integer> {

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @CommandLine.Mixin AdminEndpoint admin = new AdminEndpoint();

        @Option(
                names = {"-output", "--output"},
                defaultValue = "table",
                paramLabel = "table|json",
                description = "Output format (default ${DEFAULT-VALUE}).")
        String output;

        @Override
        public Integer call() throws Exception {
            String address = admin.address();
            if (!output.equals("table") && !output.equals("json")) {
                throw new Cli.UserException("-output \"" + output + "\": use table or json");
            }
            HttpResponse<String> r = AdminEndpoint.get(address, "/debug/syncz");
            if (r.statusCode() != 200) {
                throw new Cli.UserException(
                        "http://"
                                + address
                                + "/debug/syncz answered HTTP "
                                + r.statusCode()
                                + ": is this a Mithril control plane admin endpoint?");
            }
            String body = r.body();
            PrintWriter out = spec.commandLine().getOut();
            if (output.equals("json")) {
                out.print(body);
            } else {
                ControlPlaneStatus status =
                        AdminServer.JSON.readValue(body, ControlPlaneStatus.class);
                out.print(StatusTable.format(status));
            }
            out.flush();
            return 0;
        }
    }
}
