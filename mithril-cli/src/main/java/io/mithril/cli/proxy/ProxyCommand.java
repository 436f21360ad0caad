package io.mithril.cli.proxy;

import io.mithril.api.workload.client.WorkloadApiAddress;
import io.mithril.cli.Cli;
import io.mithril.hcl.GoDuration;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.proxy.Proxy;
import io.mithril.proxy.ProxySettings;
import io.mithril.proxy.config.ConfigDirectoryWatcher;
import io.mithril.proxy.http.RequestPath;
import io.mithril.proxy.identity.DeferredIdentitySource;
import io.mithril.proxy.identity.WorkloadApiIdentitySource;
import io.mithril.spiffe.id.SpiffeId;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mithril proxy gateway|sidecar}: runs the data plane with its identity from the Workload
 * API and its configuration over Envoy's xDS from the control plane ({@code -controlPlane}), or,
 * for local use, from a watched directory of Istio YAML compiled in the proxy ({@code -configDir}).
 */
@Command(
        name = "proxy",
        mixinStandardHelpOptions = true,
        description =
                "Run the mesh data plane: an ingress/egress gateway or a workload's sidecar; "
                        + "or write an Envoy bootstrap for one.",
        subcommands = {
            ProxyCommand.Gateway.class,
            ProxyCommand.Sidecar.class,
            BootstrapCommand.class,
            CommandLine.HelpCommand.class
        })
public final class ProxyCommand implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(ProxyCommand.class);

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Options both modes share. */
    abstract static class Common implements Callable<Integer> {
        @Option(
                names = {"-socketPath", "--socketPath"},
                description =
                        "Workload API socket (path, unix:///path or tcp://ip:port); "
                                + "default: $SPIFFE_ENDPOINT_SOCKET, else "
                                + WorkloadApiAddress.DEFAULT_SOCKET_PATH)
        String socketPath;

        @Option(
                names = {"-spiffeID", "--spiffeID"},
                description =
                        "Use this SVID among those the Workload API sends (default: the first)")
        String spiffeId;

        @Option(
                names = {"-configDir", "--configDir"},
                description = "Directory of Istio YAML, watched for changes (or -controlPlane)")
        Path configDir;

        @Option(
                names = {"-controlPlane", "--controlPlane"},
                paramLabel = "HOST:PORT",
                description =
                        "Take the configuration over Envoy's xDS (ADS) from the control plane at this address "
                                + "(instead of -configDir)")
        String controlPlane;

        @Option(
                names = {"-controlPlaneID", "--controlPlaneID"},
                paramLabel = "SPIFFE_ID",
                description =
                        "The only SPIFFE ID accepted from the control plane, e.g. spiffe://example.org/ns/istio-system/sa/istiod")
        String controlPlaneId;

        @Option(
                names = {"-label", "--label"},
                description = "Proxy label key=value (repeatable), e.g. istio=ingressgateway")
        List<String> labels = new ArrayList<>();

        @Option(
                names = {"-publish", "--publish"},
                description = "Bind a listener elsewhere: [addr:]port=listenerPort (repeatable)")
        List<String> publish = new ArrayList<>();

        @Option(
                names = {"-admin", "--admin"},
                description =
                        "Admin endpoint [addr:]port (readiness, config, metrics); default 127.0.0.1:15000")
        String admin = "127.0.0.1:15000";

        @Option(
                names = {"-statusPort", "--statusPort"},
                paramLabel = "[ADDR:]PORT",
                description =
                        "Istio's status port for the kubelet's probes: only GET /healthz/ready (200 when ready, 503 with "
                                + "the reason), on 0.0.0.0 unless ADDR is given; e.g. -statusPort 15021. Default: none")
        String statusPort;

        @Option(
                names = {"-trustDomain", "--trustDomain"},
                description =
                        "Trust domain for service account identities (default: the -spiffeID's, else example.org)")
        String trustDomain;

        @Option(
                names = {"-maxHeaderBytes", "--maxHeaderBytes"},
                description = "Request header limit (431 above); default ${DEFAULT-VALUE}")
        int maxHeaderBytes = ProxySettings.DEFAULT_MAX_HEADER_BYTES;

        @Option(
                names = {"-maxBodyBytes", "--maxBodyBytes"},
                description =
                        "Request body limit (413 above); default none (0), as Envoy: bodies stream")
        long maxBodyBytes = ProxySettings.DEFAULT_MAX_BODY_BYTES;

        @Option(
                names = {"-maxBufferedBodyBytes", "--maxBufferedBodyBytes"},
                description =
                        "Request body bytes all requests together may keep for retries and mirrors (1 MiB at most each); "
                                + "default: a quarter of the direct memory, at most 256 MiB")
        Long maxBufferedBodyBytes;

        @Option(
                names = {"-requestHeadersTimeout", "--requestHeadersTimeout"},
                paramLabel = "DURATION",
                description =
                        "Time for a request's headers to arrive (408 after); default ${DEFAULT-VALUE}")
        String requestHeadersTimeout = "10s";

        @Option(
                names = {"-streamIdleTimeout", "--streamIdleTimeout"},
                paramLabel = "DURATION",
                description =
                        "Time without a byte of a request's body (408 after); default ${DEFAULT-VALUE}")
        String streamIdleTimeout = "5m";

        @Option(
                names = {"-idleTimeout", "--idleTimeout"},
                paramLabel = "DURATION",
                description =
                        "Time a connection may stay open without a request; default ${DEFAULT-VALUE}")
        String idleTimeout = "1h";

        @Option(
                names = {"-pathNormalization", "--pathNormalization"},
                description =
                        "Istio's meshConfig.pathNormalization: ${COMPLETION-CANDIDATES}; default ${DEFAULT-VALUE}")
        RequestPath.Normalization pathNormalization =
                RequestPath.Normalization.DECODE_AND_MERGE_SLASHES;

        @Option(
                names = {"-noAccessLog", "--noAccessLog"},
                description = "Do not log one line per request")
        boolean noAccessLog;

        abstract ProxyNode node(Map<String, String> labels, String trustDomain);

        @Override
        public Integer call() throws Exception {
            if ((configDir == null) == (controlPlane == null)) {
                throw new Cli.UserException(
                        "give either -configDir DIR or -controlPlane HOST:PORT (with -controlPlaneID)");
            }
            if (configDir != null && !Files.isDirectory(configDir)) {
                throw new Cli.UserException("-configDir " + configDir + " is not a directory");
            }
            SpiffeId cpId =
                    controlPlane == null
                            ? null
                            : ControlPlaneOptions.controlPlaneId(controlPlaneId);
            SpiffeId wanted = null;
            if (spiffeId != null) {
                try {
                    wanted = SpiffeId.parse(spiffeId);
                } catch (RuntimeException e) {
                    throw new Cli.UserException("-spiffeID " + spiffeId + ": " + e.getMessage());
                }
            }
            String td =
                    trustDomain != null
                            ? trustDomain
                            : wanted != null ? wanted.trustDomain().name() : "example.org";
            Map<String, String> labelMap = labels(labels);
            Map<Integer, InetSocketAddress> pub = new LinkedHashMap<>();
            for (String p : publish) {
                int eq = p.lastIndexOf('=');
                if (eq <= 0) {
                    throw new Cli.UserException(
                            "-publish "
                                    + p
                                    + ": write [addr:]port=listenerPort, e.g. -publish 127.0.0.1:8000=8080");
                }
                pub.put(
                        port(p.substring(eq + 1), "-publish " + p),
                        address(p.substring(0, eq), "0.0.0.0", "-publish " + p));
            }
            String address = socketPath(socketPath).toString();
            ProxySettings.Limits limits =
                    ProxySettings.Limits.defaults()
                            .withMaxHeaderBytes(positive(maxHeaderBytes, "-maxHeaderBytes"))
                            .withMaxBodyBytes(notNegative(maxBodyBytes, "-maxBodyBytes"))
                            .withTimeouts(
                                    duration(requestHeadersTimeout, "-requestHeadersTimeout"),
                                    duration(streamIdleTimeout, "-streamIdleTimeout"),
                                    duration(idleTimeout, "-idleTimeout"));
            if (maxBufferedBodyBytes != null) {
                limits =
                        limits.withBufferedBodyBytes(
                                positive(maxBufferedBodyBytes, "-maxBufferedBodyBytes"));
            }
            ProxyNode node = node(labelMap, td);
            ProxySettings settings =
                    new ProxySettings(
                            node,
                            pub,
                            address(admin, "127.0.0.1", "-admin " + admin),
                            limits,
                            pathNormalization,
                            !noAccessLog);
            DeferredIdentitySource identity = new DeferredIdentitySource();
            Proxy proxy = Proxy.start(settings, identity);
            io.mithril.cli.HealthEndpoint status = null;
            if (statusPort != null) {
                try {
                    status =
                            io.mithril.cli.HealthEndpoint.start(
                                    address(statusPort, "0.0.0.0", "-statusPort " + statusPort),
                                    Map.of("/healthz/ready", proxy::notReadyReason));
                } catch (java.io.IOException e) {
                    proxy.close();
                    throw new Cli.UserException(
                            "-statusPort " + statusPort + ": cannot listen: " + e.getMessage(), e);
                }
            }
            final io.mithril.cli.HealthEndpoint statusEndpoint = status;
            AutoCloseable watcher =
                    cpId == null
                            ? ConfigDirectoryWatcher.start(
                                    configDir, Duration.ofSeconds(1), proxy::apply)
                            : XdsOptions.start(
                                    controlPlane, cpId, identity, settings.node(), proxy);
            CountDownLatch stopped = new CountDownLatch(1);
            final SpiffeId id = wanted;
            Thread connector =
                    new Thread(
                            () -> {
                                while (stopped.getCount() > 0) {
                                    try {
                                        identity.attach(
                                                WorkloadApiIdentitySource.start(
                                                        address, id, Duration.ofSeconds(30)));
                                        return;
                                    } catch (RuntimeException e) {
                                        log.warn(
                                                "no SVID from the Workload API at {} yet: {}; retrying",
                                                address,
                                                e.getMessage());
                                        try {
                                            Thread.sleep(1000);
                                        } catch (InterruptedException ie) {
                                            return;
                                        }
                                    }
                                }
                            },
                            "workload-api-connect");
            connector.setDaemon(true);
            connector.start();
            Runtime.getRuntime()
                    .addShutdownHook(
                            new Thread(
                                    () -> {
                                        ControlPlaneOptions.closeQuietly(watcher);
                                        if (statusEndpoint != null) {
                                            statusEndpoint.close();
                                        }
                                        proxy.close();
                                        identity.close();
                                        stopped.countDown();
                                    },
                                    "proxy-shutdown"));
            log.info("admin endpoint on {}", proxy.adminAddress());
            stopped.await();
            return 0;
        }
    }

    /** {@code -socketPath}, else {@code $SPIFFE_ENDPOINT_SOCKET}, else the default path. */
    static WorkloadApiAddress socketPath(String socketPath) {
        String address =
                socketPath != null
                        ? socketPath
                        : System.getenv(WorkloadApiAddress.ENDPOINT_SOCKET_ENV) != null
                                ? System.getenv(WorkloadApiAddress.ENDPOINT_SOCKET_ENV)
                                : WorkloadApiAddress.DEFAULT_SOCKET_PATH;
        try {
            return WorkloadApiAddress.parse(address);
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException("-socketPath: " + e.getMessage());
        }
    }

    /** {@code -label key=value} flags as a map, in their order. */
    static Map<String, String> labels(List<String> labels) {
        Map<String, String> labelMap = new LinkedHashMap<>();
        for (String l : labels) {
            int eq = l.indexOf('=');
            if (eq <= 0) {
                throw new Cli.UserException(
                        "-label " + l + ": write key=value, e.g. -label istio=ingressgateway");
            }
            labelMap.put(l.substring(0, eq), l.substring(eq + 1));
        }
        return labelMap;
    }

    /** A gateway's node: it must have labels, which its Gateways select. */
    static ProxyNode gatewayNode(String namespace, Map<String, String> labels, String td) {
        if (labels.isEmpty()) {
            throw new Cli.UserException(
                    "a gateway needs its labels, e.g. -label istio=ingressgateway");
        }
        return ProxyNode.gateway(namespace, labels, td);
    }

    /**
     * A sidecar's node from {@code -inbound [addr:]port=[appAddr:]appPort} flags and {@code
     * -outbound [addr:]port}.
     */
    static ProxyNode sidecarNode(
            String namespace,
            Map<String, String> labels,
            String td,
            List<String> inbound,
            String outbound) {
        List<ProxyNode.InboundPort> ports = new ArrayList<>();
        for (String in : inbound) {
            int eq = in.indexOf('=');
            if (eq <= 0) {
                throw new Cli.UserException(
                        "-inbound "
                                + in
                                + ": write [addr:]port=[appAddr:]appPort, e.g. -inbound 9080=19080");
            }
            InetSocketAddress listen = address(in.substring(0, eq), "0.0.0.0", "-inbound " + in);
            InetSocketAddress app = address(in.substring(eq + 1), "127.0.0.1", "-inbound " + in);
            ports.add(
                    new ProxyNode.InboundPort(
                            ip(listen), listen.getPort(), ip(app), app.getPort()));
        }
        InetSocketAddress out = address(outbound, "127.0.0.1", "-outbound " + outbound);
        return ProxyNode.sidecar(namespace, labels, td, ports, ip(out), out.getPort());
    }

    /**
     * The address as an IP literal (a name is resolved once here: listeners and the node metadata
     * take IPs).
     */
    private static String ip(InetSocketAddress a) {
        return a.isUnresolved() ? a.getHostString() : a.getAddress().getHostAddress();
    }

    private static long notNegative(long n, String what) {
        if (n < 0) {
            throw new Cli.UserException(what + " " + n + ": must be 0 (no limit) or more");
        }
        return n;
    }

    private static <N extends Number> N positive(N n, String what) {
        if (n.longValue() <= 0) {
            throw new Cli.UserException(what + " " + n + ": must be more than 0");
        }
        return n;
    }

    /**
     * Go's duration syntax, as SPIRE and Istio write them: {@code 500ms}, {@code 10s}, {@code 5m},
     * {@code 1h}.
     */
    static Duration duration(String s, String what) {
        Duration d;
        try {
            d = GoDuration.parse(s);
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException(what + ": " + e.getMessage());
        }
        if (d.isNegative() || d.isZero()) {
            throw new Cli.UserException(what + " \"" + s + "\": must be more than 0");
        }
        return d;
    }

    static int port(String s, String what) {
        try {
            int p = Integer.parseInt(s.trim());
            if (p < 0 || p > 65535) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            throw new Cli.UserException(what + ": \"" + s + "\" is not a port number (0-65535)");
        }
    }

    /** {@code addr:port} or {@code port}. */
    static InetSocketAddress address(String s, String defaultHost, String what) {
        int colon = s.lastIndexOf(':');
        String host = colon < 0 ? defaultHost : s.substring(0, colon);
        return new InetSocketAddress(host, port(colon < 0 ? s : s.substring(colon + 1), what));
    }

    /** {@code mithril proxy gateway}. */
    @Command(
            name = "gateway",
            mixinStandardHelpOptions = true,
            description =
                    "Run an ingress or egress gateway: listeners from the Gateways whose selector matches -label.")
    static final class Gateway extends Common {
        @Option(
                names = {"-namespace", "--namespace"},
                description = "The gateway's namespace; default ${DEFAULT-VALUE}")
        String namespace = "istio-system";

        @Override
        ProxyNode node(Map<String, String> labels, String td) {
            return gatewayNode(namespace, labels, td);
        }
    }

    /** {@code mithril proxy sidecar}. */
    @Command(
            name = "sidecar",
            mixinStandardHelpOptions = true,
            description =
                    "Run a workload's sidecar: inbound mTLS to the app per PeerAuthentication, outbound HTTP proxy.")
    static final class Sidecar extends Common {
        @Option(
                names = {"-namespace", "--namespace"},
                description = "The workload's namespace; default ${DEFAULT-VALUE}")
        String namespace = "default";

        @Option(
                names = {"-inbound", "--inbound"},
                description =
                        "[addr:]port=[appAddr:]appPort (repeatable): listen, forward to the app")
        List<String> inbound = new ArrayList<>();

        @Option(
                names = {"-outbound", "--outbound"},
                description =
                        "[addr:]port of the HTTP proxy apps use as http_proxy; default ${DEFAULT-VALUE}")
        String outbound = "127.0.0.1:15001";

        @Override
        ProxyNode node(Map<String, String> labels, String td) {
            return sidecarNode(namespace, labels, td, inbound, outbound);
        }
    }
}
