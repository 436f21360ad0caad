package io.mithril.cli.doctor;

import com.fasterxml.jackson.databind.JsonNode;
import io.mithril.agent.fs.TrustedDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The checks of {@code mithril doctor}: on files (sockets, key and datastore modes) and on one poll
 * of the dashboard's collector (bundles, CAs, SVIDs, clocks, entries, proxies' sync state). Each
 * check adds one line: ok, or what is wrong and what to do.
 */
final class Doctor {

    /** One line of the report. */
    record Line(boolean ok, String check, String detail) {
        @Override
        public String toString() {
            return (ok ? "ok    " : "FAIL  ") + check + ": " + detail;
        }
    }

    /**
     * A certificate whose notBefore is this far after the local clock shows the issuer's clock is
     * ahead.
     */
    static final Duration SKEW_TOLERANCE = Duration.ofSeconds(5);

    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private final Instant now;
    final List<Line> lines = new ArrayList<>();

    Doctor(Instant now) {
        this.now = now;
    }

    boolean failed() {
        return lines.stream().anyMatch(l -> !l.ok());
    }

    private void ok(String check, String detail) {
        lines.add(new Line(true, check, detail));
    }

    private void fail(String check, String detail) {
        lines.add(new Line(false, check, detail));
    }

    // ---------------------------------------------------------------- files

    /**
     * A component's Unix socket: present, a socket, in a directory the agent's TrustedDirectory
     * rule accepts.
     */
    void socket(String what, Path socket) {
        String check = what + " socket " + socket;
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            fail(check, "missing: is the component running with this socket_path?");
            return;
        }
        try {
            int mode = (Integer) Files.getAttribute(socket, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            if ((mode & S_IFMT) != S_IFSOCK) {
                fail(check, "not a socket: remove it and restart the component");
                return;
            }
            TrustedDirectory.check(socket.toAbsolutePath().getParent(), what + " socket directory");
            ok(check, "present, in a directory only root or its owner can change");
        } catch (IOException e) {
            fail(
                    check,
                    e.getMessage()
                            + ": chmod go-w (and chown to root or the component's user) the directory");
        }
    }

    /**
     * Every file under a data_dir (keys, datastore, SVIDs) readable by its owner only; no directory
     * writable by others.
     */
    void privateFiles(String what, Path dataDir) {
        String check = what + " data_dir " + dataDir;
        if (!Files.isDirectory(dataDir)) {
            fail(check, "missing: is data_dir right?");
            return;
        }
        List<String> bad = new ArrayList<>();
        int files = 0;
        try (Stream<Path> s = Files.walk(dataDir)) {
            for (Path p : s.toList()) {
                if (Files.isSymbolicLink(p)) {
                    continue;
                }
                int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    files++;
                    if ((mode & 0077) != 0) {
                        bad.add(String.format("%s is mode %04o: chmod 600 %s", p, mode & 07777, p));
                    }
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) && (mode & 0022) != 0) {
                    bad.add(
                            String.format(
                                    "directory %s is mode %04o: chmod go-w %s",
                                    p, mode & 07777, p));
                }
            }
        } catch (IOException | RuntimeException e) {
            fail(check, "cannot read it: " + e.getMessage());
            return;
        }
        if (bad.isEmpty()) {
            ok(check, files + " file(s), none readable by group or other");
        } else {
            bad.forEach(b -> fail(check, b));
        }
    }

    /**
     * A key or datastore file outside data_dir (inside, {@link #privateFiles} has seen it): its
     * owner's only.
     */
    void privateFile(String what, Path file, Path dataDir) {
        if (file.toAbsolutePath().normalize().startsWith(dataDir.toAbsolutePath().normalize())) {
            return;
        }
        String check = what + " " + file;
        try {
            int mode = (Integer) Files.getAttribute(file, "unix:mode");
            if ((mode & 0077) != 0) {
                fail(check, String.format("mode %04o: chmod 600 %s", mode & 07777, file));
            } else {
                ok(check, String.format("mode %04o", mode & 07777));
            }
        } catch (IOException e) {
            fail(check, "cannot read it (" + e.getMessage() + "): is the path right?");
        }
    }

    // ---------------------------------------------------------------- the components, from one
    // collector poll

    /** Interprets the dashboard collector's state (see Collector#poll). */
    void state(JsonNode state, Duration within, Duration syncStale) {
        for (JsonNode s : state.path("sources")) {
            String check = "reach " + s.path("name").asText() + " at " + s.path("address").asText();
            if (s.path("ok").asBoolean()) {
                ok(check, "answered");
            } else {
                fail(
                        check,
                        s.path("error").asText() + ": is it running, and may this user read it?");
            }
        }
        bundles(state.path("trustDomains"));
        svids(state, within);
        agentSyncs(state.path("agents"), syncStale);
        entries(state);
        proxiesInSync(state.path("controlPlane"));
    }

    private void bundles(JsonNode domains) {
        Map<String, List<JsonNode>> byName = new LinkedHashMap<>();
        domains.forEach(
                d ->
                        byName.computeIfAbsent(d.path("name").asText(), k -> new ArrayList<>())
                                .add(d));
        for (Map.Entry<String, List<JsonNode>> e : byName.entrySet()) {
            String check = "bundle of trust domain " + e.getKey();
            if (e.getValue().size() == 1) {
                List<String> clusters = new ArrayList<>();
                e.getValue()
                        .get(0)
                        .path("clusters")
                        .forEach(c -> clusters.add(c.path("name").asText()));
                ok(check, "the same root(s) at " + String.join(", ", clusters));
                continue;
            }
            StringBuilder sb =
                    new StringBuilder("clusters of one trust domain have different roots (");
            for (JsonNode d : e.getValue()) {
                List<String> clusters = new ArrayList<>();
                d.path("clusters").forEach(c -> clusters.add(c.path("name").asText()));
                List<String> fps = new ArrayList<>();
                d.path("roots")
                        .forEach(r -> fps.add(r.path("fingerprint").asText().substring(0, 16)));
                sb.append(String.join(",", clusters))
                        .append(": ")
                        .append(String.join(",", fps))
                        .append("; ");
            }
            sb.setLength(sb.length() - 2);
            fail(
                    check,
                    sb
                            + "): give them the same UpstreamAuthority, or different trust domains and federate them");
        }
    }

    private void svids(JsonNode state, Duration within) {
        for (JsonNode d : state.path("trustDomains")) {
            for (JsonNode c : d.path("clusters")) {
                for (JsonNode ca : c.path("authorities")) {
                    cert(
                            "X.509 CA ("
                                    + ca.path("slot").asText()
                                    + ") of "
                                    + c.path("name").asText(),
                            ca.path("notBefore").asText(),
                            ca.path("notAfter").asText(),
                            within,
                            "the server's clock is ahead: sync it (NTP)",
                            "the server has not rotated its CA: check its logs and UpstreamAuthority");
                }
            }
        }
        for (JsonNode a : state.path("agents")) {
            if (a.path("banned").asBoolean()) {
                continue;
            }
            cert(
                    "agent SVID of " + a.path("spiffeId").asText(),
                    null,
                    a.path("expiresAt").asText(),
                    within,
                    null,
                    "the agent has not renewed it: is it running and reaching its server? (re-attest if it was down too long)");
        }
        for (JsonNode p : state.path("proxies")) {
            if (!p.path("up").asBoolean() || p.path("notAfter").asText().isEmpty()) {
                continue;
            }
            cert(
                    "SVID of proxy "
                            + p.path("name").asText()
                            + " ("
                            + p.path("spiffeId").asText()
                            + ")",
                    p.path("notBefore").asText(),
                    p.path("notAfter").asText(),
                    within,
                    "the issuing server's clock is ahead of this one: sync it (NTP)",
                    "the proxy has not got a new SVID: check its agent (SDS) and the workload's registration entry");
        }
    }

    /**
     * One certificate: notBefore after the local clock (plus {@link #SKEW_TOLERANCE}) is clock
     * skew; expired, or less than {@code within} left, or less than a sixth of its life left (SPIRE
     * renews at half its life, so it is overdue), fails.
     */
    private void cert(
            String what,
            String notBefore,
            String notAfter,
            Duration within,
            String skewAdvice,
            String renewAdvice) {
        Instant na = Instant.parse(notAfter);
        if (notBefore != null) {
            Instant nb = Instant.parse(notBefore);
            Duration ahead = Duration.between(now, nb);
            if (ahead.compareTo(SKEW_TOLERANCE) > 0) {
                fail(
                        "clock of " + what,
                        "notBefore "
                                + nb
                                + " is "
                                + ahead.toSeconds()
                                + "s after this machine's clock: "
                                + skewAdvice);
            }
        }
        Duration left = Duration.between(now, na);
        String check = what;
        if (left.isNegative() || left.isZero()) {
            fail(check, "expired at " + na + ": " + renewAdvice);
            return;
        }
        boolean overdue =
                notBefore != null
                        && left.compareTo(
                                        Duration.between(Instant.parse(notBefore), na).dividedBy(6))
                                < 0;
        if (left.compareTo(within) < 0 || overdue) {
            fail(
                    check,
                    "expires at "
                            + na
                            + ", in "
                            + left.toSeconds()
                            + "s"
                            + (overdue ? " (less than a sixth of its life left)" : "")
                            + ": "
                            + renewAdvice);
        } else {
            ok(check, "valid until " + na + " (" + left.toSeconds() + "s left)");
        }
    }

    /**
     * Each agent's last sync with its server (its last GetAuthorizedEntries, as the server reports
     * it).
     */
    private void agentSyncs(JsonNode agents, Duration stale) {
        for (JsonNode a : agents) {
            if (a.path("banned").asBoolean()) {
                continue;
            }
            String check =
                    "sync of agent "
                            + a.path("spiffeId").asText()
                            + " ("
                            + a.path("cluster").asText()
                            + ")";
            String last = a.path("lastSync").asText("");
            if (last.isEmpty()) {
                fail(
                        check,
                        "no sync since its server started: is the agent running and reaching its server?");
                continue;
            }
            Duration ago = Duration.between(Instant.parse(last), now);
            if (ago.compareTo(stale) > 0) {
                fail(
                        check,
                        "last synced at "
                                + last
                                + ", "
                                + ago.toSeconds()
                                + "s ago: is the agent running and reaching its server?");
            } else {
                ok(check, "last synced " + Math.max(0, ago.toSeconds()) + "s ago");
            }
        }
    }

    /**
     * Entries whose parent is no attested agent and no other entry's SPIFFE ID: no agent will ever
     * be given them.
     */
    private void entries(JsonNode state) {
        Map<String, Set<String>> parents = new LinkedHashMap<>();
        for (JsonNode a : state.path("agents")) {
            parents.computeIfAbsent(a.path("cluster").asText(), k -> new HashSet<>())
                    .add(a.path("spiffeId").asText());
        }
        for (JsonNode e : state.path("entries")) {
            parents.computeIfAbsent(e.path("cluster").asText(), k -> new HashSet<>())
                    .add(e.path("spiffeId").asText());
        }
        int total = 0;
        List<String> orphans = new ArrayList<>();
        for (JsonNode e : state.path("entries")) {
            total++;
            String parent = e.path("parentId").asText();
            Set<String> known = parents.getOrDefault(e.path("cluster").asText(), Set.of());
            // Node entries (parent: the server itself) are matched by attestation, not by an agent.
            if (!parent.endsWith("/spire/server") && !known.contains(parent)) {
                orphans.add(
                        e.path("cluster").asText()
                                + " entry "
                                + e.path("id").asText()
                                + " ("
                                + e.path("spiffeId").asText()
                                + ") has parent "
                                + parent
                                + ", which no attested agent or node entry is");
            }
        }
        if (!state.path("entries").isMissingNode()
                && state.has("entries")
                && orphans.isEmpty()
                && total > 0) {
            ok(
                    "registration entries",
                    total + " entries, each under an attested agent or a node entry");
        }
        orphans.forEach(
                o ->
                        fail(
                                "registration entries",
                                o
                                        + ": no workload can get it; fix its -parentID or attest that agent"));
    }

    /**
     * Entries whose workloads run on this host ({@code unix} selectors only) that no running
     * process matches: registered, but nobody will ever fetch them (a workload stopped, or a
     * selector typed wrong). Entries with other selectors (k8s, docker) are counted as not checked
     * here.
     */
    void hostWorkloads(JsonNode state, HostWorkloads host) {
        int matched = 0;
        List<String> notChecked = new ArrayList<>();
        for (JsonNode e : state.path("entries")) {
            Set<String> selectors = new java.util.TreeSet<>();
            e.path("selectors").forEach(sel -> selectors.add(sel.asText()));
            if (e.path("parentId").asText().endsWith("/spire/server")
                    || selectors.stream().anyMatch(sel -> sel.startsWith("spiffe_id:"))) {
                continue; // node entries and the ones `token generate -spiffeID` makes: agents, not
                // workloads
            }
            String who =
                    e.path("cluster").asText()
                            + " entry "
                            + e.path("id").asText()
                            + " ("
                            + e.path("spiffeId").asText()
                            + ")";
            if (selectors.isEmpty()
                    || !selectors.stream().allMatch(sel -> sel.startsWith("unix:"))) {
                notChecked.add(who);
                continue;
            }
            switch (host.match(selectors)) {
                case MATCHED -> matched++;
                case UNKNOWN -> notChecked.add(who);
                case NONE ->
                        fail(
                                "running workload of " + who,
                                "no process on this host has "
                                        + String.join(", ", selectors)
                                        + ": is the workload running (as that user), or are the entry's selectors right?");
            }
        }
        String skipped =
                notChecked.isEmpty()
                        ? ""
                        : "; "
                                + notChecked.size()
                                + " not checked here (selectors other than unix,"
                                + " unix:sha256, or paths of other users' processes: run as root)";
        if (matched > 0 || !notChecked.isEmpty()) {
            ok(
                    "running workloads",
                    matched
                            + " entries with unix selectors each match a process on this host"
                            + skipped);
        }
    }

    private void proxiesInSync(JsonNode cp) {
        if (cp == null || cp.isNull() || cp.isMissingNode()) {
            return;
        }
        if (cp.path("rejected").asInt() > 0) {
            fail(
                    "control plane configuration",
                    cp.path("rejected").asInt()
                            + " resource(s) rejected: see `mithril controlplane status` and fix the YAML it names");
        }
        int synced = 0;
        for (JsonNode p : cp.path("proxies")) {
            String state = p.path("state").asText();
            String who =
                    "proxy "
                            + (p.path("node").asText().isEmpty()
                                    ? p.path("spiffeId").asText()
                                    : p.path("node").asText());
            switch (state) {
                case "SYNCED" -> synced++;
                case "NACKED" ->
                        fail(
                                who + " sync",
                                "NACKED: it rejected the control plane's last configuration; see its log"
                                        + " and `mithril controlplane status`");
                default ->
                        fail(
                                who + " sync",
                                state
                                        + ": it has not acknowledged the control plane's last configuration;"
                                        + " is it connected and alive?");
            }
        }
        if (synced > 0 || cp.path("proxies").isEmpty()) {
            ok("proxies in sync with the control plane", synced + " SYNCED");
        }
    }
}
