package io.mithril.cli.server;

import io.mithril.api.admin.BatchDeleteFederatedBundleRequest;
import io.mithril.api.admin.BatchDeleteFederatedBundleResponse;
import io.mithril.api.admin.BatchSetFederatedBundleRequest;
import io.mithril.api.admin.BatchSetFederatedBundleResponse;
import io.mithril.api.admin.GetBundleRequest;
import io.mithril.api.admin.ListFederatedBundlesRequest;
import io.mithril.api.types.Bundle;
import io.mithril.cli.Cli;
import io.mithril.pki.Pem;
import io.mithril.pki.PkiException;
import io.mithril.server.ca.BundleCodec;
import io.mithril.server.ca.TrustBundle;
import io.mithril.spiffe.id.InvalidSpiffeIdException;
import io.mithril.spiffe.id.TrustDomain;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mithril server bundle show|list|set|delete}, as spire-server's. */
@Command(
        name = "bundle",
        mixinStandardHelpOptions = true,
        description = "Manages the server's bundle and federated bundles.",
        subcommands = {
            BundleCommand.Show.class,
            BundleCommand.ListCmd.class,
            BundleCommand.Set.class,
            BundleCommand.Delete.class
        })
final class BundleCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static void print(PrintWriter out, Bundle b, String format) {
        TrustBundle tb = BundleCodec.fromProto(b);
        switch (format) {
            case "pem" -> out.print(tb.toPem());
            case "spiffe" -> out.println(tb.toJwks());
            default ->
                    throw new Cli.UserException(
                            "-format \"" + format + "\" is not supported: use pem or spiffe");
        }
        out.flush();
    }

    static TrustDomain trustDomain(String id) {
        try {
            return TrustDomain.parse(id);
        } catch (InvalidSpiffeIdException e) {
            throw new Cli.UserException("-id " + e.getMessage());
        }
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Prints the server's trust bundle.")
    static final class Show implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-format", "--format"},
                paramLabel = "pem|spiffe",
                description = "Output format (default: ${DEFAULT-VALUE}).")
        String format = "pem";

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            print(
                    spec.commandLine().getOut(),
                    admin.call(c -> c.admin().getBundle(GetBundleRequest.getDefaultInstance())),
                    format);
            return 0;
        }
    }

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "Lists federated bundles.")
    static final class ListCmd implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-id", "--id"},
                paramLabel = "TD",
                description = "Only the bundle of this trust domain.")
        String id;

        @Option(
                names = {"-format", "--format"},
                paramLabel = "pem|spiffe",
                description = "Output format (default: ${DEFAULT-VALUE}).")
        String format = "pem";

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            List<Bundle> bundles =
                    admin.call(
                                    c ->
                                            c.admin()
                                                    .listFederatedBundles(
                                                            ListFederatedBundlesRequest
                                                                    .getDefaultInstance()))
                            .getBundlesList();
            PrintWriter out = spec.commandLine().getOut();
            if (id != null) {
                String td = trustDomain(id).name();
                Bundle b =
                        bundles.stream()
                                .filter(x -> x.getTrustDomain().equals(td))
                                .findFirst()
                                .orElseThrow(
                                        () ->
                                                new Cli.UserException(
                                                        "no federated bundle for trust domain "
                                                                + td));
                print(out, b, format);
                return 0;
            }
            boolean first = true;
            for (Bundle b : bundles) {
                if (!first) {
                    out.println();
                }
                first = false;
                out.println("****************************************");
                out.println("* spiffe://" + b.getTrustDomain());
                out.println("****************************************");
                print(out, b, format);
            }
            return 0;
        }
    }

    @Command(
            name = "set",
            mixinStandardHelpOptions = true,
            description = "Creates or updates a federated bundle.")
    static final class Set implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-id", "--id"},
                paramLabel = "TD",
                required = true,
                description = "SPIFFE ID of the trust domain.")
        String id;

        @Option(
                names = {"-path", "--path"},
                paramLabel = "FILE",
                description = "Path to the bundle data (default: stdin).")
        Path path;

        @Option(
                names = {"-format", "--format"},
                paramLabel = "pem|spiffe",
                description = "Input format (default: ${DEFAULT-VALUE}).")
        String format = "pem";

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            TrustDomain td = trustDomain(id);
            TrustBundle tb = readBundle(td, path, format);
            BatchSetFederatedBundleResponse r =
                    admin.call(
                            c ->
                                    c.admin()
                                            .batchSetFederatedBundle(
                                                    BatchSetFederatedBundleRequest.newBuilder()
                                                            .addBundles(BundleCodec.toProto(tb))
                                                            .build()));
            if (r.getResults(0).getStatus().getCode() != 0) {
                throw new Cli.UserException(
                        "failed to set bundle of "
                                + td
                                + ": "
                                + r.getResults(0).getStatus().getMessage());
            }
            spec.commandLine().getOut().println("bundle set.");
            return 0;
        }
    }

    /**
     * Reads a bundle for {@code td} from {@code path} (stdin when null) in {@code format} (pem or
     * spiffe).
     */
    static TrustBundle readBundle(TrustDomain td, Path path, String format) {
        String source = path == null ? "stdin" : path.toString();
        String data;
        try {
            data =
                    path == null
                            ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8)
                            : Files.readString(path);
        } catch (IOException e) {
            throw new Cli.UserException("bundle " + source + ": cannot read: " + e.getMessage(), e);
        }
        try {
            return switch (format) {
                case "pem" -> new TrustBundle(td, Pem.readCertificates(data), List.of(), 0, 0);
                case "spiffe" -> TrustBundle.fromJwks(td, data);
                default ->
                        throw new Cli.UserException(
                                "-format \"" + format + "\" is not supported: use pem or spiffe");
            };
        } catch (PkiException
                | IllegalArgumentException
                | io.mithril.spiffe.bundle.BundleException e) {
            throw new Cli.UserException("bundle " + source + ": " + e.getMessage(), e);
        }
    }

    @Command(
            name = "delete",
            mixinStandardHelpOptions = true,
            description = "Deletes a federated bundle.")
    static final class Delete implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-id", "--id"},
                paramLabel = "TD",
                required = true,
                description = "SPIFFE ID of the trust domain.")
        String id;

        @Option(
                names = {"-mode", "--mode"},
                paramLabel = "restrict|delete|dissociate",
                description =
                        "Entries that federate with the bundle: restrict refuses while there are any, delete deletes them, "
                                + "dissociate removes the trust domain from them (default: ${DEFAULT-VALUE}).")
        String mode = "restrict";

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            String td = trustDomain(id).name();
            BatchDeleteFederatedBundleResponse r =
                    admin.call(
                            c ->
                                    c.admin()
                                            .batchDeleteFederatedBundle(
                                                    BatchDeleteFederatedBundleRequest.newBuilder()
                                                            .addTrustDomains(td)
                                                            .setMode(mode)
                                                            .build()));
            if (r.getResults(0).getStatus().getCode() != 0) {
                throw new Cli.UserException(
                        "failed to delete bundle of "
                                + td
                                + ": "
                                + r.getResults(0).getStatus().getMessage());
            }
            spec.commandLine().getOut().println("bundle deleted.");
            return 0;
        }
    }
}
