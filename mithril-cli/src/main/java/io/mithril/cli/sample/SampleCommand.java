package io.mithril.cli.sample;

import io.mithril.cli.Cli;
import io.mithril.samples.bookinfo.DetailsService;
import io.mithril.samples.bookinfo.OutboundProxy;
import io.mithril.samples.bookinfo.ProductPageService;
import io.mithril.samples.bookinfo.RatingsService;
import io.mithril.samples.bookinfo.ReviewsService;
import io.mithril.samples.bookinfo.SampleServer;
import io.mithril.samples.sleep.Sleep;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code mithril sample productpage|details|reviews|ratings|sleep}: Istio's sample workloads. Each
 * bookinfo service listens on {@code -address}:{@code -port} (default 0.0.0.0:9080), calls the
 * others at Istio's default URLs ({@code http://details:9080}, ...) unless told otherwise, and
 * sends those calls through {@code -proxy} or {@code http_proxy} when set (the sidecar's outbound
 * listener). Each runs until it is stopped (SIGTERM/SIGINT).
 */
@Command(
        name = "sample",
        description =
                "Run a sample workload: Istio's bookinfo services (productpage, details, reviews v1-v3,"
                        + " ratings), sleep (a client that stays up so curl can be run as it) and"
                        + " mtls-server (a workload outside the mesh serving mTLS with its SVID).",
        subcommands = {
            SampleCommand.ProductPage.class,
            SampleCommand.Details.class,
            SampleCommand.Reviews.class,
            SampleCommand.Ratings.class,
            SampleCommand.SleepCommand.class,
            SampleCommand.MtlsServerCommand.class,
        })
public final class SampleCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(
            names = {"-h", "--help"},
            usageHelp = true,
            description = "Show this help and exit.")
    boolean help;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Where a service listens. */
    static final class Listen {
        @Option(
                names = {"-address", "--address"},
                defaultValue = "0.0.0.0",
                paramLabel = "IP",
                description = "Address to listen on (default: ${DEFAULT-VALUE}).")
        String address;

        @Option(
                names = {"-port", "--port"},
                defaultValue = "9080",
                paramLabel = "N",
                description = "Port to listen on (default: ${DEFAULT-VALUE}; 0 picks a free one).")
        int port;

        @Option(
                names = {"-h", "--help"},
                usageHelp = true,
                description = "Show this help and exit.")
        boolean help;

        InetSocketAddress socketAddress() {
            if (port < 0 || port > 65535) {
                throw new Cli.UserException("-port " + port + " is not a port number (0-65535)");
            }
            return new InetSocketAddress(address, port);
        }
    }

    /** The outbound proxy option. */
    static final class Proxy {
        @Option(
                names = {"-proxy", "--proxy"},
                paramLabel = "URL",
                description =
                        "HTTP proxy for outbound calls, e.g. http://127.0.0.1:15001 (default: $http_proxy).")
        String proxy;

        Optional<OutboundProxy> resolve() {
            try {
                return OutboundProxy.resolve(proxy, System.getenv());
            } catch (IllegalArgumentException e) {
                throw new Cli.UserException(e.getMessage());
            }
        }
    }

    static URI url(String option, String value) {
        try {
            URI u = new URI(value);
            if (!"http".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
                throw new Cli.UserException(
                        option
                                + " \""
                                + value
                                + "\" is not an http:// URL, like http://details:9080");
            }
            return u;
        } catch (URISyntaxException e) {
            throw new Cli.UserException(
                    option + " \"" + value + "\" is not a URL: " + e.getReason());
        }
    }

    /**
     * Starts the server, says where it listens, and serves until the process is stopped or the
     * calling thread is interrupted; then closes it.
     */
    static int serve(CommandLine.Model.CommandSpec spec, SampleServer server) {
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook =
                new Thread(
                        () -> {
                            server.close();
                            stopped.countDown();
                        },
                        server.name() + "-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        server.start();
        spec.commandLine()
                .getOut()
                .printf(
                        "%s listening on %s:%d%n",
                        server.name(),
                        server.address().getAddress().getHostAddress(),
                        server.port());
        spec.commandLine().getOut().flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.close();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or has run: nothing to undo
            }
        }
        return 0;
    }

    @Command(
            name = "productpage",
            description = "Bookinfo's product page (HTML and /api/v1/products) on port 9080.")
    static final class ProductPage implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Mixin Listen listen;
        @Mixin Proxy proxy;

        @Option(
                names = {"-detailsUrl", "--detailsUrl"},
                defaultValue = "http://details:9080",
                paramLabel = "URL",
                description = "Base URL of details (default: ${DEFAULT-VALUE}).")
        String detailsUrl;

        @Option(
                names = {"-reviewsUrl", "--reviewsUrl"},
                defaultValue = "http://reviews:9080",
                paramLabel = "URL",
                description = "Base URL of reviews (default: ${DEFAULT-VALUE}).")
        String reviewsUrl;

        @Option(
                names = {"-ratingsUrl", "--ratingsUrl"},
                defaultValue = "http://ratings:9080",
                paramLabel = "URL",
                description = "Base URL of ratings (default: ${DEFAULT-VALUE}).")
        String ratingsUrl;

        @Override
        public Integer call() throws Exception {
            return serve(
                    spec,
                    new ProductPageService(
                            listen.socketAddress(),
                            url("-detailsUrl", detailsUrl),
                            url("-reviewsUrl", reviewsUrl),
                            url("-ratingsUrl", ratingsUrl),
                            proxy.resolve()));
        }
    }

    @Command(
            name = "details",
            description = "Bookinfo's details service (/details/<id>) on port 9080.")
    static final class Details implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Mixin Listen listen;

        @Override
        public Integer call() throws Exception {
            return serve(spec, new DetailsService(listen.socketAddress()));
        }
    }

    @Command(
            name = "reviews",
            description = "Bookinfo's reviews service (/reviews/<id>); v2 and v3 call ratings.")
    static final class Reviews implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Mixin Listen listen;
        @Mixin Proxy proxy;

        @Option(
                names = {"-version", "--service-version"},
                defaultValue = "v1",
                paramLabel = "v1|v2|v3",
                description =
                        "v1: no stars; v2: black stars; v3: red stars (default: ${DEFAULT-VALUE}).")
        String version;

        @Option(
                names = {"-ratingsUrl", "--ratingsUrl"},
                defaultValue = "http://ratings:9080",
                paramLabel = "URL",
                description = "Base URL of ratings (default: ${DEFAULT-VALUE}).")
        String ratingsUrl;

        @Override
        public Integer call() throws Exception {
            ReviewsService.Version v;
            try {
                v = ReviewsService.Version.parse(version);
            } catch (IllegalArgumentException e) {
                throw new Cli.UserException("-version: " + e.getMessage());
            }
            return serve(
                    spec,
                    new ReviewsService(
                            listen.socketAddress(),
                            v,
                            url("-ratingsUrl", ratingsUrl),
                            proxy.resolve()));
        }
    }

    @Command(
            name = "ratings",
            description = "Bookinfo's ratings service (/ratings/<id>) on port 9080.")
    static final class Ratings implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Mixin Listen listen;

        @Override
        public Integer call() throws Exception {
            return serve(spec, new RatingsService(listen.socketAddress()));
        }
    }

    @Command(
            name = "sleep",
            description =
                    "Istio's sleep client: stays up (like `sleep 3650d`) so the demo can run"
                            + " curl and `agent api fetch` as this workload. It serves and calls nothing.")
    static final class SleepCommand implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Option(
                names = {"-duration", "--duration"},
                defaultValue = "3650d",
                paramLabel = "TIME",
                description = "How long to stay up: N[s|m|h|d] (default: ${DEFAULT-VALUE}).")
        String duration;

        @Option(
                names = {"-h", "--help"},
                usageHelp = true,
                description = "Show this help and exit.")
        boolean help;

        @Override
        public Integer call() {
            java.time.Duration d;
            try {
                d = Sleep.parseDuration(duration);
            } catch (IllegalArgumentException e) {
                throw new Cli.UserException("-duration: " + e.getMessage());
            }
            Sleep sleep = new Sleep();
            Thread hook = new Thread(sleep::stop, "sleep-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            spec.commandLine()
                    .getOut()
                    .printf(
                            "sleep: staying up for %s (pid %d)%n",
                            duration, ProcessHandle.current().pid());
            spec.commandLine().getOut().flush();
            try {
                sleep.run(d);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: the JVM is exiting anyway
            }
            return 0;
        }
    }

    @Command(
            name = "mtls-server",
            description = {
                "A workload outside the mesh: HTTPS with mutual TLS on its own X509-SVID from the"
                        + " Workload API, admitting only clients whose SPIFFE ID is given with"
                        + " -authorize (go-spiffe's spiffetls server with tlsconfig.AuthorizeOneOf).",
                "Each answer names the server's ID and the caller's (and the x-forwarded-client-cert"
                        + " a gateway added)."
            })
    static final class MtlsServerCommand implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Mixin Listen listen;
        @Mixin io.mithril.cli.agent.SocketOption socket;

        @Option(
                names = {"-authorize", "--authorize"},
                required = true,
                paramLabel = "SPIFFE_ID",
                description =
                        "A SPIFFE ID that may call (repeatable); any other is refused in the handshake.")
        List<String> authorize = new ArrayList<>();

        @Option(
                names = {"-timeout", "--timeout"},
                defaultValue = "60s",
                paramLabel = "DURATION",
                description = "How long to wait for the first SVID (default: ${DEFAULT-VALUE}).")
        String timeout;

        @Override
        public Integer call() throws Exception {
            List<io.mithril.spiffe.id.SpiffeId> ids = new ArrayList<>();
            for (String a : authorize) {
                try {
                    ids.add(io.mithril.spiffe.id.SpiffeId.parse(a));
                } catch (IllegalArgumentException e) {
                    throw new Cli.UserException("-authorize \"" + a + "\": " + e.getMessage());
                }
            }
            java.time.Duration wait;
            try {
                wait = Sleep.parseDuration(timeout);
            } catch (IllegalArgumentException e) {
                throw new Cli.UserException("-timeout: " + e.getMessage());
            }
            MtlsServer server;
            try {
                server = MtlsServer.start(socket.address(), wait, listen.socketAddress(), ids);
            } catch (io.mithril.api.workload.client.WorkloadApiException e) {
                throw new Cli.UserException("no SVID from the Workload API: " + e.getMessage(), e);
            }
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime()
                    .addShutdownHook(
                            new Thread(
                                    () -> {
                                        server.close();
                                        stopped.countDown();
                                    },
                                    "mtls-server-shutdown"));
            spec.commandLine()
                    .getOut()
                    .printf(
                            "mtls-server %s listening on %s:%d, admitting %s%n",
                            server.spiffeId(),
                            server.address().getAddress().getHostAddress(),
                            server.address().getPort(),
                            String.join(", ", authorize));
            spec.commandLine().getOut().flush();
            stopped.await();
            return 0;
        }
    }
}
