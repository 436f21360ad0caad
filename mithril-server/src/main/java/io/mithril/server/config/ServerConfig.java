package io.mithril.server.config;

import io.mithril.api.observability.HealthChecksConfig;
import io.mithril.api.observability.TelemetryConfig;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Everything the identity server needs to start, as SPIRE's {@code server.conf} says it.
 *
 * <p>Build one in code with {@link #builder(TrustDomain, Path)} (tests, embedding) or read a SPIRE
 * HCL file with {@link ServerConfigParser#parseFile(Path)}. Defaults follow SPIRE: port 8081, CA
 * TTL 24h, X509-SVID TTL 1h, JWT-SVID TTL 5m, EC P-256 keys, SQLite datastore under {@code
 * data_dir}, disk key manager under {@code data_dir}.
 *
 * @param trustDomain the trust domain the server is authoritative for
 * @param bindAddress address of the agent API (TCP, mTLS)
 * @param bindPort port of the agent API; 0 picks an ephemeral port
 * @param socketPath the admin API's Unix socket; its directory is created with mode 0700
 * @param dataDir where the server keeps its state (SQLite file, keys, instance id)
 * @param logLevel SPIRE's log_level (DEBUG, INFO, WARN, ERROR)
 * @param caTtl lifetime of each server CA
 * @param defaultX509SvidTtl X509-SVID lifetime when the entry says 0
 * @param defaultJwtSvidTtl JWT-SVID lifetime when the entry says 0
 * @param agentTtl lifetime of agent SVIDs
 * @param caKeyType key type of the server CA, SPIRE spelling ({@code ec-p256}, {@code rsa-2048}
 *     ...)
 * @param jwtKeyType key type of the JWT signing keys
 * @param caSubject subject of the server CA certificate
 * @param jwtIssuer the {@code iss} claim of JWT-SVIDs, or null for none
 * @param dataStore the datastore plugin settings
 * @param keyManager the key manager plugin settings
 * @param joinToken whether the {@code join_token} node attestor is configured
 * @param x509pop the {@code x509pop} node attestor settings, or null when not configured
 * @param upstream the {@code disk} UpstreamAuthority settings, or null for a self-signed CA
 * @param telemetry the Prometheus listener, or null for none
 * @param healthChecks the HTTP health listener ({@code health_checks}), or null for none
 * @param rotationCheckInterval how often the CA manager checks for prepare/activate
 * @param clock the clock every expiry decision is made with (tests inject their own)
 * @param source the file this configuration was read from, or null when built in code
 * @param federation the bundle endpoint and federation relationships ({@code federation { .. }})
 * @param kubernetes the Kubernetes plugins ({@code k8s_psat}, {@code k8s_configmap}/{@code
 *     k8sbundle})
 * @param api rate limits, audit log and index refresh ({@code ratelimit}, {@code
 *     audit_log_enabled}, {@code cache_reload_interval}); null means {@link ApiPolicy#UNLIMITED}
 * @param spireUpstream the {@code spire} UpstreamAuthority settings (nested servers), or null
 */
public record ServerConfig(
        TrustDomain trustDomain,
        String bindAddress,
        int bindPort,
        Path socketPath,
        Path dataDir,
        String logLevel,
        Duration caTtl,
        Duration defaultX509SvidTtl,
        Duration defaultJwtSvidTtl,
        Duration agentTtl,
        String caKeyType,
        String jwtKeyType,
        CaSubject caSubject,
        String jwtIssuer,
        DataStoreConfig dataStore,
        KeyManagerConfig keyManager,
        boolean joinToken,
        X509PopConfig x509pop,
        DiskUpstreamConfig upstream,
        TelemetryConfig telemetry,
        HealthChecksConfig healthChecks,
        Duration rotationCheckInterval,
        Clock clock,
        Path source,
        FederationConfig federation,
        K8sPlugins kubernetes,
        ApiPolicy api,
        SpireUpstreamConfig spireUpstream) {

    /** SPIRE's default agent API port. */
    public static final int DEFAULT_BIND_PORT = 8081;

    /** The admin socket when {@code socket_path} is not set. */
    public static final Path DEFAULT_SOCKET_PATH = Path.of("/tmp/mithril/server/private/api.sock");

    /** Key types accepted by {@code ca_key_type} and {@code jwt_key_type}, SPIRE spelling. */
    public static final List<String> KEY_TYPES =
            List.of("ec-p256", "ec-p384", "rsa-2048", "rsa-4096");

    public ServerConfig {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(clock, "clock");
        federation = federation == null ? FederationConfig.NONE : federation;
        if (bindPort < 0 || bindPort > 65535) {
            throw new IllegalArgumentException(
                    "bind_port " + bindPort + " is not a port number (0-65535)");
        }
        for (String kt : new String[] {caKeyType, jwtKeyType}) {
            if (!KEY_TYPES.contains(kt)) {
                throw new IllegalArgumentException(
                        "key type \"" + kt + "\" is not one of " + KEY_TYPES);
            }
        }
        requirePositive("ca_ttl", caTtl);
        requirePositive("default_x509_svid_ttl", defaultX509SvidTtl);
        requirePositive("default_jwt_svid_ttl", defaultJwtSvidTtl);
        requirePositive("agent_ttl", agentTtl);
        requirePositive("rotation check interval", rotationCheckInterval);
        kubernetes = kubernetes == null ? K8sPlugins.NONE : kubernetes;
        api = api == null ? ApiPolicy.UNLIMITED : api;
        if (!joinToken && x509pop == null && kubernetes.psatClusters() == null) {
            throw new IllegalArgumentException(
                    "no NodeAttestor configured: configure NodeAttestor \"join_token\", \"x509pop\" or \"k8s_psat\"");
        }
    }

    private static void requirePositive(String what, Duration d) {
        if (d == null || d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException(
                    what + " must be a positive duration (found " + d + ")");
        }
    }

    /**
     * The server's own SPIFFE ID, {@code spiffe://<td>/spire/server}, presented on the agent API.
     */
    public SpiffeId serverId() {
        return trustDomain.spiffeId("/spire/server");
    }

    /** A builder with SPIRE's defaults, for the given trust domain and data directory. */
    public static Builder builder(TrustDomain trustDomain, Path dataDir) {
        return new Builder(trustDomain, dataDir);
    }

    /** A builder preloaded with this configuration. */
    public Builder toBuilder() {
        Builder b = new Builder(trustDomain, dataDir);
        b.bindAddress = bindAddress;
        b.bindPort = bindPort;
        b.socketPath = socketPath;
        b.logLevel = logLevel;
        b.caTtl = caTtl;
        b.defaultX509SvidTtl = defaultX509SvidTtl;
        b.defaultJwtSvidTtl = defaultJwtSvidTtl;
        b.agentTtl = agentTtl;
        b.caKeyType = caKeyType;
        b.jwtKeyType = jwtKeyType;
        b.caSubject = caSubject;
        b.jwtIssuer = jwtIssuer;
        b.dataStore = dataStore;
        b.keyManager = keyManager;
        b.joinToken = joinToken;
        b.x509pop = x509pop;
        b.upstream = upstream;
        b.telemetry = telemetry;
        b.healthChecks = healthChecks;
        b.rotationCheckInterval = rotationCheckInterval;
        b.clock = clock;
        b.source = source;
        b.federation = federation;
        b.kubernetes = kubernetes;
        b.api = api;
        b.spireUpstream = spireUpstream;
        return b;
    }

    /** Subject of the server CA ({@code ca_subject}); SPIRE's default is C=US, O=SPIFFE. */
    public record CaSubject(List<String> country, List<String> organization, String commonName) {
        public static final CaSubject DEFAULT = new CaSubject(List.of("US"), List.of("SPIFFE"), "");

        public CaSubject {
            country = List.copyOf(country);
            organization = List.copyOf(organization);
            commonName = commonName == null ? "" : commonName;
        }

        /** The subject as an RFC 4514 distinguished name, e.g. {@code O=SPIFFE,C=US}. */
        public String toDistinguishedName() {
            StringBuilder sb = new StringBuilder();
            if (!commonName.isEmpty()) {
                sb.append("CN=").append(escape(commonName));
            }
            for (String o : organization) {
                sb.append(sb.length() == 0 ? "" : ",").append("O=").append(escape(o));
            }
            for (String c : country) {
                sb.append(sb.length() == 0 ? "" : ",").append("C=").append(escape(c));
            }
            return sb.length() == 0 ? "O=SPIFFE" : sb.toString();
        }

        private static String escape(String v) {
            return v.replaceAll("([,+\"\\\\<>;=])", "\\\\$1");
        }
    }

    /**
     * {@code DataStore "sql"}: {@code database_type} is {@code sqlite3} or {@code postgres}; {@code
     * connection_string} is a file path (SQLite; null means {@code <data_dir>/datastore.sqlite3})
     * or a PostgreSQL DSN ({@code dbname=.. host=.. user=..}) or URL ({@code postgres://..}). The
     * pool settings are SPIRE's {@code max_open_conns}, {@code max_idle_conns} and {@code
     * conn_max_lifetime} (zero: connections are kept as long as they work); they size the
     * PostgreSQL pool (SQLite has one connection, its single writer).
     */
    public record DataStoreConfig(
            String databaseType,
            String connectionString,
            int maxOpenConns,
            int maxIdleConns,
            Duration connMaxLifetime) {
        public static final int DEFAULT_MAX_OPEN_CONNS = 10;
        public static final int DEFAULT_MAX_IDLE_CONNS = 2;
        public static final DataStoreConfig SQLITE_DEFAULT = new DataStoreConfig("sqlite3", null);

        /** With the default pool settings. */
        public DataStoreConfig(String databaseType, String connectionString) {
            this(
                    databaseType,
                    connectionString,
                    DEFAULT_MAX_OPEN_CONNS,
                    DEFAULT_MAX_IDLE_CONNS,
                    Duration.ZERO);
        }

        public DataStoreConfig {
            if (maxOpenConns < 1) {
                throw new IllegalArgumentException(
                        "max_open_conns must be at least 1 (got " + maxOpenConns + ")");
            }
            if (maxIdleConns < 0) {
                throw new IllegalArgumentException(
                        "max_idle_conns must not be negative (got " + maxIdleConns + ")");
            }
            if (connMaxLifetime.isNegative()) {
                throw new IllegalArgumentException(
                        "conn_max_lifetime must not be negative (got " + connMaxLifetime + ")");
            }
            if (!databaseType.equals("sqlite3") && !databaseType.equals("postgres")) {
                throw new IllegalArgumentException(
                        "database_type \""
                                + databaseType
                                + "\" is not supported: use \"sqlite3\" or \"postgres\"");
            }
            if (databaseType.equals("postgres")
                    && (connectionString == null || connectionString.isBlank())) {
                throw new IllegalArgumentException(
                        "database_type \"postgres\" needs a connection_string");
            }
        }
    }

    /**
     * {@code KeyManager "disk"} (keys persisted at {@code keys_path}, 0600) or {@code "memory"}.
     */
    public record KeyManagerConfig(String type, Path keysPath) {
        public KeyManagerConfig {
            if (!type.equals("disk") && !type.equals("memory")) {
                throw new IllegalArgumentException(
                        "KeyManager \"" + type + "\" is not supported: use \"disk\" or \"memory\"");
            }
        }

        /** The disk key manager with its file under the data directory. */
        public static KeyManagerConfig diskUnder(Path dataDir) {
            return new KeyManagerConfig("disk", dataDir.resolve("keys.json"));
        }

        public static KeyManagerConfig memory() {
            return new KeyManagerConfig("memory", null);
        }
    }

    /** {@code NodeAttestor "x509pop"}: the CA bundle(s) agent certificates must chain to. */
    public record X509PopConfig(List<Path> caBundlePaths) {
        public X509PopConfig {
            caBundlePaths = List.copyOf(caBundlePaths);
            if (caBundlePaths.isEmpty()) {
                throw new IllegalArgumentException("NodeAttestor \"x509pop\" needs ca_bundle_path");
            }
        }
    }

    /** {@code UpstreamAuthority "disk"}: the upstream CA's certificate, key and optional bundle. */
    public record DiskUpstreamConfig(Path certFilePath, Path keyFilePath, Path bundleFilePath) {
        public DiskUpstreamConfig {
            Objects.requireNonNull(certFilePath, "cert_file_path");
            Objects.requireNonNull(keyFilePath, "key_file_path");
        }
    }

    /**
     * {@code UpstreamAuthority "spire"} (nested servers): the upstream server's agent API address
     * and the Workload API socket of the upstream's agent on this machine.
     */
    public record SpireUpstreamConfig(
            String serverAddress, int serverPort, Path workloadApiSocket) {
        public SpireUpstreamConfig {
            Objects.requireNonNull(serverAddress, "server_address");
            Objects.requireNonNull(workloadApiSocket, "workload_api_socket");
            if (serverAddress.isBlank()) {
                throw new IllegalArgumentException("server_address is required");
            }
            if (serverPort < 1 || serverPort > 65535) {
                throw new IllegalArgumentException(
                        "server_port " + serverPort + " is not a port number (1-65535)");
            }
        }
    }

    /** Builds a {@link ServerConfig}; every setter has SPIRE's default. */
    public static final class Builder {
        private final TrustDomain trustDomain;
        private final Path dataDir;
        private String bindAddress = "0.0.0.0";
        private int bindPort = DEFAULT_BIND_PORT;
        private Path socketPath = DEFAULT_SOCKET_PATH;
        private String logLevel = "INFO";
        private Duration caTtl = Duration.ofHours(24);
        private Duration defaultX509SvidTtl = Duration.ofHours(1);
        private Duration defaultJwtSvidTtl = Duration.ofMinutes(5);
        private Duration agentTtl;
        private String caKeyType = "ec-p256";
        private String jwtKeyType;
        private CaSubject caSubject = CaSubject.DEFAULT;
        private String jwtIssuer;
        private DataStoreConfig dataStore = DataStoreConfig.SQLITE_DEFAULT;
        private KeyManagerConfig keyManager;
        private boolean joinToken = true;
        private X509PopConfig x509pop;
        private DiskUpstreamConfig upstream;
        private TelemetryConfig telemetry;
        private HealthChecksConfig healthChecks;
        private Duration rotationCheckInterval = Duration.ofSeconds(10);
        private Clock clock = Clock.systemUTC();
        private Path source;
        private FederationConfig federation = FederationConfig.NONE;
        private K8sPlugins kubernetes = K8sPlugins.NONE;
        private ApiPolicy api = ApiPolicy.UNLIMITED;
        private SpireUpstreamConfig spireUpstream;

        private Builder(TrustDomain trustDomain, Path dataDir) {
            this.trustDomain = trustDomain;
            this.dataDir = dataDir;
        }

        public Builder bindAddress(String v) {
            bindAddress = v;
            return this;
        }

        public Builder bindPort(int v) {
            bindPort = v;
            return this;
        }

        public Builder socketPath(Path v) {
            socketPath = v;
            return this;
        }

        public Builder logLevel(String v) {
            logLevel = v;
            return this;
        }

        public Builder caTtl(Duration v) {
            caTtl = v;
            return this;
        }

        public Builder defaultX509SvidTtl(Duration v) {
            defaultX509SvidTtl = v;
            return this;
        }

        public Builder defaultJwtSvidTtl(Duration v) {
            defaultJwtSvidTtl = v;
            return this;
        }

        public Builder agentTtl(Duration v) {
            agentTtl = v;
            return this;
        }

        public Builder caKeyType(String v) {
            caKeyType = v;
            return this;
        }

        public Builder jwtKeyType(String v) {
            jwtKeyType = v;
            return this;
        }

        public Builder caSubject(CaSubject v) {
            caSubject = v;
            return this;
        }

        public Builder jwtIssuer(String v) {
            jwtIssuer = v;
            return this;
        }

        public Builder dataStore(DataStoreConfig v) {
            dataStore = v;
            return this;
        }

        public Builder keyManager(KeyManagerConfig v) {
            keyManager = v;
            return this;
        }

        public Builder joinToken(boolean v) {
            joinToken = v;
            return this;
        }

        public Builder x509pop(X509PopConfig v) {
            x509pop = v;
            return this;
        }

        /** {@code UpstreamAuthority "spire"}: nested under another identity server. */
        public Builder spireUpstream(SpireUpstreamConfig v) {
            spireUpstream = v;
            return this;
        }

        public Builder upstream(DiskUpstreamConfig v) {
            upstream = v;
            return this;
        }

        public Builder telemetry(TelemetryConfig v) {
            telemetry = v;
            return this;
        }

        public Builder healthChecks(HealthChecksConfig v) {
            healthChecks = v;
            return this;
        }

        public Builder rotationCheckInterval(Duration v) {
            rotationCheckInterval = v;
            return this;
        }

        public Builder clock(Clock v) {
            clock = v;
            return this;
        }

        public Builder source(Path v) {
            source = v;
            return this;
        }

        public Builder federation(FederationConfig v) {
            federation = v;
            return this;
        }

        public Builder kubernetes(K8sPlugins v) {
            kubernetes = v;
            return this;
        }

        public Builder api(ApiPolicy v) {
            api = v;
            return this;
        }

        /**
         * @throws IllegalArgumentException naming the bad setting
         */
        public ServerConfig build() {
            return new ServerConfig(
                    trustDomain,
                    bindAddress,
                    bindPort,
                    socketPath,
                    dataDir,
                    logLevel,
                    caTtl,
                    defaultX509SvidTtl,
                    defaultJwtSvidTtl,
                    agentTtl == null ? defaultX509SvidTtl : agentTtl,
                    caKeyType,
                    jwtKeyType == null ? caKeyType : jwtKeyType,
                    caSubject,
                    jwtIssuer,
                    dataStore,
                    keyManager == null ? KeyManagerConfig.diskUnder(dataDir) : keyManager,
                    joinToken,
                    x509pop,
                    upstream,
                    telemetry,
                    healthChecks,
                    rotationCheckInterval,
                    clock,
                    source,
                    federation,
                    kubernetes,
                    api,
                    spireUpstream);
        }
    }
}
