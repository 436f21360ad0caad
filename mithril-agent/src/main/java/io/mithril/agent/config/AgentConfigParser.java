package io.mithril.agent.config;

import io.mithril.api.observability.ObservabilityConfig;
import io.mithril.hcl.Hcl;
import io.mithril.hcl.HclEntry;
import io.mithril.hcl.HclException;
import io.mithril.hcl.HclObject;
import io.mithril.hcl.PluginData;
import io.mithril.spiffe.id.InvalidSpiffeIdException;
import io.mithril.spiffe.id.TrustDomain;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads SPIRE's {@code agent.conf} (HCL): {@code agent { data_dir, log_level, server_address,
 * server_port, socket_path, trust_bundle_path, trust_domain, insecure_bootstrap, join_token }} and
 * {@code plugins { NodeAttestor "join_token"|"x509pop", KeyManager "disk"|"memory",
 * WorkloadAttestor "unix" }}, {@code health_checks { .. }} and {@code telemetry { Prometheus { .. }
 * }} as in the server's configuration. Both {@code plugin_data { .. }} and {@code plugin_data = {
 * .. }} work; numbers may be quoted. Unknown keys and plugins fail with {@code file:line:col}.
 */
public final class AgentConfigParser {

    private static final Logger log = LoggerFactory.getLogger(AgentConfigParser.class);

    static final Set<String> TOP_KEYS = Set.of("agent", "plugins", "health_checks", "telemetry");
    static final Set<String> AGENT_KEYS =
            Set.of(
                    "data_dir",
                    "log_level",
                    "server_address",
                    "server_port",
                    "socket_path",
                    "trust_bundle_path",
                    "trust_domain",
                    "insecure_bootstrap",
                    "join_token",
                    // accepted for SPIRE compatibility, not implemented:
                    "log_format",
                    "log_file",
                    "admin_socket_path",
                    "trust_bundle_url",
                    "trust_bundle_format",
                    "sds",
                    "experimental",
                    "allowed_foreign_jwt_claims",
                    "authorized_delegates",
                    "retry_bootstrap",
                    "workload_x509_svid_key_type",
                    "availability_target",
                    "profiling_enabled",
                    "profiling_port",
                    "profiling_freq",
                    "profiling_names",
                    "allow_unauthenticated_verifiers",
                    "x509_svid_cache_max_size",
                    "jwt_svid_cache_max_size",
                    "log_source_location",
                    "trust_bundle_unix_socket",
                    // honoured (see rebootstrap below):
                    "rebootstrap_mode",
                    "rebootstrap_delay");

    /** SPIRE's {@code experimental} keys the agent reads; others are refused naming them. */
    static final Set<String> EXPERIMENTAL_KEYS =
            Set.of(
                    "sync_interval",
                    "use_sync_authorized_entries",
                    "named_pipe_name",
                    "admin_named_pipe_name");

    private AgentConfigParser() {}

    /** Parses a configuration file. */
    public static AgentConfig parseFile(Path file) throws HclException {
        return build(Hcl.parseFile(file));
    }

    /**
     * Parses a configuration file after expanding {@code $VAR} and {@code ${VAR}} from {@code env}
     * ({@code -expandEnv}); a null {@code env} expands nothing.
     */
    public static AgentConfig parseFile(Path file, java.util.Map<String, String> env)
            throws HclException {
        return build(Hcl.parseFile(file, env));
    }

    /** Parses configuration text; {@code sourceName} names it in errors. */
    public static AgentConfig parse(String text, String sourceName) throws HclException {
        return build(Hcl.parse(text, sourceName));
    }

    /**
     * Builds from a parsed document (with command-line overrides applied, see {@code
     * HclOverrides}).
     */
    public static AgentConfig build(HclObject doc) throws HclException {
        doc.requireOnly(TOP_KEYS, "the configuration (top level)");
        HclObject agent =
                doc.object("agent")
                        .orElseThrow(
                                () ->
                                        new HclException(
                                                doc.position(),
                                                "no agent { ... } block: an agent configuration needs one"));
        agent.requireOnly(AGENT_KEYS, "agent block");
        spireOnlyKeys(agent);
        // log_format, log_file, log_source_location: honoured by run (LogSettings), checked here.
        io.mithril.hcl.LogSettings.read(agent);
        String tdText =
                agent.requiredString(
                        "trust_domain", "agent block", "trust_domain = \"example.org\"");
        TrustDomain td;
        try {
            td = TrustDomain.parse(tdText);
        } catch (InvalidSpiffeIdException e) {
            throw new HclException(
                    agent.position("trust_domain"), "trust_domain " + e.getMessage());
        }
        Path dataDir =
                Path.of(
                        agent.requiredString(
                                "data_dir", "agent block", "data_dir = \"./data/agent\""));
        String serverAddress =
                agent.requiredString(
                        "server_address", "agent block", "server_address = \"127.0.0.1\"");
        long port = agent.number("server_port", 8081);
        if (port < 1 || port > 65535) {
            throw new HclException(
                    agent.position("server_port"),
                    "server_port " + port + " is not a port number (1-65535)");
        }
        String level = agent.string("log_level", "INFO").toUpperCase(Locale.ROOT);
        if (!Set.of("TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR").contains(level)) {
            throw new HclException(
                    agent.position("log_level"),
                    "log_level \"" + level + "\" is not one of DEBUG, INFO, WARN, ERROR");
        }
        Path socket =
                agent.string("socket_path").map(Path::of).orElse(AgentConfig.DEFAULT_SOCKET_PATH);
        Path bundle =
                agent.string("trust_bundle_path")
                        .filter(s -> !s.isEmpty())
                        .map(Path::of)
                        .orElse(null);
        boolean insecure = agent.bool("insecure_bootstrap", false);
        if (bundle != null && insecure) {
            throw new HclException(
                    agent.position("insecure_bootstrap"),
                    "trust_bundle_path and insecure_bootstrap are mutually exclusive: set only one");
        }
        String joinToken = agent.string("join_token").filter(s -> !s.isEmpty()).orElse(null);
        rebootstrap(agent);

        AgentConfig.NodeAttestorConfig nodeAttestor = null;
        String keyManager = null;
        Path keyDir = dataDir;
        AgentConfig.UnixAttestorConfig unix = null;
        K8sWorkloadAttestorConfig k8s = null;
        HclObject plugins =
                doc.object("plugins")
                        .orElseThrow(
                                () ->
                                        new HclException(
                                                doc.position(),
                                                "no plugins { ... } block: configure at least NodeAttestor and KeyManager"));
        plugins.requireOnly(
                Set.of("NodeAttestor", "KeyManager", "WorkloadAttestor", "SVIDStore"),
                "plugins block");
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
            body.requireOnly(
                    Set.of(
                            "plugin_data",
                            "plugin_cmd",
                            "plugin_checksum",
                            "enabled",
                            "plugin_data_file"),
                    e.key() + " \"" + name + "\"");
            if (!body.bool("enabled", true)) {
                continue;
            }
            HclObject data = pluginData(body, e.key() + " \"" + name + "\"");
            String what = e.key() + " \"" + name + "\" plugin_data";
            switch (e.key()) {
                case "NodeAttestor" -> {
                    if (nodeAttestor != null) {
                        throw new HclException(
                                e.position(), "only one NodeAttestor plugin may be configured");
                    }
                    switch (name) {
                        case "join_token" -> {
                            data.requireOnly(Set.of(), what);
                            nodeAttestor = AgentConfig.NodeAttestorConfig.joinToken();
                        }
                        case "x509pop" -> {
                            data.requireOnly(
                                    Set.of(
                                            "private_key_path",
                                            "certificate_path",
                                            "intermediates_path"),
                                    what);
                            Path key =
                                    Path.of(
                                            data.string("private_key_path")
                                                    .orElseThrow(
                                                            () ->
                                                                    new HclException(
                                                                            data.position(),
                                                                            what
                                                                                    + ": private_key_path is required")));
                            Path cert =
                                    Path.of(
                                            data.string("certificate_path")
                                                    .orElseThrow(
                                                            () ->
                                                                    new HclException(
                                                                            data.position(),
                                                                            what
                                                                                    + ": certificate_path is required")));
                            Path inter =
                                    data.string("intermediates_path").map(Path::of).orElse(null);
                            nodeAttestor =
                                    new AgentConfig.NodeAttestorConfig("x509pop", cert, key, inter);
                        }
                        case "k8s_psat" -> {
                            data.requireOnly(Set.of("cluster", "token_path"), what);
                            String cluster =
                                    data.string("cluster")
                                            .filter(c -> !c.isEmpty())
                                            .orElseThrow(
                                                    () ->
                                                            new HclException(
                                                                    data.position(),
                                                                    what
                                                                            + ": cluster is required (e.g. cluster = \"demo-cluster\")"));
                            nodeAttestor =
                                    AgentConfig.NodeAttestorConfig.k8sPsat(
                                            cluster,
                                            Path.of(
                                                    data.string("token_path")
                                                            .filter(t -> !t.isEmpty())
                                                            .orElse(
                                                                    io.mithril.agent.attestor.node
                                                                            .K8sPsatAttestor
                                                                            .DEFAULT_TOKEN_PATH)));
                        }
                        default ->
                                throw new HclException(
                                        e.position(),
                                        "NodeAttestor \""
                                                + name
                                                + "\" is not supported; use \"join_token\", \"x509pop\" or \"k8s_psat\"");
                    }
                }
                case "KeyManager" -> {
                    if (keyManager != null) {
                        throw new HclException(
                                e.position(), "only one KeyManager plugin may be configured");
                    }
                    switch (name) {
                        case "disk" -> {
                            data.requireOnly(Set.of("directory"), what);
                            keyDir = data.string("directory").map(Path::of).orElse(dataDir);
                        }
                        case "memory" -> data.requireOnly(Set.of(), what);
                        default ->
                                throw new HclException(
                                        e.position(),
                                        "KeyManager \""
                                                + name
                                                + "\" is not supported; use \"disk\" or \"memory\"");
                    }
                    keyManager = name;
                }
                case "WorkloadAttestor" -> {
                    if (name.equals("k8s")) {
                        k8s = K8sWorkloadAttestorParser.parse(data, what, System::getenv);
                        continue;
                    }
                    if (!name.equals("unix")) {
                        throw new HclException(
                                e.position(),
                                "WorkloadAttestor \""
                                        + name
                                        + "\" is not supported; use \"unix\" or \"k8s\"");
                    }
                    data.requireOnly(Set.of("discover_workload_path", "workload_size_limit"), what);
                    unix =
                            new AgentConfig.UnixAttestorConfig(
                                    data.bool("discover_workload_path", false),
                                    data.number("workload_size_limit", 0));
                }
                default ->
                        throw new HclException(
                                e.position(),
                                e.key()
                                        + " \""
                                        + name
                                        + "\" is not supported by Mithril's agent"
                                        + " (no SVID store plugins); remove the block");
            }
        }
        if (nodeAttestor == null) {
            throw new HclException(
                    plugins.position(),
                    "plugins block: a NodeAttestor is required (e.g. NodeAttestor \"join_token\" { plugin_data {} })");
        }
        if (keyManager == null) {
            throw new HclException(
                    plugins.position(),
                    "plugins block: a KeyManager is required (e.g. KeyManager \"disk\" { plugin_data { directory = \"...\" } })");
        }
        if (unix == null) {
            unix = new AgentConfig.UnixAttestorConfig(false, 0);
        }
        return new AgentConfig(
                td,
                dataDir,
                level.equals("WARNING") ? "WARN" : level,
                serverAddress,
                (int) port,
                socket,
                bundle,
                insecure,
                joinToken,
                nodeAttestor,
                keyManager,
                keyDir,
                unix,
                syncInterval(agent),
                ObservabilityConfig.telemetry(doc),
                ObservabilityConfig.healthChecks(doc),
                sds(agent),
                k8s);
    }

    /**
     * SPIRE's {@code rebootstrap_mode} ({@code never}, the default, {@code auto}, {@code always})
     * and {@code rebootstrap_delay}. Mithril's agent never rebootstraps: when the server's
     * certificate no longer chains to its bundle it keeps failing closed until an operator
     * re-attests it, which is {@code never}; {@code auto} and {@code always} are refused.
     */
    private static void rebootstrap(HclObject agent) throws HclException {
        String mode = agent.string("rebootstrap_mode", "never");
        if (!Set.of("never", "auto", "always").contains(mode)) {
            throw new HclException(
                    agent.position("rebootstrap_mode"),
                    "rebootstrap_mode \"" + mode + "\" is not one of never, auto, always");
        }
        if (!mode.equals("never")) {
            throw new HclException(
                    agent.position("rebootstrap_mode"),
                    "rebootstrap_mode \""
                            + mode
                            + "\" is not supported: Mithril's agent never rebootstraps (use \"never\", the default)");
        }
        if (agent.duration("rebootstrap_delay", java.time.Duration.ofMinutes(10)).isNegative()) {
            throw new HclException(
                    agent.position("rebootstrap_delay"), "rebootstrap_delay must not be negative");
        }
    }

    /**
     * SPIRE's agent keys for features Mithril's agent does not have: each is accepted at the value
     * that asks for nothing (what the agent does) and refused otherwise, saying why and what to do
     * instead (docs/agent.md lists them).
     */
    static void spireOnlyKeys(HclObject agent) throws HclException {
        String bootstrapUrl =
                "fetching the bootstrap bundle over HTTP is not implemented; download it and set"
                        + " trust_bundle_path";
        refuseNonEmpty(agent, "trust_bundle_url", bootstrapUrl);
        refuseNonEmpty(agent, "trust_bundle_unix_socket", bootstrapUrl);
        String format = agent.string("trust_bundle_format", "pem");
        if (!format.equals("pem") && !format.equals("spiffe")) {
            throw new HclException(
                    agent.position("trust_bundle_format"),
                    "trust_bundle_format \"" + format + "\" is not \"pem\" or \"spiffe\"");
        }
        refuseNonEmpty(
                agent,
                "admin_socket_path",
                "the agent's admin API (SPIRE's Debug and Delegated Identity APIs) is not"
                        + " implemented; `agent healthcheck` and the health_checks listener report"
                        + " its state");
        if (!agent.strings("authorized_delegates").isEmpty()) {
            throw new HclException(
                    agent.position("authorized_delegates"),
                    "authorized_delegates: the Delegated Identity API is not implemented");
        }
        if (!agent.strings("allowed_foreign_jwt_claims").isEmpty()) {
            throw new HclException(
                    agent.position("allowed_foreign_jwt_claims"),
                    "allowed_foreign_jwt_claims: JWT-SVIDs with claims beyond SPIFFE's are not"
                            + " minted or accepted");
        }
        if (agent.bool("retry_bootstrap", false)) {
            throw new HclException(
                    agent.position("retry_bootstrap"),
                    "retry_bootstrap = true: the agent does not retry its first attestation; it"
                            + " exits and its supervisor (systemd Restart=, a DaemonSet) starts it"
                            + " again");
        }
        String keyType = agent.string("workload_x509_svid_key_type", "ec-p256");
        if (!keyType.equals("ec-p256")) {
            throw new HclException(
                    agent.position("workload_x509_svid_key_type"),
                    "workload_x509_svid_key_type \""
                            + keyType
                            + "\": workload keys are ec-p256 (SPIRE's default); other types are"
                            + " not implemented");
        }
        for (String key :
                List.of(
                        "availability_target",
                        "x509_svid_cache_max_size",
                        "jwt_svid_cache_max_size")) {
            if (agent.has(key)) {
                throw new HclException(
                        agent.position(key),
                        key
                                + ": not implemented; the agent keeps an SVID for every entry it is"
                                + " authorised for and renews each at half its lifetime");
            }
        }
        if (agent.bool("allow_unauthenticated_verifiers", false)) {
            throw new HclException(
                    agent.position("allow_unauthenticated_verifiers"),
                    "allow_unauthenticated_verifiers = true: the Workload API answers only"
                            + " attested callers");
        }
        if (agent.bool("profiling_enabled", false)) {
            throw new HclException(
                    agent.position("profiling_enabled"),
                    "profiling_enabled: Mithril has no pprof endpoint; profile with JDK Flight"
                            + " Recorder instead (jcmd <pid> JFR.start)");
        }
        agent.number("profiling_port", 0);
        agent.number("profiling_freq", 0);
        agent.strings("profiling_names");
        Optional<HclObject> experimental = agent.object("experimental");
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
            // Windows named pipes: SPIRE reads them only on Windows; on Linux they change
            // nothing there either. Checked as strings.
            x.string("named_pipe_name", "");
            x.string("admin_named_pipe_name", "");
            // The agent syncs with GetAuthorizedEntries, which sends the agent's entries whole;
            // either value of SPIRE's switch between its two sync RPCs gives the same entries.
            x.bool("use_sync_authorized_entries", true);
        }
    }

    private static void refuseNonEmpty(HclObject block, String key, String why)
            throws HclException {
        if (!block.string(key, "").isEmpty()) {
            throw new HclException(block.position(key), key + ": " + why);
        }
    }

    /**
     * SPIRE's {@code agent { experimental { sync_interval = "5s" } }} (its other experimental keys
     * are checked by {@link #spireOnlyKeys}).
     */
    private static java.time.Duration syncInterval(HclObject agent) throws HclException {
        Optional<HclObject> experimental = agent.object("experimental");
        if (experimental.isEmpty()) {
            return AgentConfig.DEFAULT_SYNC_INTERVAL;
        }
        java.time.Duration d =
                experimental.get().duration("sync_interval", AgentConfig.DEFAULT_SYNC_INTERVAL);
        if (d.isNegative() || d.isZero()) {
            throw new HclException(
                    experimental.get().position("sync_interval"),
                    "sync_interval must be positive, e.g. \"5s\"");
        }
        return d;
    }

    private static AgentConfig.SdsConfig sds(HclObject agent) throws HclException {
        Optional<HclObject> block = agent.object("sds");
        if (block.isEmpty()) {
            return AgentConfig.SdsConfig.DEFAULTS;
        }
        HclObject b = block.get();
        b.requireOnly(
                Set.of(
                        "default_svid_name",
                        "default_bundle_name",
                        "default_all_bundles_name",
                        "disable_spiffe_cert_validation"),
                "agent.sds block");
        AgentConfig.SdsConfig d = AgentConfig.SdsConfig.DEFAULTS;
        return new AgentConfig.SdsConfig(
                b.string("default_svid_name", d.defaultSvidName()),
                b.string("default_bundle_name", d.defaultBundleName()),
                b.string("default_all_bundles_name", d.defaultAllBundlesName()),
                b.bool("disable_spiffe_cert_validation", d.disableSpiffeCertValidation()));
    }

    private static HclObject pluginData(HclObject body, String what) throws HclException {
        return PluginData.of(body, what);
    }
}
