package io.mithril.cli.agent;

import io.mithril.agent.fs.TrustedDirectory;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.api.workload.client.WorkloadApiException;
import io.mithril.api.workload.client.X509Context;
import io.mithril.api.workload.client.X509ContextFiles;
import io.mithril.cli.Cli;
import io.mithril.spiffe.id.TrustDomain;
import java.io.Closeable;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mithril agent api ...}: the Workload API from the command line, as spire-agent's. */
@Command(
        name = "api",
        description = "Talks to the Workload API",
        mixinStandardHelpOptions = true,
        subcommands = {
            ApiCommand.Fetch.class,
            ApiCommand.Validate.class,
            ApiCommand.Watch.class,
        })
public final class ApiCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Options shared by the fetch commands. */
    static final class Common {
        @Mixin SocketOption socket = new SocketOption();

        @Option(
                names = {"-timeout", "--timeout"},
                paramLabel = "DURATION",
                defaultValue = "5s",
                description = "Time to wait for a response (default: ${DEFAULT-VALUE})")
        String timeout;

        Duration timeout() {
            try {
                return GoFormat.parseDuration(timeout);
            } catch (IllegalArgumentException e) {
                throw new Cli.UserException("-timeout: " + e.getMessage(), e);
            }
        }
    }

    /** {@code api fetch} (x509 when no kind is given). */
    @Command(
            name = "fetch",
            description = "Fetches an SVID (x509 by default) from the Workload API",
            mixinStandardHelpOptions = true,
            subcommands = {FetchX509.class, FetchJwt.class})
    public static final class Fetch extends X509Fetcher {}

    /** {@code api fetch x509 [-write DIR] [-silent]}. */
    @Command(
            name = "x509",
            description = "Fetches X509-SVIDs from the Workload API",
            mixinStandardHelpOptions = true)
    public static final class FetchX509 extends X509Fetcher {}

    /** What {@code api fetch} and {@code api fetch x509} do. */
    abstract static class X509Fetcher implements Callable<Integer> {
        @Mixin Common common = new Common();

        @Option(
                names = {"-write", "--write"},
                paramLabel = "DIR",
                description = "Write the SVIDs, keys and bundles to this directory")
        Path write;

        @Option(
                names = {"-silent", "--silent"},
                description = "Suppress stdout")
        boolean silent;

        @Override
        public Integer call() {
            SocketOption.quietNetty();
            Duration timeout = common.timeout();
            long start = System.nanoTime();
            X509Context ctx;
            try (WorkloadApiClient client = WorkloadApiClient.connect(common.socket.address())) {
                ctx = client.fetchX509Context(timeout);
            } catch (WorkloadApiException e) {
                throw new Cli.UserException(describe(e, common.socket.address()), e);
            }
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            if (!silent) {
                printX509(System.out, ctx, took);
            }
            if (write != null) {
                writeX509(ctx, write, silent ? null : System.out);
            }
            return 0;
        }
    }

    /** As {@link #describe(WorkloadApiException)}, saying when the socket does not even exist. */
    static String describe(WorkloadApiException e, String address) {
        if (e.code() == io.grpc.Status.Code.UNAVAILABLE
                && address.startsWith("unix://")
                && !Files.exists(Path.of(address.substring("unix://".length())))) {
            return "no Workload API socket at "
                    + address.substring("unix://".length())
                    + " (is the agent running? pass -socketPath or set SPIFFE_ENDPOINT_SOCKET)";
        }
        return describe(e);
    }

    static String describe(WorkloadApiException e) {
        return switch (e.code()) {
            case PERMISSION_DENIED ->
                    "the agent has no identity for this process (PERMISSION_DENIED): "
                            + "register an entry whose selectors match it, e.g. -selector unix:uid:"
                            + uid();
            case UNAVAILABLE ->
                    "cannot reach the Workload API or the agent is not ready (UNAVAILABLE): "
                            + e.getMessage();
            case DEADLINE_EXCEEDED ->
                    "no answer from the Workload API in time (DEADLINE_EXCEEDED); raise -timeout";
            default -> e.getMessage();
        };
    }

    private static String uid() {
        try {
            return String.valueOf(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | RuntimeException e) {
            return "<uid>";
        }
    }

    static void printX509(PrintStream out, X509Context ctx, Duration took) {
        out.printf("Received %d svid after %s%n%n", ctx.svids().size(), GoFormat.duration(took));
        for (X509Context.Svid s : ctx.svids()) {
            out.printf("SPIFFE ID:\t\t%s%n", s.spiffeId());
            if (!s.hint().isEmpty()) {
                out.printf("Hint:\t\t\t%s%n", s.hint());
            }
            out.printf("SVID Valid After:\t%s%n", GoFormat.time(s.leaf().getNotBefore()));
            out.printf("SVID Valid Until:\t%s%n", GoFormat.time(s.leaf().getNotAfter()));
            List<X509Certificate> inter = s.intermediates();
            for (int i = 0; i < inter.size(); i++) {
                out.printf(
                        "Intermediate #%d Valid After:\t%s%n",
                        i + 1, GoFormat.time(inter.get(i).getNotBefore()));
                out.printf(
                        "Intermediate #%d Valid Until:\t%s%n",
                        i + 1, GoFormat.time(inter.get(i).getNotAfter()));
            }
            for (int i = 0; i < s.bundle().size(); i++) {
                out.printf(
                        "CA #%d Valid After:\t%s%n",
                        i + 1, GoFormat.time(s.bundle().get(i).getNotBefore()));
                out.printf(
                        "CA #%d Valid Until:\t%s%n",
                        i + 1, GoFormat.time(s.bundle().get(i).getNotAfter()));
            }
            out.println();
        }
    }

    /**
     * Writes the files of {@code -write}, printing spire-agent's "Writing ..." lines. The directory
     * is created 0700 (the key is 0600); one that another user owns or can write in, or under such
     * a directory, is refused: they could replace bundle.0.pem with a CA of their own.
     */
    static void writeX509(X509Context ctx, Path dir, PrintStream out) {
        try {
            TrustedDirectory.output(dir, "output directory");
            for (X509ContextFiles.Written w : X509ContextFiles.write(ctx, dir)) {
                if (out != null) {
                    out.printf("Writing %s to file %s.%n", w.description(), w.path());
                }
            }
        } catch (IOException e) {
            throw new Cli.UserException("-write: " + e.getMessage(), e);
        }
    }

    /** {@code api fetch jwt -audience A [-spiffeID ID]}. */
    @Command(
            name = "jwt",
            description = "Fetches a JWT-SVID from the Workload API",
            mixinStandardHelpOptions = true)
    public static final class FetchJwt implements Callable<Integer> {
        @Mixin Common common = new Common();

        @Option(
                names = {"-audience", "--audience"},
                paramLabel = "AUD",
                required = true,
                split = ",",
                description = "comma separated list of audience values")
        List<String> audience;

        @Option(
                names = {"-spiffeID", "--spiffeID"},
                paramLabel = "ID",
                description = "SPIFFE ID subject (optional)")
        String spiffeId;

        @Override
        public Integer call() {
            SocketOption.quietNetty();
            Duration timeout = common.timeout();
            try (WorkloadApiClient client = WorkloadApiClient.connect(common.socket.address())) {
                List<WorkloadApiClient.JwtSvidToken> svids =
                        client.fetchJwtSvids(
                                timeout,
                                spiffeId,
                                audience.get(0),
                                audience.subList(1, audience.size()).toArray(new String[0]));
                for (WorkloadApiClient.JwtSvidToken t : svids) {
                    System.out.printf("token(%s):%n\t%s%n", t.spiffeId(), t.token());
                    if (!t.hint().isEmpty()) {
                        System.out.printf("hint(%s):%n\t%s%n", t.spiffeId(), t.hint());
                    }
                }
                for (Map.Entry<TrustDomain, byte[]> b :
                        client.fetchJwtBundles(timeout).entrySet()) {
                    System.out.printf(
                            "bundle(%s):%n\t%s%n",
                            b.getKey().id(), new String(b.getValue(), StandardCharsets.UTF_8));
                }
            } catch (WorkloadApiException e) {
                throw new Cli.UserException(describe(e), e);
            }
            return 0;
        }
    }

    /** {@code api validate jwt -audience A -svid TOKEN}. */
    @Command(
            name = "validate",
            description = "Validates a JWT-SVID",
            mixinStandardHelpOptions = true,
            subcommands = {ValidateJwt.class})
    public static final class Validate implements Runnable {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            spec.commandLine().usage(spec.commandLine().getOut());
        }
    }

    /** {@code api validate jwt}. */
    @Command(name = "jwt", description = "Validates a JWT-SVID", mixinStandardHelpOptions = true)
    public static final class ValidateJwt implements Callable<Integer> {
        @Mixin Common common = new Common();

        @Option(
                names = {"-audience", "--audience"},
                paramLabel = "AUD",
                required = true,
                description = "expected audience value")
        String audience;

        @Option(
                names = {"-svid", "--svid"},
                paramLabel = "TOKEN",
                required = true,
                description = "JWT-SVID to validate")
        String svid;

        @Override
        public Integer call() {
            SocketOption.quietNetty();
            try (WorkloadApiClient client = WorkloadApiClient.connect(common.socket.address())) {
                WorkloadApiClient.ValidatedJwtSvid v =
                        client.validateJwtSvid(svid.trim(), audience, common.timeout());
                System.out.println("SVID is valid.");
                System.out.println("SPIFFE ID : " + v.spiffeId());
                System.out.println("Claims    : " + toJson(v.claims()));
            } catch (WorkloadApiException e) {
                if (e.code() == io.grpc.Status.Code.INVALID_ARGUMENT) {
                    throw new Cli.UserException("SVID is not valid: " + e.getMessage(), e);
                }
                throw new Cli.UserException(describe(e), e);
            }
            return 0;
        }
    }

    static String toJson(Object v) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(v);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return String.valueOf(v);
        }
    }

    /** {@code api watch}: prints every X.509 update as it arrives, until interrupted. */
    @Command(
            name = "watch",
            description = "Attaches to the Workload API and prints updates as they're received",
            mixinStandardHelpOptions = true)
    public static final class Watch implements Callable<Integer> {
        @Mixin SocketOption socket = new SocketOption();

        @Override
        public Integer call() throws InterruptedException {
            SocketOption.quietNetty();
            CountDownLatch failed = new CountDownLatch(1);
            WorkloadApiException[] error = new WorkloadApiException[1];
            long[] start = {System.nanoTime()};
            try (WorkloadApiClient client = WorkloadApiClient.connect(socket.address());
                    Closeable watch =
                            client.watchX509Context(
                                    new WorkloadApiClient.Watcher<>() {
                                        @Override
                                        public void onUpdate(X509Context update) {
                                            printX509(
                                                    System.out,
                                                    update,
                                                    Duration.ofNanos(System.nanoTime() - start[0]));
                                            System.out.flush();
                                            start[0] = System.nanoTime();
                                        }

                                        @Override
                                        public void onError(WorkloadApiException e) {
                                            error[0] = e;
                                            failed.countDown();
                                        }
                                    })) {
                failed.await();
            } catch (IOException e) {
                throw new Cli.UserException(e.getMessage(), e);
            }
            throw new Cli.UserException(describe(error[0]), error[0]);
        }
    }
}
