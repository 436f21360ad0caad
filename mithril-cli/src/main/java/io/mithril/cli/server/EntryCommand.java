package io.mithril.cli.server;

import io.mithril.api.admin.BatchCreateEntryRequest;
import io.mithril.api.admin.BatchCreateEntryResponse;
import io.mithril.api.admin.BatchDeleteEntryRequest;
import io.mithril.api.admin.BatchDeleteEntryResponse;
import io.mithril.api.admin.BatchUpdateEntryRequest;
import io.mithril.api.admin.BatchUpdateEntryResponse;
import io.mithril.api.admin.CountEntriesRequest;
import io.mithril.api.admin.GetBundleRequest;
import io.mithril.api.admin.GetEntryRequest;
import io.mithril.api.admin.ListEntriesRequest;
import io.mithril.api.types.Entry;
import io.mithril.api.types.Selector;
import io.mithril.cli.Cli;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mithril server entry create|show|update|delete|count}, as spire-server's. */
@Command(
        name = "entry",
        mixinStandardHelpOptions = true,
        description = "Manages registration entries.",
        subcommands = {
            EntryCommand.Create.class,
            EntryCommand.Show.class,
            EntryCommand.Update.class,
            EntryCommand.Delete.class,
            EntryCommand.Count.class
        })
final class EntryCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static Selector selector(String s) {
        int colon = s.indexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new Cli.UserException(
                    "selector \""
                            + s
                            + "\" is not of the form type:value (e.g. -selector unix:uid:1000)");
        }
        return Selector.newBuilder()
                .setType(s.substring(0, colon))
                .setValue(s.substring(colon + 1))
                .build();
    }

    /** The fields shared by create and update. */
    static class EntryFields {
        @Option(
                names = {"-spiffeID", "--spiffeID"},
                paramLabel = "ID",
                description = "The SPIFFE ID that this record represents.")
        String spiffeId;

        @Option(
                names = {"-parentID", "--parentID"},
                paramLabel = "ID",
                description = "The SPIFFE ID of this record's parent.")
        String parentId;

        @Option(
                names = {"-node", "--node"},
                description = "The entry is a node alias: its parent is the server's SPIFFE ID.")
        boolean node;

        @Option(
                names = {"-selector", "--selector"},
                paramLabel = "TYPE:VALUE",
                description = "A colon-delimited type:value selector. Can be used more than once.")
        List<String> selectors = new ArrayList<>();

        @Option(
                names = {"-x509SVIDTTL", "--x509SVIDTTL"},
                paramLabel = "SECONDS",
                description = "The TTL of X509-SVIDs for this entry.")
        Integer x509Ttl;

        @Option(
                names = {"-ttl", "--ttl"},
                paramLabel = "SECONDS",
                description = "Deprecated: same as -x509SVIDTTL.")
        Integer ttl;

        @Option(
                names = {"-jwtSVIDTTL", "--jwtSVIDTTL"},
                paramLabel = "SECONDS",
                description = "The TTL of JWT-SVIDs for this entry.")
        Integer jwtTtl;

        @Option(
                names = {"-dns", "--dns"},
                paramLabel = "NAME",
                description = "A DNS name for the X509-SVID. Can be used more than once.")
        List<String> dns = new ArrayList<>();

        @Option(
                names = {"-federatesWith", "--federatesWith"},
                paramLabel = "TD",
                description = "A trust domain to federate with. Can be used more than once.")
        List<String> federatesWith = new ArrayList<>();

        @Option(
                names = {"-admin", "--admin"},
                description = "Admin workload.")
        Boolean admin;

        @Option(
                names = {"-downstream", "--downstream"},
                description = "A downstream SPIRE server.")
        Boolean downstream;

        @Option(
                names = {"-entryExpiry", "--entryExpiry"},
                paramLabel = "UNIX_SECONDS",
                description = "Expiry of the entry (seconds since epoch).")
        Long expiry;

        @Option(
                names = {"-hint", "--hint"},
                paramLabel = "HINT",
                description = "Hint for the Workload API.")
        String hint;

        @Option(
                names = {"-output", "--output"},
                paramLabel = "pretty|json",
                description = "Output format.")
        String output = "pretty";

        /** Applies the flags that were given onto {@code b}. */
        void apply(Entry.Builder b, String serverId) {
            if (spiffeId != null) {
                b.setSpiffeId(spiffeId);
            }
            if (node) {
                b.setParentId(serverId);
            } else if (parentId != null) {
                b.setParentId(parentId);
            }
            if (!selectors.isEmpty()) {
                b.clearSelectors();
                selectors.forEach(s -> b.addSelectors(selector(s)));
            }
            Integer x = x509Ttl != null ? x509Ttl : ttl;
            if (x != null) {
                b.setX509SvidTtl(x);
            }
            if (jwtTtl != null) {
                b.setJwtSvidTtl(jwtTtl);
            }
            if (!dns.isEmpty()) {
                b.clearDnsNames().addAllDnsNames(dns);
            }
            if (!federatesWith.isEmpty()) {
                b.clearFederatesWith().addAllFederatesWith(federatesWith);
            }
            if (admin != null) {
                b.setAdmin(admin);
            }
            if (downstream != null) {
                b.setDownstream(downstream);
            }
            if (expiry != null) {
                b.setExpiresAt(expiry);
            }
            if (hint != null) {
                b.setHint(hint);
            }
        }
    }

    static String serverId(AdminOptions admin) {
        String td =
                admin.call(c -> c.admin().getBundle(GetBundleRequest.getDefaultInstance()))
                        .getTrustDomain();
        return "spiffe://" + td + "/spire/server";
    }

    @Command(
            name = "create",
            mixinStandardHelpOptions = true,
            description = "Creates registration entries.")
    static final class Create extends EntryFields implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-entryID", "--entryID"},
                paramLabel = "ID",
                description = "A custom ID for this registration entry (optional).")
        String entryId;

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Option(
                names = {"-data", "--data"},
                paramLabel = "PATH",
                description =
                        "Path to a file containing registration JSON (optional). If set to '-', read the JSON from stdin.")
        String data;

        @Override
        public Integer call() throws java.io.IOException {
            if (data != null) {
                return createBatch(this);
            }
            if (spiffeId == null) {
                throw new Cli.UserException("a SPIFFE ID is required (-spiffeID)");
            }
            if (parentId == null && !node) {
                throw new Cli.UserException(
                        "a parent ID is required if the node flag is not set (-parentID or -node)");
            }
            if (selectors.isEmpty()) {
                throw new Cli.UserException(
                        "at least one selector is required (-selector type:value)");
            }
            Entry.Builder b = Entry.newBuilder();
            if (entryId != null) {
                b.setId(entryId);
            }
            apply(b, node ? serverId(admin) : null);
            BatchCreateEntryResponse r =
                    admin.call(
                            c ->
                                    c.admin()
                                            .batchCreateEntry(
                                                    BatchCreateEntryRequest.newBuilder()
                                                            .addEntries(b)
                                                            .build()));
            BatchCreateEntryResponse.Result res = r.getResults(0);
            if (res.getStatus().getCode() != 0) {
                throw new Cli.UserException(
                        "failed to create entry for "
                                + spiffeId
                                + ": "
                                + res.getStatus().getMessage()
                                + (res.getStatus().getCode()
                                                == io.grpc.Status.Code.ALREADY_EXISTS.value()
                                        ? " (entry ID " + res.getEntry().getId() + ")"
                                        : ""));
            }
            if (output.equals("json")) {
                spec.commandLine().getOut().println(EntryPrinter.json(r));
            } else {
                EntryPrinter.print(spec.commandLine().getOut(), res.getEntry());
            }
            return 0;
        }
    }

    /**
     * {@code create -data}: SPIRE's registration JSON, created in one batch; failures on stderr,
     * exit 1 if any failed.
     */
    private static int createBatch(Create c) throws java.io.IOException {
        String json =
                c.data.equals("-")
                        ? new String(
                                System.in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                        : readData(c.data);
        List<Entry> entries = EntryData.parse(json, c.data.equals("-") ? "stdin" : c.data);
        BatchCreateEntryResponse r =
                c.admin.call(
                        x ->
                                x.admin()
                                        .batchCreateEntry(
                                                BatchCreateEntryRequest.newBuilder()
                                                        .addAllEntries(entries)
                                                        .build()));
        if (c.output.equals("json")) {
            c.spec.commandLine().getOut().println(EntryPrinter.json(r));
        }
        int failed = 0;
        for (int i = 0; i < r.getResultsCount(); i++) {
            BatchCreateEntryResponse.Result res = r.getResults(i);
            if (res.getStatus().getCode() == 0) {
                if (!c.output.equals("json")) {
                    EntryPrinter.print(c.spec.commandLine().getOut(), res.getEntry());
                }
            } else {
                failed++;
                java.io.PrintWriter err = c.spec.commandLine().getErr();
                err.printf(
                        "Failed to create the following entry (code: %s, msg: \"%s\"):%n",
                        io.grpc.Status.Code.values()[res.getStatus().getCode()],
                        res.getStatus().getMessage());
                EntryPrinter.print(
                        err,
                        res.getEntry().getSpiffeId().isEmpty() ? entries.get(i) : res.getEntry());
            }
        }
        if (failed > 0) {
            throw new Cli.UserException("failed to create one or more entries");
        }
        return 0;
    }

    private static String readData(String path) {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of(path));
        } catch (java.io.IOException e) {
            throw new Cli.UserException("cannot read -data " + path + ": " + e.getMessage());
        }
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Displays configured registration entries.")
    static final class Show implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-entryID", "--entryID"},
                paramLabel = "ID",
                description = "The entry ID of the record to show.")
        String entryId;

        @Option(
                names = {"-spiffeID", "--spiffeID"},
                paramLabel = "ID",
                description = "The SPIFFE ID of the records to show.")
        String spiffeId;

        @Option(
                names = {"-parentID", "--parentID"},
                paramLabel = "ID",
                description = "The parent ID of the records to show.")
        String parentId;

        @Option(
                names = {"-selector", "--selector"},
                paramLabel = "TYPE:VALUE",
                description = "Selectors of the records to show. Can be used more than once.")
        List<String> selectors = new ArrayList<>();

        @Option(
                names = {"-matchSelectorsOn", "--matchSelectorsOn"},
                paramLabel = "exact|subset|superset|any",
                description = "How entry selectors are matched (default: ${DEFAULT-VALUE}).")
        String match = "superset";

        @Option(
                names = {"-federatesWith", "--federatesWith"},
                paramLabel = "TD",
                description = "Only entries federating with these trust domains.")
        List<String> federatesWith = new ArrayList<>();

        @Option(
                names = {"-output", "--output"},
                paramLabel = "pretty|json",
                description = "Output format.")
        String output = "pretty";

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            List<Entry> entries;
            if (entryId != null) {
                Entry one =
                        admin.call(
                                c ->
                                        c.admin()
                                                .getEntry(
                                                        GetEntryRequest.newBuilder()
                                                                .setId(entryId)
                                                                .build()));
                entries = List.of(one);
            } else {
                ListEntriesRequest.Filter.Builder f =
                        ListEntriesRequest.Filter.newBuilder().setMatch(match);
                if (spiffeId != null) {
                    f.setBySpiffeId(spiffeId);
                }
                if (parentId != null) {
                    f.setByParentId(parentId);
                }
                selectors.forEach(s -> f.addBySelectors(selector(s)));
                entries =
                        admin.call(
                                        c ->
                                                c.admin()
                                                        .listEntries(
                                                                ListEntriesRequest.newBuilder()
                                                                        .setFilter(f)
                                                                        .build()))
                                .getEntriesList();
            }
            if (!federatesWith.isEmpty()) {
                entries =
                        entries.stream()
                                .filter(e -> e.getFederatesWithList().containsAll(federatesWith))
                                .toList();
            }
            if (output.equals("json")) {
                spec.commandLine()
                        .getOut()
                        .println(
                                EntryPrinter.json(
                                        io.mithril.api.admin.ListEntriesResponse.newBuilder()
                                                .addAllEntries(entries)));
                return 0;
            }
            spec.commandLine()
                    .getOut()
                    .println(
                            entries.size() == 1
                                    ? "Found 1 entry"
                                    : "Found " + entries.size() + " entries");
            for (Entry e : entries) {
                EntryPrinter.print(spec.commandLine().getOut(), e);
            }
            return 0;
        }
    }

    @Command(
            name = "update",
            mixinStandardHelpOptions = true,
            description = "Updates a registration entry (flags not given keep their value).")
    static final class Update extends EntryFields implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-entryID", "--entryID"},
                paramLabel = "ID",
                required = true,
                description = "The registration entry ID to update.")
        String entryId;

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Entry current =
                    admin.call(
                            c ->
                                    c.admin()
                                            .getEntry(
                                                    GetEntryRequest.newBuilder()
                                                            .setId(entryId)
                                                            .build()));
            Entry.Builder b = current.toBuilder();
            apply(b, node ? serverId(admin) : null);
            BatchUpdateEntryResponse r =
                    admin.call(
                            c ->
                                    c.admin()
                                            .batchUpdateEntry(
                                                    BatchUpdateEntryRequest.newBuilder()
                                                            .addEntries(b)
                                                            .build()));
            BatchUpdateEntryResponse.Result res = r.getResults(0);
            if (res.getStatus().getCode() != 0) {
                throw new Cli.UserException(
                        "failed to update entry " + entryId + ": " + res.getStatus().getMessage());
            }
            if (output.equals("json")) {
                spec.commandLine().getOut().println(EntryPrinter.json(r));
            } else {
                EntryPrinter.print(spec.commandLine().getOut(), res.getEntry());
            }
            return 0;
        }
    }

    @Command(
            name = "delete",
            mixinStandardHelpOptions = true,
            description = "Deletes a registration entry.")
    static final class Delete implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-entryID", "--entryID"},
                paramLabel = "ID",
                required = true,
                description = "The registration entry ID to delete.")
        String entryId;

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            BatchDeleteEntryResponse r =
                    admin.call(
                            c ->
                                    c.admin()
                                            .batchDeleteEntry(
                                                    BatchDeleteEntryRequest.newBuilder()
                                                            .addIds(entryId)
                                                            .build()));
            if (r.getResults(0).getStatus().getCode() != 0) {
                throw new Cli.UserException(
                        "failed to delete entry "
                                + entryId
                                + ": "
                                + r.getResults(0).getStatus().getMessage());
            }
            spec.commandLine().getOut().println("Deleted entry with ID: " + entryId);
            return 0;
        }
    }

    @Command(
            name = "count",
            mixinStandardHelpOptions = true,
            description = "Counts registration entries.")
    static final class Count implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-output", "--output"},
                paramLabel = "pretty|json",
                description = "Output format.")
        String output = "pretty";

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            long n =
                    admin.call(
                                    c ->
                                            c.admin()
                                                    .countEntries(
                                                            CountEntriesRequest
                                                                    .getDefaultInstance()))
                            .getCount();
            if (output.equals("json")) {
                spec.commandLine().getOut().println("{\"count\":" + n + "}");
            } else {
                spec.commandLine()
                        .getOut()
                        .println(n + (n == 1 ? " registration entry" : " registration entries"));
            }
            return 0;
        }
    }

    static String when(long unix) {
        return Instant.ofEpochSecond(unix).toString();
    }
}
