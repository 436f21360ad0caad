package io.mithril.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mithril.api.admin.GetBundleRequest;
import io.mithril.api.admin.JwtAuthority;
import io.mithril.api.admin.ListAgentsRequest;
import io.mithril.api.admin.ListEntriesRequest;
import io.mithril.api.admin.ListJwtAuthoritiesRequest;
import io.mithril.api.admin.ListX509AuthoritiesRequest;
import io.mithril.api.admin.X509Authority;
import io.mithril.api.types.Agent;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.Entry;
import io.mithril.api.types.Selector;
import io.mithril.server.api.admin.AdminClient;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Polls the sources and keeps the dashboard's state: trust domains and their CAs, agents, entries,
 * proxies, the mesh graph (from the proxies' Istio metrics) and events, found by comparing each
 * poll with the one before (SVIDs rotated, agents attested, CAs prepared or activated, requests
 * denied by policy, handshakes refused). Listeners get the state as JSON whenever it changes.
 * Read-only: it calls only List/Get RPCs and GET endpoints.
 */
public final class Collector implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Collector.class);
    static final ObjectMapper JSON = new ObjectMapper();
    private static final int EVENTS_KEPT = 200;

    /** The window over which requests/s, error rate and p99 are computed. */
    static final Duration WINDOW = Duration.ofSeconds(15);

    private static final String REQUESTS = "istio_requests_total";
    private static final String BUCKETS = "istio_request_duration_milliseconds_bucket";

    private final Sources sources;
    private final Clock clock;
    private final Duration interval;
    private final AdminFetch fetch = new AdminFetch();
    private final Map<String, AdminClient> admins = new LinkedHashMap<>();
    private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();
    private final ArrayDeque<ObjectNode> events = new ArrayDeque<>();
    private final ArrayDeque<Window> windows = new ArrayDeque<>();
    private ScheduledExecutorService executor;
    private volatile String stateJson = "{}";
    private boolean first = true;

    // What the previous poll saw, to find events.
    private final Map<String, String> agentSerials = new HashMap<>();
    private final Map<String, String> caKeys = new HashMap<>();
    private final Map<String, String> proxySerials = new HashMap<>();
    private final Map<String, Instant> lastRefusal = new HashMap<>();
    private Map<String, Double> deniedBefore = Map.of();

    /**
     * Totals of one edge at one poll: requests, errors (status >= 400) and cumulative duration
     * buckets.
     */
    record EdgeTotals(
            double requests, double errors, double denied, TreeMap<Double, Double> buckets) {}

    private record Window(Instant at, Map<String, EdgeTotals> edges) {}

    public Collector(Sources sources, Clock clock, Duration interval) {
        this.sources = sources;
        this.clock = clock;
        this.interval = interval;
        for (Map.Entry<String, Path> e : sources.servers().entrySet()) {
            admins.put(e.getKey(), AdminClient.connect(e.getValue()));
        }
    }

    /** Polls now and then every interval, on a thread of its own. */
    public synchronized void start() {
        if (executor != null) {
            return;
        }
        executor =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "dashboard-collector");
                            t.setDaemon(true);
                            return t;
                        });
        executor.scheduleWithFixedDelay(
                () -> {
                    try {
                        poll();
                    } catch (RuntimeException e) {
                        log.warn("dashboard poll failed: {}", e.toString());
                    }
                },
                0,
                interval.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /** Called with the state (JSON) after every poll that changed it. */
    public void subscribe(Consumer<String> listener) {
        listeners.add(listener);
    }

    public void unsubscribe(Consumer<String> listener) {
        listeners.remove(listener);
    }

    /** The latest state as JSON. */
    public String stateJson() {
        return stateJson;
    }

    /** One poll of every source; public for tests that drive it step by step. */
    public synchronized void poll() {
        Instant now = clock.instant();
        ObjectNode state = JSON.createObjectNode();
        ArrayNode status = state.putArray("sources");
        ArrayNode domains = state.putArray("trustDomains");
        ArrayNode agents = state.putArray("agents");
        ArrayNode entries = state.putArray("entries");
        Map<String, ObjectNode> domainsByRoot = new LinkedHashMap<>();
        for (Map.Entry<String, AdminClient> e : admins.entrySet()) {
            String cluster = e.getKey();
            try {
                pollServer(cluster, e.getValue(), domainsByRoot, agents, entries, now);
                status.add(
                        source(
                                "identity server " + cluster,
                                e.getValue().socket().toString(),
                                null));
            } catch (RuntimeException ex) {
                status.add(
                        source(
                                "identity server " + cluster,
                                e.getValue().socket().toString(),
                                message(ex)));
            }
        }
        domainsByRoot.values().forEach(domains::add);

        JsonNode syncz = null;
        if (sources.controlPlaneAdmin() != null) {
            try {
                syncz =
                        JSON.readTree(
                                fetch.getAll(
                                                sources.controlPlaneNetns(),
                                                sources.controlPlaneAdmin(),
                                                List.of("/debug/syncz"))
                                        .get("/debug/syncz"));
                status.add(source("control plane", sources.controlPlaneAdmin(), null));
            } catch (IOException ex) {
                status.add(source("control plane", sources.controlPlaneAdmin(), message(ex)));
            }
        }
        state.set("controlPlane", syncz == null ? JSON.nullNode() : controlPlane(syncz));

        ArrayNode proxies = state.putArray("proxies");
        Map<String, EdgeTotals> edgeTotals = new TreeMap<>();
        Map<String, String> kinds = new HashMap<>();
        for (Sources.ProxyAdmin p : proxyList(syncz)) {
            ObjectNode node = proxies.addObject().put("name", p.name()).put("admin", p.hostPort());
            if (p.netns() != null) {
                node.put("netns", p.netns());
            }
            try {
                Map<String, String> got =
                        fetch.getAll(
                                p.netns(),
                                p.hostPort(),
                                List.of(
                                        "/certs",
                                        "/stats/prometheus",
                                        "/debug/refused_handshakes"));
                JsonNode certs = JSON.readTree(got.get("/certs"));
                String id = certs.path("spiffeId").asText("");
                node.put("spiffeId", id)
                        .put("serial", certs.path("serial").asText(""))
                        .put("notBefore", certs.path("notBefore").asText(""))
                        .put("notAfter", certs.path("notAfter").asText(""))
                        .put("up", true);
                kinds.put(id, p.name().contains("gateway") ? "gateway" : "workload");
                proxyRotation(p.name(), id, certs.path("serial").asText(""), now);
                addEdges(
                        id,
                        kinds.get(id).equals("gateway"),
                        PromText.parse(got.get("/stats/prometheus")),
                        edgeTotals);
                refusals(p.name(), id, JSON.readTree(got.get("/debug/refused_handshakes")), now);
                status.add(source("proxy " + p.name(), where(p), null));
            } catch (IOException | RuntimeException ex) {
                node.put("up", false).put("error", message(ex));
                status.add(source("proxy " + p.name(), where(p), message(ex)));
            }
        }
        state.set("graph", graph(edgeTotals, kinds, now));
        first = false;
        ArrayNode ev = state.putArray("events");
        events.forEach(ev::add);
        String json;
        try {
            json = JSON.writeValueAsString(state);
        } catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
        // updatedAt is not part of the comparison: only a real change is pushed.
        if (!json.equals(stateJson)) {
            stateJson = json;
            for (Consumer<String> l : listeners) {
                l.accept(json);
            }
        }
    }

    private static String where(Sources.ProxyAdmin p) {
        return p.netns() == null ? p.hostPort() : p.hostPort() + " in netns " + p.netns();
    }

    private List<Sources.ProxyAdmin> proxyList(JsonNode syncz) {
        List<Sources.ProxyAdmin> out = new ArrayList<>(sources.proxies());
        if (sources.discoverProxies() && syncz != null) {
            Set<String> known = new LinkedHashSet<>();
            out.forEach(p -> known.add(p.hostPort()));
            for (JsonNode p : syncz.path("proxies")) {
                String host = hostOf(p.path("peerAddress").asText(""));
                if (host.isEmpty() || !known.add(host + ":15000")) {
                    continue;
                }
                String name = p.path("name").asText("").isEmpty() ? host : p.path("name").asText();
                out.add(new Sources.ProxyAdmin(name, null, host + ":15000"));
            }
        }
        return out;
    }

    static String hostOf(String peer) {
        String s = peer.startsWith("/") ? peer.substring(1) : peer;
        int slash = s.indexOf('/');
        if (slash >= 0) {
            s = s.substring(slash + 1);
        }
        int colon = s.lastIndexOf(':');
        return colon > 0 ? s.substring(0, colon) : s;
    }

    // ---------------------------------------------------------------- identity servers

    private void pollServer(
            String cluster,
            AdminClient admin,
            Map<String, ObjectNode> domainsByRoot,
            ArrayNode agents,
            ArrayNode entries,
            Instant now) {
        Bundle bundle = admin.admin().getBundle(GetBundleRequest.getDefaultInstance());
        List<X509Certificate> roots = new ArrayList<>();
        for (var der : bundle.getX509AuthoritiesList()) {
            roots.add(cert(der.toByteArray()));
        }
        String rootKey =
                bundle.getTrustDomain()
                        + "|"
                        + String.join(
                                ",", roots.stream().map(Collector::fingerprint).sorted().toList());
        ObjectNode domain =
                domainsByRoot.computeIfAbsent(
                        rootKey,
                        k -> {
                            ObjectNode d =
                                    JSON.createObjectNode().put("name", bundle.getTrustDomain());
                            ArrayNode r = d.putArray("roots");
                            roots.forEach(c -> r.add(certJson(c)));
                            d.putArray("clusters");
                            return d;
                        });
        ObjectNode c = ((ArrayNode) domain.get("clusters")).addObject().put("name", cluster);
        ArrayNode cas = c.putArray("authorities");
        Instant nextRotation = null;
        for (X509Authority a :
                admin.admin()
                        .listX509Authorities(ListX509AuthoritiesRequest.getDefaultInstance())
                        .getAuthoritiesList()) {
            X509Certificate ca = cert(a.getCertChain(0).toByteArray());
            ObjectNode n = certJson(ca).put("slot", a.getSlot()).put("keyId", a.getKeyId());
            if (a.getCertChainCount() > 1) {
                n.put(
                        "issuerFingerprint",
                        fingerprint(cert(a.getCertChain(a.getCertChainCount() - 1).toByteArray())));
            } else {
                n.put("issuerFingerprint", fingerprint(ca));
            }
            cas.add(n);
            if (a.getSlot().equals("active")) {
                Instant nb = ca.getNotBefore().toInstant();
                Instant na = ca.getNotAfter().toInstant();
                Duration life = Duration.between(nb, na);
                Duration activate = min(life.dividedBy(6), Duration.ofDays(7));
                nextRotation = na.minus(activate);
                String key = cluster + "|" + a.getKeyId() + "|" + ca.getSerialNumber();
                String before = caKeys.put(cluster + "|active", key);
                if (before != null && !before.equals(key)) {
                    event(
                            now,
                            "ca-rotated",
                            cluster
                                    + ": new X.509 CA active (serial "
                                    + ca.getSerialNumber().toString(16)
                                    + "); the previous one is kept as old until it expires");
                }
            } else if (a.getSlot().equals("prepared")) {
                String key = ca.getSerialNumber().toString(16);
                String before = caKeys.put(cluster + "|prepared", key);
                if (!key.equals(before) && !first) {
                    event(
                            now,
                            "ca-prepared",
                            cluster
                                    + ": next X.509 CA prepared (serial "
                                    + key
                                    + "), its root in the bundle");
                }
            }
        }
        if (nextRotation != null) {
            c.put("nextRotation", nextRotation.toString());
        }
        ArrayNode jwt = c.putArray("jwtAuthorities");
        for (JwtAuthority k : jwtAuthorities(admin)) {
            jwt.addObject()
                    .put("slot", k.getSlot())
                    .put("kid", k.getKid())
                    .put("keyId", k.getKeyId())
                    .put("notBefore", Instant.ofEpochSecond(k.getNotBefore()).toString())
                    .put("notAfter", Instant.ofEpochSecond(k.getNotAfter()).toString());
        }
        for (Agent a :
                admin.admin().listAgents(ListAgentsRequest.getDefaultInstance()).getAgentsList()) {
            agents.addObject()
                    .put("cluster", cluster)
                    .put("spiffeId", a.getSpiffeId())
                    .put("attestationType", a.getAttestationType())
                    .put("serial", a.getX509SvidSerial())
                    .put("expiresAt", Instant.ofEpochSecond(a.getX509SvidExpiresAt()).toString())
                    .put("banned", a.getBanned())
                    .put("canReattest", a.getCanReattest())
                    .put(
                            "lastSync",
                            a.getLastSync() == 0
                                    ? ""
                                    : Instant.ofEpochSecond(a.getLastSync()).toString());
            String before =
                    agentSerials.put(cluster + "|" + a.getSpiffeId(), a.getX509SvidSerial());
            if (!first && before == null) {
                event(
                        now,
                        "agent-attested",
                        cluster
                                + ": agent "
                                + a.getSpiffeId()
                                + " attested ("
                                + a.getAttestationType()
                                + ")");
            } else if (before != null && !before.equals(a.getX509SvidSerial())) {
                event(
                        now,
                        "svid-rotated",
                        cluster + ": agent " + a.getSpiffeId() + " renewed its SVID");
            }
        }
        for (Entry en :
                admin.admin()
                        .listEntries(ListEntriesRequest.getDefaultInstance())
                        .getEntriesList()) {
            ArrayNode sel = JSON.createArrayNode();
            for (Selector s : en.getSelectorsList()) {
                sel.add(s.getType() + ":" + s.getValue());
            }
            ObjectNode n =
                    entries.addObject()
                            .put("cluster", cluster)
                            .put("id", en.getId())
                            .put("spiffeId", en.getSpiffeId())
                            .put("parentId", en.getParentId())
                            .put("x509SvidTtl", en.getX509SvidTtl());
            n.set("selectors", sel);
        }
    }

    /** The server's JWT signing keys; none from a server without ListJwtAuthorities. */
    private static List<JwtAuthority> jwtAuthorities(AdminClient admin) {
        try {
            return admin.admin()
                    .listJwtAuthorities(ListJwtAuthoritiesRequest.getDefaultInstance())
                    .getAuthoritiesList();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.UNIMPLEMENTED) {
                return List.of();
            }
            throw e;
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    // ---------------------------------------------------------------- control plane

    private static ObjectNode controlPlane(JsonNode syncz) {
        ObjectNode cp =
                JSON.createObjectNode()
                        .put("spiffeId", syncz.path("spiffeId").asText(""))
                        .put("configVersion", syncz.path("configVersion").asText(""))
                        .put("rejected", syncz.path("rejectedErrors").size());
        ArrayNode ps = cp.putArray("proxies");
        for (JsonNode p : syncz.path("proxies")) {
            ps.addObject()
                    .put("spiffeId", p.path("spiffeId").asText(""))
                    .put("kind", p.path("kind").asText(""))
                    .put("node", p.path("name").asText(""))
                    .put("state", syncState(p));
        }
        return cp;
    }

    /**
     * A proxy's state in the control plane's {@code /debug/syncz} (its {@code ProxyStatus}: maps
     * {@code sent}, {@code acked}, {@code nacks} by xDS type): NACKED if any type is NACKed, SYNCED
     * if every type sent was ACKed at that version, else STALE, as {@code ProxyStatus.state()}.
     */
    static String syncState(JsonNode proxy) {
        if (!proxy.path("nacks").isEmpty()) {
            return "NACKED";
        }
        JsonNode sent = proxy.path("sent");
        if (sent.isEmpty()) {
            return "STALE";
        }
        for (var it = sent.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().asText().equals(proxy.path("acked").path(e.getKey()).asText(null))) {
                return "STALE";
            }
        }
        return "SYNCED";
    }

    // ---------------------------------------------------------------- proxies and the graph

    private void proxyRotation(String name, String id, String serial, Instant now) {
        if (serial.isEmpty()) {
            return;
        }
        String before = proxySerials.put(name, serial);
        if (before != null && !before.equals(serial)) {
            event(
                    now,
                    "svid-rotated",
                    "SVID rotated: "
                            + id
                            + " (proxy "
                            + name
                            + "), serial "
                            + before
                            + " -> "
                            + serial);
        }
    }

    private void refusals(String name, String id, JsonNode list, Instant now) {
        Instant seen = lastRefusal.get(name);
        Instant newest = seen;
        for (JsonNode r : list) {
            Instant at = Instant.parse(r.path("at").asText());
            if (seen == null || at.isAfter(seen)) {
                event(
                        at,
                        "handshake-refused",
                        "handshake refused by "
                                + name
                                + " ("
                                + id
                                + ") on "
                                + r.path("listener").asText()
                                + " from "
                                + r.path("peer").asText()
                                + ": "
                                + r.path("reason").asText());
                newest = newest == null || at.isAfter(newest) ? at : newest;
            }
        }
        if (newest != null) {
            lastRefusal.put(name, newest);
        } else {
            lastRefusal.putIfAbsent(name, Instant.EPOCH);
        }
    }

    /**
     * Adds the calls a proxy received: a sidecar's inbound requests (reporter "destination"), and
     * for a gateway every request its listeners took (it reports them as "source", the first hop).
     * The caller is the request's source principal, the callee this proxy's own identity.
     */
    static void addEdges(
            String target,
            boolean gateway,
            List<PromText.Sample> samples,
            Map<String, EdgeTotals> totals) {
        for (PromText.Sample s : samples) {
            if (!s.label("reporter").equals("destination") && !gateway) {
                continue;
            }
            String key = s.label("source_principal") + "\n" + target;
            if (s.name().equals(REQUESTS)) {
                int code = parseCode(s.label("response_code"));
                EdgeTotals t = totals.getOrDefault(key, new EdgeTotals(0, 0, 0, new TreeMap<>()));
                totals.put(
                        key,
                        new EdgeTotals(
                                t.requests() + s.value(),
                                t.errors() + (code >= 400 ? s.value() : 0),
                                t.denied()
                                        + (s.label("response_flags").equals("RBAC")
                                                ? s.value()
                                                : 0),
                                t.buckets()));
            } else if (s.name().equals(BUCKETS)) {
                EdgeTotals t =
                        totals.computeIfAbsent(key, k -> new EdgeTotals(0, 0, 0, new TreeMap<>()));
                double le =
                        s.label("le").equals("+Inf")
                                ? Double.POSITIVE_INFINITY
                                : Double.parseDouble(s.label("le"));
                t.buckets().merge(le, s.value(), Double::sum);
            }
        }
    }

    private static int parseCode(String code) {
        try {
            return Integer.parseInt(code);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private ObjectNode graph(
            Map<String, EdgeTotals> totals, Map<String, String> kinds, Instant now) {
        windows.addLast(new Window(now, totals));
        while (windows.size() > 2
                && Duration.between(windows.peekFirst().at(), now).compareTo(WINDOW) > 0) {
            windows.removeFirst();
        }
        Window oldest = windows.peekFirst();
        double seconds = Math.max(0.001, Duration.between(oldest.at(), now).toMillis() / 1000.0);
        ObjectNode g = JSON.createObjectNode();
        ArrayNode nodes = g.putArray("nodes");
        ArrayNode edges = g.putArray("edges");
        Set<String> ids = new LinkedHashSet<>(kinds.keySet());
        Map<String, Double> denied = new HashMap<>();
        for (Map.Entry<String, EdgeTotals> e : totals.entrySet()) {
            String[] st = e.getKey().split("\n", 2);
            EdgeTotals now1 = e.getValue();
            if (now1.requests() == 0) {
                continue;
            }
            EdgeTotals then = oldest == windows.peekLast() ? null : oldest.edges().get(e.getKey());
            double dReq = Math.max(0, now1.requests() - (then == null ? 0 : then.requests()));
            double dErr = Math.max(0, now1.errors() - (then == null ? 0 : then.errors()));
            boolean mtls = !st[0].equals("unknown") && !st[0].isEmpty();
            String source = mtls ? st[0] : "unknown (no client certificate)";
            ids.add(source);
            ids.add(st[1]);
            ObjectNode edge =
                    edges.addObject()
                            .put("source", source)
                            .put("target", st[1])
                            .put("principal", mtls ? st[0] : "")
                            .put("mtls", mtls)
                            .put("requests", (long) now1.requests())
                            .put("rps", round(then == null ? 0 : dReq / seconds))
                            .put("errorRate", round(dReq == 0 ? 0 : dErr / dReq));
            Double p99 =
                    quantile(0.99, delta(now1.buckets(), then == null ? null : then.buckets()));
            if (p99 == null) {
                p99 = quantile(0.99, now1.buckets());
            }
            if (p99 != null) {
                edge.put("p99Ms", round(p99));
            }
            denied.put(e.getKey(), now1.denied());
            double before = deniedBefore.getOrDefault(e.getKey(), first ? now1.denied() : 0);
            if (now1.denied() > before) {
                event(
                        now,
                        "request-denied",
                        (long) (now1.denied() - before)
                                + " request(s) from "
                                + source
                                + " to "
                                + st[1]
                                + " denied by policy (403 RBAC)");
            }
        }
        deniedBefore = denied;
        for (String id : ids) {
            nodes.addObject()
                    .put("id", id)
                    .put("label", label(id))
                    .put("kind", kinds.getOrDefault(id, "caller"));
        }
        return g;
    }

    private static TreeMap<Double, Double> delta(
            TreeMap<Double, Double> now, TreeMap<Double, Double> then) {
        TreeMap<Double, Double> d = new TreeMap<>();
        now.forEach(
                (le, v) ->
                        d.put(
                                le,
                                Math.max(0, v - (then == null ? 0 : then.getOrDefault(le, 0.0)))));
        return d;
    }

    /**
     * The q-quantile of cumulative buckets, interpolated linearly inside its bucket (as
     * histogram_quantile does).
     */
    static Double quantile(double q, TreeMap<Double, Double> cumulative) {
        if (cumulative.isEmpty()) {
            return null;
        }
        double total = cumulative.lastEntry().getValue();
        if (total <= 0) {
            return null;
        }
        double rank = q * total;
        double lower = 0;
        double below = 0;
        for (Map.Entry<Double, Double> b : cumulative.entrySet()) {
            if (b.getValue() >= rank) {
                if (b.getKey().isInfinite()) {
                    return lower;
                }
                double inBucket = b.getValue() - below;
                return inBucket <= 0
                        ? b.getKey()
                        : lower + (b.getKey() - lower) * (rank - below) / inBucket;
            }
            lower = b.getKey();
            below = b.getValue();
        }
        return lower;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    static String label(String id) {
        int sa = id.lastIndexOf("/sa/");
        if (sa >= 0) {
            return id.substring(sa + 4);
        }
        return id.startsWith("spiffe://")
                ? id.substring(id.indexOf('/', 9) < 0 ? 9 : id.indexOf('/', 9))
                : id;
    }

    // ---------------------------------------------------------------- helpers

    private void event(Instant at, String kind, String text) {
        if (events.size() == EVENTS_KEPT) {
            events.removeFirst();
        }
        events.addLast(
                JSON.createObjectNode()
                        .put("at", at.toString())
                        .put("kind", kind)
                        .put("text", text));
        log.info("dashboard event: {}", text);
    }

    private static ObjectNode source(String what, String where, String error) {
        ObjectNode n =
                JSON.createObjectNode()
                        .put("name", what)
                        .put("address", where)
                        .put("ok", error == null);
        if (error != null) {
            n.put("error", error);
        }
        return n;
    }

    private static String message(Throwable t) {
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    static X509Certificate cert(byte[] der) {
        try {
            return (X509Certificate)
                    CertificateFactory.getInstance("X.509")
                            .generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException e) {
            throw new IllegalStateException(
                    "a certificate that does not parse: " + e.getMessage(), e);
        }
    }

    static String fingerprint(X509Certificate c) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()))
                    .substring(0, 16);
        } catch (NoSuchAlgorithmException | java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode certJson(X509Certificate c) {
        return JSON.createObjectNode()
                .put("subject", c.getSubjectX500Principal().getName())
                .put("serial", c.getSerialNumber().toString(16))
                .put("fingerprint", fingerprint(c))
                .put("notBefore", c.getNotBefore().toInstant().toString())
                .put("notAfter", c.getNotAfter().toInstant().toString());
    }

    @Override
    public synchronized void close() {
        if (executor != null) {
            executor.shutdownNow();
        }
        admins.values().forEach(AdminClient::close);
    }
}
