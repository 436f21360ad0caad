package io.mithril.cli.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.mithril.api.admin.FederationRelationshipRequest;
import io.mithril.api.admin.ListFederationRelationshipsRequest;
import io.mithril.api.admin.TrustDomainRequest;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.FederationRelationship;
import io.mithril.api.types.JwtKey;
import io.mithril.cli.Cli;
import io.mithril.server.ca.BundleCodec;
import io.mithril.server.federation.Relationship;
import io.mithril.spiffe.id.TrustDomain;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code mithril server federation create|list|show|update|delete|refresh}, as spire-server's: the
 * relationships with other trust domains and the refresh of their bundles.
 */
@Command(
        name = "federation",
        mixinStandardHelpOptions = true,
        description = "Manages federation relationships with other trust domains.",
        subcommands = {
            FederationCommand.Create.class,
            FederationCommand.ListCmd.class,
            FederationCommand.Show.class,
            FederationCommand.Update.class,
            FederationCommand.Delete.class,
            FederationCommand.Refresh.class
        })
final class FederationCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static void print(PrintWriter out, FederationRelationship r) {
        out.printf("%-26s: %s%n", "Trust domain", r.getTrustDomain());
        out.printf("%-26s: %s%n", "Bundle endpoint URL", r.getBundleEndpointUrl());
        out.printf("%-26s: %s%n", "Bundle endpoint profile", r.getBundleEndpointProfile());
        if (!r.getEndpointSpiffeId().isEmpty()) {
            out.printf("%-26s: %s%n", "Endpoint SPIFFE ID", r.getEndpointSpiffeId());
        }
        out.println();
    }

    static void output(
            PrintWriter out, String format, List<FederationRelationship> rels, String header) {
        switch (format) {
            case "json" -> {
                for (FederationRelationship r : rels) {
                    out.println(EntryPrinter.json(r));
                }
            }
            case "pretty" -> {
                if (header != null) {
                    out.println(header);
                    out.println();
                }
                rels.forEach(r -> print(out, r));
            }
            default ->
                    throw new Cli.UserException(
                            "-output \"" + format + "\" is not supported: use pretty or json");
        }
        out.flush();
    }

    /** The flags of create and update (SPIRE's). */
    static final class RelationshipOptions {
        @Option(
                names = {"-trustDomain", "--trustDomain"},
                paramLabel = "TD",
                description = "Name of the trust domain to federate with.")
        String trustDomain;

        @Option(
                names = {"-bundleEndpointURL", "--bundleEndpointURL"},
                paramLabel = "URL",
                description = "URL of the SPIFFE bundle endpoint.")
        String url;

        @Option(
                names = {"-bundleEndpointProfile", "--bundleEndpointProfile"},
                paramLabel = "https_spiffe|https_web",
                description = "Endpoint profile type (default: ${DEFAULT-VALUE}).")
        String profile = "https_spiffe";

        @Option(
                names = {"-endpointSpiffeID", "--endpointSpiffeID"},
                paramLabel = "ID",
                description = "SPIFFE ID of the bundle endpoint (https_spiffe).")
        String endpointSpiffeId;

        @Option(
                names = {"-trustDomainBundlePath", "--trustDomainBundlePath"},
                paramLabel = "FILE",
                description =
                        "Path to the trust domain's bundle (needed to start with https_spiffe).")
        Path bundlePath;

        @Option(
                names = {"-trustDomainBundleFormat", "--trustDomainBundleFormat"},
                paramLabel = "pem|spiffe",
                description = "Format of the bundle file (default: ${DEFAULT-VALUE}).")
        String bundleFormat = "pem";

        @Option(
                names = {"-data", "--data"},
                paramLabel = "FILE",
                description =
                        "Path to a JSON file of relationships, as spire-server's -data (\"-\" for stdin).")
        String data;

        @Option(
                names = {"-output", "--output"},
                paramLabel = "pretty|json",
                description = "Output format (default: ${DEFAULT-VALUE}).")
        String output = "pretty";

        List<FederationRelationshipRequest> requests() {
            if (data != null) {
                if (trustDomain != null
                        || url != null
                        || endpointSpiffeId != null
                        || bundlePath != null) {
                    throw new Cli.UserException(
                            "-data cannot be combined with -trustDomain, -bundleEndpointURL, "
                                    + "-endpointSpiffeID or -trustDomainBundlePath");
                }
                return fromData(data);
            }
            if (trustDomain == null || url == null) {
                throw new Cli.UserException(
                        "-trustDomain and -bundleEndpointURL are required (or -data FILE)");
            }
            Relationship r;
            try {
                r = Relationship.of(trustDomain, url, profile, endpointSpiffeId);
            } catch (IllegalArgumentException e) {
                throw new Cli.UserException(e.getMessage(), e);
            }
            FederationRelationshipRequest.Builder b =
                    FederationRelationshipRequest.newBuilder().setRelationship(r.toProto());
            if (bundlePath != null) {
                b.setTrustDomainBundle(
                        BundleCodec.toProto(
                                BundleCommand.readBundle(
                                        r.trustDomain(), bundlePath, bundleFormat)));
            }
            return List.of(b.build());
        }
    }

    /**
     * SPIRE's {@code -data} JSON: {@code {"federationRelationships": [{"trustDomain",
     * "bundleEndpointUrl", "httpsWeb": {}} | "httpsSpiffe": {"endpointSpiffeId"},
     * "trustDomainBundle": {"x509Authorities": [{"asn1": base64}], "jwtAuthorities": [{"publicKey":
     * base64, "keyId", "expiresAt"}], "refreshHint", "sequenceNumber"}]}}.
     */
    static List<FederationRelationshipRequest> fromData(String data) {
        String source = data.equals("-") ? "stdin" : data;
        JsonNode root;
        try {
            String text =
                    data.equals("-")
                            ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8)
                            : Files.readString(Path.of(data));
            root = new ObjectMapper().readTree(text);
        } catch (IOException e) {
            throw new Cli.UserException("-data " + source + ": " + e.getMessage(), e);
        }
        JsonNode list = root == null ? null : root.get("federationRelationships");
        if (list == null || !list.isArray()) {
            throw new Cli.UserException(
                    "-data " + source + ": expected {\"federationRelationships\": [ ... ]}");
        }
        List<FederationRelationshipRequest> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode n = list.get(i);
            String where = "-data " + source + ", federationRelationships[" + i + "]";
            try {
                String profile =
                        n.has("httpsSpiffe")
                                ? "https_spiffe"
                                : n.has("httpsWeb") ? "https_web" : null;
                if (profile == null) {
                    throw new IllegalArgumentException(
                            "give \"httpsWeb\": {} or \"httpsSpiffe\": {\"endpointSpiffeId\": ...}");
                }
                Relationship r =
                        Relationship.of(
                                n.path("trustDomain").asText(),
                                n.path("bundleEndpointUrl").asText(),
                                profile,
                                n.path("httpsSpiffe").path("endpointSpiffeId").asText(null));
                FederationRelationshipRequest.Builder b =
                        FederationRelationshipRequest.newBuilder().setRelationship(r.toProto());
                JsonNode tb = n.get("trustDomainBundle");
                if (tb != null && !tb.isNull()) {
                    Bundle.Builder bundle =
                            Bundle.newBuilder()
                                    .setTrustDomain(r.trustDomain().name())
                                    .setRefreshHint(tb.path("refreshHint").asLong())
                                    .setSequenceNumber(tb.path("sequenceNumber").asLong());
                    for (JsonNode a : tb.path("x509Authorities")) {
                        bundle.addX509Authorities(
                                ByteString.copyFrom(
                                        Base64.getDecoder().decode(a.path("asn1").asText())));
                    }
                    for (JsonNode a : tb.path("jwtAuthorities")) {
                        bundle.addJwtAuthorities(
                                JwtKey.newBuilder()
                                        .setKeyId(a.path("keyId").asText())
                                        .setPublicKey(
                                                ByteString.copyFrom(
                                                        Base64.getDecoder()
                                                                .decode(
                                                                        a.path("publicKey")
                                                                                .asText())))
                                        .setExpiresAt(a.path("expiresAt").asLong()));
                    }
                    b.setTrustDomainBundle(bundle);
                }
                out.add(b.build());
            } catch (IllegalArgumentException e) {
                throw new Cli.UserException(where + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    static TrustDomain trustDomain(String flag, String value) {
        if (value == null) {
            throw new Cli.UserException(flag + " is required");
        }
        try {
            return TrustDomain.parse(value);
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException(flag + " " + e.getMessage(), e);
        }
    }

    /** create and update: the same flags, one RPC apart. */
    abstract static class Write implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Mixin RelationshipOptions options;

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        abstract FederationRelationship send(
                io.mithril.server.api.admin.AdminClient c, FederationRelationshipRequest req);

        @Override
        public Integer call() {
            List<FederationRelationship> done = new ArrayList<>();
            for (FederationRelationshipRequest req : options.requests()) {
                done.add(admin.call(c -> send(c, req)));
            }
            output(spec.commandLine().getOut(), options.output, done, null);
            return 0;
        }
    }

    @Command(
            name = "create",
            mixinStandardHelpOptions = true,
            description = "Creates a federation relationship.")
    static final class Create extends Write {
        @Override
        FederationRelationship send(
                io.mithril.server.api.admin.AdminClient c, FederationRelationshipRequest req) {
            return c.admin().createFederationRelationship(req);
        }
    }

    @Command(
            name = "update",
            mixinStandardHelpOptions = true,
            description = "Updates a federation relationship.")
    static final class Update extends Write {
        @Override
        FederationRelationship send(
                io.mithril.server.api.admin.AdminClient c, FederationRelationshipRequest req) {
            return c.admin().updateFederationRelationship(req);
        }
    }

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "Lists federation relationships.")
    static final class ListCmd implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-output", "--output"},
                paramLabel = "pretty|json",
                description = "Output format (default: ${DEFAULT-VALUE}).")
        String output = "pretty";

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            List<FederationRelationship> rels =
                    admin.call(
                                    c ->
                                            c.admin()
                                                    .listFederationRelationships(
                                                            ListFederationRelationshipsRequest
                                                                    .getDefaultInstance()))
                            .getRelationshipsList();
            output(
                    spec.commandLine().getOut(),
                    output,
                    rels,
                    "Found "
                            + rels.size()
                            + " federation relationship"
                            + (rels.size() == 1 ? "" : "s"));
            return 0;
        }
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Shows a federation relationship.")
    static final class Show implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-trustDomain", "--trustDomain"},
                paramLabel = "TD",
                description = "The trust domain of the relationship.")
        String trustDomain;

        @Option(
                names = {"-output", "--output"},
                paramLabel = "pretty|json",
                description = "Output format (default: ${DEFAULT-VALUE}).")
        String output = "pretty";

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            String td = trustDomain("-trustDomain", trustDomain).name();
            FederationRelationship r =
                    admin.call(
                            c ->
                                    c.admin()
                                            .getFederationRelationship(
                                                    TrustDomainRequest.newBuilder()
                                                            .setTrustDomain(td)
                                                            .build()));
            output(
                    spec.commandLine().getOut(),
                    output,
                    List.of(r),
                    "Found a federation relationship with trust domain " + td);
            return 0;
        }
    }

    @Command(
            name = "delete",
            mixinStandardHelpOptions = true,
            description = "Deletes a federation relationship (its bundle stays).")
    static final class Delete implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-id", "--id"},
                paramLabel = "TD",
                description = "The trust domain of the relationship.")
        String id;

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            String td = trustDomain("-id", id).name();
            admin.call(
                    c ->
                            c.admin()
                                    .deleteFederationRelationship(
                                            TrustDomainRequest.newBuilder()
                                                    .setTrustDomain(td)
                                                    .build()));
            spec.commandLine().getOut().println("federation relationship deleted.");
            return 0;
        }
    }

    @Command(
            name = "refresh",
            mixinStandardHelpOptions = true,
            description = "Fetches the federated bundle from its endpoint now.")
    static final class Refresh implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-id", "--id"},
                paramLabel = "TD",
                description = "The trust domain of the relationship.")
        String id;

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            String td = trustDomain("-id", id).name();
            Bundle b =
                    admin.call(
                            c ->
                                    c.admin()
                                            .refreshBundle(
                                                    TrustDomainRequest.newBuilder()
                                                            .setTrustDomain(td)
                                                            .build()));
            spec.commandLine()
                    .getOut()
                    .println(
                            "Bundle refreshed (trust domain "
                                    + td
                                    + ", sequence "
                                    + b.getSequenceNumber()
                                    + ", "
                                    + b.getX509AuthoritiesCount()
                                    + " X.509 and "
                                    + b.getJwtAuthoritiesCount()
                                    + " JWT authorities)");
            return 0;
        }
    }
}
