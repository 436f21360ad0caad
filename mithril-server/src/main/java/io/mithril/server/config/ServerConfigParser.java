package io.mithril.server.config;

import io.mithril.api.observability.ObservabilityConfig;
import io.mithril.hcl.Hcl;
import io.mithril.hcl.HclEntry;
import io.mithril.hcl.HclException;
import io.mithril.hcl.HclObject;
import io.mithril.hcl.PluginData;
import io.mithril.spiffe.id.InvalidSpiffeIdException;
import io.mithril.spiffe.id.TrustDomain;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads SPIRE's {@code server.conf} (HCL) into a {@link ServerConfig}. The keys are SPIRE's, so a
 * real SPIRE configuration using the supported plugins runs unchanged: {@code server { .. }},
 * {@code plugins { DataStore "sql", KeyManager "disk"|"memory", NodeAttestor
 * "join_token"|"x509pop", UpstreamAuthority "disk"|"spire" }}, {@code health_checks { .. }} and
 * {@code telemetry { Prometheus { .. } }}. {@code plugin_data { .. }} and {@code plugin_data = { ..
 * }} are both accepted, and numbers may be quoted.
 *
 * <p>Unknown keys, unknown plugins and bad values fail with an {@link HclException} whose message
 * starts with {@code file:line:column}. Every key of SPIRE's {@code server_full.conf} is honoured
 * or refused with an error that says why (docs/server.md lists them).
 */
public final class ServerConfigParser {

    private static final Logger log = LoggerFactory.getLogger(ServerConfigParser.class);

    static final Set<String> TOP_KEYS = Set.of("server", "plugins", "health_checks", "telemetry");
    static final Set<String> SERVER_KEYS =
            Set.of(
                    "bind_address",
                    "bind_port",
                    "trust_domain",
                    "data_dir",
                    "log_level",
                    "ca_ttl",
                    "default_x509_svid_ttl",
                    "default_jwt_svid_ttl",
                    "default_svid_ttl",
                    "ca_key_type",
                    "jwt_key_type",
                    "ca_subject",
                    "socket_path",
                    "jwt_issuer",
                    "agent_ttl",
                    // accepted, not implemented:
                    "log_format",
                    "log_file",
                    "log_source_location",
                    "audit_log_enabled",
                    "admin_ids",
                    "federation",
                    "ratelimit",
                    "cache_reload_interval",
                    "experimental",
                    "profiling_enabled",
                    "profiling_port",
                    "profiling_freq",
                    "profiling_names",
                    "prune_events_older_than",
                    "max_attested_node_info_staleness");

    /** SPIRE's {@code experimental} keys that Mithril reads; others are refused naming them. */
    static final Set<String> EXPERIMENTAL_KEYS =
            Set.of("cache_reload_interval", "prune_events_older_than");

    static final Set<String> PLUGIN_TYPES =
            Set.of(
                    "DataStore",
                    "KeyManager",
                    "NodeAttestor",
                    "UpstreamAuthority",
                    "BundlePublisher",
                    "Notifier");
    static final Set<String> PLUGIN_BLOCK_KEYS =
            Set.of("plugin_data", "plugin_cmd", "plugin_checksum", "enabled", "plugin_data_file");

    private ServerConfigParser() {}

    /** Parses a configuration file. */
    public static ServerConfig parseFile(Path file) throws HclException {
        return build(Hcl.parseFile(file), Clock.systemUTC(), file);
    }

    /**
     * Parses a configuration file, first expanding {@code $VAR} and {@code ${VAR}} from the
     * environment when {@code expandEnv} is set (as {@code spire-server run -expandEnv} does; unset
     * variables become empty).
     */
    public static ServerConfig parseFile(Path file, boolean expandEnv) throws HclException {
        return build(
                Hcl.parseFile(file, expandEnv ? System.getenv() : null), Clock.systemUTC(), file);
    }

    /** Parses configuration text; {@code sourceName} names it in errors. */
    public static ServerConfig parse(String text, String sourceName) throws HclException {
        return build(Hcl.parse(text, sourceName), Clock.systemUTC(), null);
    }

    /** Builds from a parsed document, with the given clock (tests inject one). */
    public static ServerConfig build(HclObject doc, Clock clock, Path source) throws HclException {
        doc.requireOnly(TOP_KEYS, "the configuration (top level)");
        HclObject server =
                doc.object("server")
                        .orElseThrow(
                                () ->
                                        new HclException(
                                                doc.position(),
                                                "no server { ... } block: a server configuration needs one"));
        server.requireOnly(SERVER_KEYS, "server block");
        // log_format, log_file, log_source_location: honoured by run (LogSettings), checked here.
        io.mithril.hcl.LogSettings.read(server);

        String tdText =
                server.requiredString(
                        "trust_domain", "server block", "trust_domain = \"example.org\"");
        TrustDomain td;
        try {
            td = TrustDomain.parse(tdText);
        } catch (InvalidSpiffeIdException e) {
            throw new HclException(
                    server.position("trust_domain"), "trust_domain " + e.getMessage());
        }
        String dataDir =
                server.requiredString("data_dir", "server block", "data_dir = \"./data/server\"");
        ServerConfig.Builder b =
                ServerConfig.builder(td, Path.of(dataDir)).clock(clock).source(source);
        b.bindAddress(server.string("bind_address", "0.0.0.0"));
        long port = server.number("bind_port", ServerConfig.DEFAULT_BIND_PORT);
        if (port < 0 || port > 65535) {
            throw new HclException(
                    server.position("bind_port"),
                    "bind_port " + port + " is not a port number (0-65535)");
        }
        b.bindPort((int) port);
        server.string("socket_path").ifPresent(s -> b.socketPath(Path.of(s)));
        String level = server.string("log_level", "INFO").toUpperCase(java.util.Locale.ROOT);
        if (!Set.of("TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR").contains(level)) {
            throw new HclException(
                    server.position("log_level"),
                    "log_level \"" + level + "\" is not one of DEBUG, INFO, WARN, ERROR");
        }
        b.logLevel(level.equals("WARNING") ? "WARN" : level);
        b.caTtl(positive(server, "ca_ttl", Duration.ofHours(24)));
        Duration svidTtl = positive(server, "default_svid_ttl", Duration.ofHours(1));
        b.defaultX509SvidTtl(positive(server, "default_x509_svid_ttl", svidTtl));
        b.defaultJwtSvidTtl(positive(server, "default_jwt_svid_ttl", Duration.ofMinutes(5)));
        if (server.has("agent_ttl")) {
            b.agentTtl(positive(server, "agent_ttl", null));
        }
        b.caKeyType(keyType(server, "ca_key_type", "ec-p256"));
        if (server.has("jwt_key_type")) {
            b.jwtKeyType(keyType(server, "jwt_key_type", "ec-p256"));
        }
        server.string("jwt_issuer").ifPresent(b::jwtIssuer);
        Optional<HclObject> subject = caSubject(server);
        if (subject.isPresent()) {
            HclObject s = subject.get();
            s.requireOnly(Set.of("country", "organization", "common_name"), "ca_subject");
            b.caSubject(
                    new ServerConfig.CaSubject(
                            s.strings("country"),
                            s.strings("organization"),
                            s.string("common_name", "")));
        }

        parsePlugins(doc, b, Path.of(dataDir));
        b.federation(FederationConfig.parse(server, td));

        b.api(apiPolicy(server));
        b.healthChecks(ObservabilityConfig.healthChecks(doc));
        b.telemetry(ObservabilityConfig.telemetry(doc));
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new HclException(server.position(), e.getMessage());
        }
    }

    /** SPIRE's pool keys; each is checked where it is written. */
    private static ServerConfig.DataStoreConfig dataStore(HclObject data, String type, String what)
            throws HclException {
        long maxOpen =
                data.number("max_open_conns", ServerConfig.DataStoreConfig.DEFAULT_MAX_OPEN_CONNS);
        if (maxOpen < 1 || maxOpen > 10_000) {
            throw new HclException(
                    data.position("max_open_conns"),
                    what + ": max_open_conns must be between 1 and 10000");
        }
        long maxIdle =
                data.number("max_idle_conns", ServerConfig.DataStoreConfig.DEFAULT_MAX_IDLE_CONNS);
        if (maxIdle < 0 || maxIdle > 10_000) {
            throw new HclException(
                    data.position("max_idle_conns"),
                    what + ": max_idle_conns must be between 0 and 10000");
        }
        Duration lifetime = data.duration("conn_max_lifetime", Duration.ZERO);
        if (lifetime.isNegative()) {
            throw new HclException(
                    data.position("conn_max_lifetime"),
                    what + ": conn_max_lifetime must not be negative");
        }
        return new ServerConfig.DataStoreConfig(
                type,
                data.string("connection_string").orElse(null),
                (int) maxOpen,
                (int) maxIdle,
                lifetime);
    }

    private static Optional<HclObject> caSubject(HclObject server) throws HclException {
        List<HclObject> list = server.objects("ca_subject");
        if (list.size() > 1) {
            throw new HclException(server.position("ca_subject"), "ca_subject: give one subject");
        }
        return list.stream().findFirst();
    }

    /**
     * {@code ratelimit}, {@code audit_log_enabled}, {@code cache_reload_interval} (top level, as
     * SPIRE before 1.9, or under {@code experimental}), {@code prune_events_older_than}, {@code
     * max_attested_node_info_staleness}, {@code admin_ids} and {@code profiling_*}: honoured, or
     * refused where Mithril cannot do what they ask.
     */
    static ApiPolicy apiPolicy(HclObject server) throws HclException {
        boolean attestation = ApiPolicy.SPIRE_DEFAULTS.rateLimitAttestation();
        boolean signing = ApiPolicy.SPIRE_DEFAULTS.rateLimitSigning();
        Optional<HclObject> ratelimit = server.object("ratelimit");
        if (ratelimit.isPresent()) {
            ratelimit.get().requireOnly(Set.of("attestation", "signing"), "ratelimit block");
            attestation = ratelimit.get().bool("attestation", attestation);
            signing = ratelimit.get().bool("signing", signing);
        }
        Duration reload =
                server.duration("cache_reload_interval", ApiPolicy.DEFAULT_CACHE_RELOAD_INTERVAL);
        Optional<HclObject> experimental = server.object("experimental");
        if (experimental.isPresent()) {
            HclObject x = experimental.get();
            for (String key : x.keys()) {
                if (!EXPERIMENTAL_KEYS.contains(key)) {
                    throw new HclException(
                            x.position(key),
                            "experimental."
                                    + key
                                    + " is not implemented by Mithril (it reads "
                                    + new java.util.TreeSet<>(EXPERIMENTAL_KEYS)
                                    + ")");
                }
            }
            reload = x.duration("cache_reload_interval", reload);
            // Mithril's datastore keeps one change revision, not SPIRE's event tables: nothing
            // accumulates, so there is nothing to prune. The value is still checked.
            x.duration("prune_events_older_than", Duration.ZERO);
        }
        server.duration("prune_events_older_than", Duration.ZERO);
        // Agents are authorised from the index of authorised entries, whose staleness for other
        // servers' writes is cache_reload_interval (writes of this server apply at once).
        server.duration("max_attested_node_info_staleness", Duration.ZERO);
        if (!server.strings("admin_ids").isEmpty()) {
            throw new HclException(
                    server.position("admin_ids"),
                    "admin_ids: Mithril serves the admin API only on its local socket (socket_path),"
                            + " not to SPIFFE IDs over TCP; remove admin_ids");
        }
        if (server.bool("profiling_enabled", false)) {
            throw new HclException(
                    server.position("profiling_enabled"),
                    "profiling_enabled: Mithril has no pprof endpoint; profile with JDK Flight"
                            + " Recorder instead (jcmd <pid> JFR.start), see docs/bench.md");
        }
        server.number("profiling_port", 0);
        server.number("profiling_freq", 0);
        server.strings("profiling_names");
        try {
            return new ApiPolicy(
                    attestation, signing, server.bool("audit_log_enabled", false), reload);
        } catch (IllegalArgumentException e) {
            throw new HclException(server.position(), e.getMessage());
        }
    }

    private static void parsePlugins(HclObject doc, ServerConfig.Builder b, Path dataDir)
            throws HclException {
        HclObject plugins =
                doc.object("plugins")
                        .orElseThrow(
                                () ->
                                        new HclException(
                                                doc.position(),
                                                "no plugins { ... } block: configure at least DataStore \"sql\", "
                                                        + "KeyManager \"disk\" and a NodeAttestor"));
        plugins.requireOnly(PLUGIN_TYPES, "plugins block (supported plugin types)");
        boolean dataStore = false;
        boolean keyManager = false;
        boolean joinToken = false;
        boolean upstream = false;
        K8sPlugins k8s = K8sPlugins.NONE;
        for (HclEntry e : plugins.entries()) {
            String name =
                    e.label()
                            .orElseThrow(
                                    () ->
                                            new HclException(
                                                    e.position(),
                                                    e.key()
                                                            + " needs a plugin name, e.g. "
                                                            + e.key()
                                                            + " \"disk\" { plugin_data { ... } }"));
            if (!(e.value() instanceof HclObject body)) {
                throw new HclException(
                        e.position(),
                        e.key() + " \"" + name + "\" must be a block { plugin_data { ... } }");
            }
            body.requireOnly(PLUGIN_BLOCK_KEYS, e.key() + " \"" + name + "\" block");
            if (body.has("plugin_cmd")) {
                throw new HclException(
                        body.position("plugin_cmd"),
                        e.key()
                                + " \""
                                + name
                                + "\": external plugins (plugin_cmd) are not supported; Mithril's plugins are built in");
            }
            if (!body.bool("enabled", true)) {
                continue;
            }
            HclObject data = pluginData(body, e.key() + " \"" + name + "\"");
            String what = e.key() + " \"" + name + "\" plugin_data";
            switch (e.key()) {
                case "DataStore" -> {
                    once(dataStore, e);
                    dataStore = true;
                    requireName(e, name, "sql");
                    data.requireOnly(
                            Set.of(
                                    "database_type",
                                    "connection_string",
                                    "ro_connection_string",
                                    "max_open_conns",
                                    "max_idle_conns",
                                    "conn_max_lifetime",
                                    "disable_migration",
                                    "log_sql",
                                    "root_ca_path",
                                    "client_cert_path",
                                    "client_key_path",
                                    "options"),
                            what);
                    String type = data.string("database_type", "sqlite3");
                    if (type.equals("sqlite3") || type.equals("postgres")) {
                        if (type.equals("postgres") && data.string("connection_string").isEmpty()) {
                            throw new HclException(
                                    data.position(),
                                    what
                                            + ": database_type \"postgres\" needs a connection_string");
                        }
                        b.dataStore(dataStore(data, type, what));
                    } else {
                        throw new HclException(
                                data.position("database_type"),
                                what
                                        + ": database_type \""
                                        + type
                                        + "\" is not supported; use \"sqlite3\" or \"postgres\"");
                    }
                }
                case "KeyManager" -> {
                    once(keyManager, e);
                    keyManager = true;
                    if (name.equals("disk")) {
                        data.requireOnly(Set.of("keys_path"), what);
                        b.keyManager(
                                new ServerConfig.KeyManagerConfig(
                                        "disk",
                                        data.string("keys_path")
                                                .map(Path::of)
                                                .orElse(dataDir.resolve("keys.json"))));
                    } else if (name.equals("memory")) {
                        data.requireOnly(Set.of(), what);
                        b.keyManager(ServerConfig.KeyManagerConfig.memory());
                    } else {
                        throw unsupported(e, name, "disk, memory");
                    }
                }
                case "NodeAttestor" -> {
                    if (name.equals("join_token")) {
                        data.requireOnly(Set.of(), what);
                        joinToken = true;
                    } else if (name.equals("x509pop")) {
                        data.requireOnly(
                                Set.of(
                                        "ca_bundle_path",
                                        "ca_bundle_paths",
                                        "agent_path_template",
                                        "mode",
                                        "svid_prefix"),
                                what);
                        String mode = data.string("mode", "external_pki");
                        if (!mode.equals("external_pki")) {
                            throw new HclException(
                                    data.position("mode"),
                                    what
                                            + ": mode \""
                                            + mode
                                            + "\" is not supported; use \"external_pki\"");
                        }
                        if (data.has("agent_path_template")) {
                            log.warn(
                                    "{}: agent_path_template is ignored; agent IDs are spiffe://<td>/spire/agent/x509pop/<sha1 of leaf>",
                                    data.position("agent_path_template"));
                        }
                        List<Path> paths = new ArrayList<>();
                        data.string("ca_bundle_path").ifPresent(p -> paths.add(Path.of(p)));
                        for (String p : data.strings("ca_bundle_paths")) {
                            paths.add(Path.of(p));
                        }
                        if (paths.isEmpty()) {
                            throw new HclException(
                                    data.position(),
                                    what
                                            + ": ca_bundle_path is required (the CA that signs agent certificates)");
                        }
                        b.x509pop(new ServerConfig.X509PopConfig(paths));
                    } else if (name.equals("k8s_psat")) {
                        k8s = k8s.withPsatClusters(K8sPluginsParser.psat(data, what));
                    } else {
                        throw unsupported(e, name, "join_token, x509pop, k8s_psat");
                    }
                }
                case "UpstreamAuthority" -> {
                    once(upstream, e);
                    upstream = true;
                    if (name.equals("spire")) {
                        b.spireUpstream(SpireUpstreamParser.parse(data, what));
                        continue;
                    }
                    if (!name.equals("disk")) {
                        throw unsupported(e, name, "disk, spire");
                    }
                    data.requireOnly(
                            Set.of("cert_file_path", "key_file_path", "bundle_file_path"), what);
                    String cert =
                            data.string("cert_file_path")
                                    .orElseThrow(
                                            () ->
                                                    new HclException(
                                                            data.position(),
                                                            what + ": cert_file_path is required"));
                    String key =
                            data.string("key_file_path")
                                    .orElseThrow(
                                            () ->
                                                    new HclException(
                                                            data.position(),
                                                            what + ": key_file_path is required"));
                    b.upstream(
                            new ServerConfig.DiskUpstreamConfig(
                                    Path.of(cert),
                                    Path.of(key),
                                    data.string("bundle_file_path")
                                            .filter(s -> !s.isEmpty())
                                            .map(Path::of)
                                            .orElse(null)));
                }
                case "BundlePublisher" -> {
                    requireName(e, name, "k8s_configmap");
                    k8s =
                            k8s.withBundleConfigMaps(
                                    concat(
                                            k8s.bundleConfigMaps(),
                                            K8sPluginsParser.configMapPublisher(data, what)));
                }
                case "Notifier" -> {
                    requireName(e, name, "k8sbundle");
                    k8s =
                            k8s.withBundleConfigMaps(
                                    concat(
                                            k8s.bundleConfigMaps(),
                                            K8sPluginsParser.k8sbundleNotifier(data, what)));
                }
                default -> throw new HclException(e.position(), "unknown plugin type " + e.key());
            }
        }
        b.kubernetes(k8s);
        if (!dataStore) {
            throw new HclException(
                    plugins.position(), "plugins block: DataStore \"sql\" is required");
        }
        if (!keyManager) {
            throw new HclException(
                    plugins.position(),
                    "plugins block: a KeyManager (\"disk\" or \"memory\") is required");
        }
        b.joinToken(joinToken);
        if (!joinToken && plugins.all("NodeAttestor").isEmpty()) {
            throw new HclException(
                    plugins.position(),
                    "plugins block: at least one NodeAttestor (\"join_token\", \"x509pop\" or \"k8s_psat\") is required");
        }
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    private static HclObject pluginData(HclObject body, String what) throws HclException {
        return PluginData.of(body, what);
    }

    private static void once(boolean seen, HclEntry e) throws HclException {
        if (seen) {
            throw new HclException(
                    e.position(), "only one " + e.key() + " plugin may be configured");
        }
    }

    private static void requireName(HclEntry e, String name, String supported) throws HclException {
        if (!name.equals(supported)) {
            throw unsupported(e, name, supported);
        }
    }

    private static HclException unsupported(HclEntry e, String name, String supported) {
        return new HclException(
                e.position(),
                e.key() + " \"" + name + "\" is not supported (supported: " + supported + ")");
    }

    private static Duration positive(HclObject o, String key, Duration dflt) throws HclException {
        Duration d = o.duration(key, dflt);
        if (d != null && (d.isZero() || d.isNegative())) {
            throw new HclException(
                    o.position(key),
                    key + " must be a positive duration (found " + o.string(key).orElse("") + ")");
        }
        return d;
    }

    private static String keyType(HclObject o, String key, String dflt) throws HclException {
        String v = o.string(key, dflt);
        if (!ServerConfig.KEY_TYPES.contains(v)) {
            throw new HclException(
                    o.position(key),
                    key + " \"" + v + "\" is not supported; use one of " + ServerConfig.KEY_TYPES);
        }
        return v;
    }
}
