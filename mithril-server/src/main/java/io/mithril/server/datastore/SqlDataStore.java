package io.mithril.server.datastore;

import com.google.protobuf.InvalidProtocolBufferException;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import com.zaxxer.hikari.pool.HikariPool;
import io.mithril.api.selector.Selector;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.FederationRelationship;
import io.mithril.api.types.JwtKey;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.fs.PrivateFiles;
import io.mithril.spiffe.id.SpiffeId;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code sql} datastore on SQLite (embedded, one file) or PostgreSQL (shared by several
 * servers), with the schema managed by Flyway migrations ({@code db/migration/<dialect>}).
 *
 * <p>Every method runs in one JDBC transaction on a connection of a HikariCP pool. SQLite runs in
 * WAL mode with {@code synchronous=FULL} through a pool of one connection (SQLite has one writer at
 * a time anyway); PostgreSQL through a pool sized by {@link PoolSettings}. The pool validates a
 * connection before handing it out (when it has been idle) and replaces broken ones, so the
 * datastore recovers by itself once a restarted or failed-over database accepts connections again;
 * while it does not, calls fail after {@link PoolSettings#connectionTimeout()} with a {@link
 * DataStoreUnavailableException}.
 */
public final class SqlDataStore implements DataStore {

    private static final Logger log = LoggerFactory.getLogger(SqlDataStore.class);

    /** Dialects. */
    public enum Dialect {
        SQLITE,
        POSTGRES
    }

    /**
     * The pool's settings, SPIRE's keys: {@code maxOpen} = {@code max_open_conns} (the pool's
     * maximum size), {@code minIdle} = {@code max_idle_conns} (connections kept open while idle;
     * those above it close after 10 idle minutes), {@code maxLifetime} = {@code conn_max_lifetime}
     * (zero: kept while they work; else at least 30 s), and how long a call waits for a connection.
     */
    public record PoolSettings(
            int maxOpen, int minIdle, Duration maxLifetime, Duration connectionTimeout) {
        /** Shortest lifetime HikariCP accepts. */
        static final Duration MIN_LIFETIME = Duration.ofSeconds(30);

        public static final PoolSettings DEFAULT =
                new PoolSettings(10, 2, Duration.ZERO, Duration.ofSeconds(5));

        public PoolSettings {
            if (maxOpen < 1
                    || minIdle < 0
                    || maxLifetime.isNegative()
                    || connectionTimeout.toMillis() < 250) {
                throw new IllegalArgumentException(
                        "pool settings out of range: "
                                + maxOpen
                                + " open, "
                                + minIdle
                                + " idle, lifetime "
                                + maxLifetime
                                + ", connection timeout "
                                + connectionTimeout);
            }
        }

        /** These settings with another maximum size. */
        public PoolSettings withMaxOpen(int n) {
            return new PoolSettings(n, minIdle, maxLifetime, connectionTimeout);
        }
    }

    /** A moment's view of the pool (connections open, in use, idle, and calls waiting for one). */
    public record PoolStats(int total, int active, int idle, int waiting) {}

    private final Dialect dialect;
    private final String description;
    private final HikariDataSource pool;
    private final Clock clock;
    private volatile boolean closed;

    /**
     * System.nanoTime() when a call first found the database unreachable; 0 while it is reachable.
     */
    private final AtomicLong unavailableSince = new AtomicLong();

    private final List<DataStoreChange.Listener> listeners =
            new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * Numbers this instance's entry/agent writes in commit order: taken right after the change
     * revision is bumped, while the transaction holds that row's lock (PostgreSQL) or the only
     * connection (SQLite), so no other write of ours can take one before this one commits or rolls
     * back.
     */
    private final AtomicLong localWrites = new AtomicLong();

    /**
     * Guards {@link #nextDelivery} and {@link #committed}; held while listeners are told, in order.
     */
    private final Object deliveryLock = new Object();

    /** The number of the next local write whose listeners are to be told. */
    private long nextDelivery;

    /**
     * Local writes that finished out of turn, by number: their changes, or null when rolled back.
     */
    private final Map<Long, Committed> committed = new HashMap<>();

    private record Committed(long revision, List<DataStoreChange> changes) {}

    /**
     * Change revisions of this instance's writes from the bump until the listeners were told (or
     * the transaction rolled back), for {@link #untoldOwnWrites}.
     */
    private final java.util.concurrent.ConcurrentSkipListSet<Long> untold =
            new java.util.concurrent.ConcurrentSkipListSet<>();

    private SqlDataStore(Dialect dialect, String description, HikariDataSource pool, Clock clock) {
        this.dialect = dialect;
        this.description = description;
        this.pool = pool;
        this.clock = clock;
    }

    /**
     * Opens (creating and migrating) a SQLite datastore file.
     *
     * @throws DataStoreException naming the file when it cannot be opened, is not a database, or
     *     the migration fails
     */
    public static SqlDataStore openSqlite(Path file, Clock clock) {
        String what = "sqlite3 datastore " + file;
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                PrivateFiles.directory(parent, "datastore directory");
            }
            if (Files.exists(file) && !Files.isReadable(file)) {
                throw new DataStoreException(what + ": file is not readable");
            }
            // SQLite creates its -wal, -shm and -journal files with the database file's mode, so
            // the database is made 0600 before SQLite opens it (before the pool opens its
            // connection); older journals are tightened too.
            PrivateFiles.file(file, "datastore");
            tightenJournals(file);
        } catch (java.io.IOException e) {
            throw new DataStoreException(what + ": " + e.getMessage(), e);
        }
        String url = "jdbc:sqlite:" + file.toAbsolutePath();
        Properties props = new Properties();
        props.setProperty("journal_mode", "WAL");
        props.setProperty("synchronous", "FULL");
        props.setProperty("busy_timeout", "10000");
        props.setProperty("foreign_keys", "false");
        String hint = " (is it a SQLite database? move it away to start with an empty datastore)";
        // One connection: SQLite serialises writers, and a second connection's write would wait on
        // the busy timeout (or fail to upgrade a read lock) instead of queueing here. It waits as
        // long as the busy timeout does.
        HikariDataSource ds =
                pool(
                        url,
                        props,
                        new PoolSettings(1, 1, Duration.ZERO, Duration.ofSeconds(30)),
                        what,
                        hint);
        try (Connection c = ds.getConnection();
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("PRAGMA schema_version")) {
            // Touch the file so that a corrupt one fails here, with its name, not in the migration.
            rs.next();
        } catch (SQLException e) {
            ds.close();
            throw new DataStoreException(what + ": " + e.getMessage() + hint, e);
        }
        try {
            migrate(url, props, "sqlite", what);
        } catch (DataStoreException e) {
            ds.close();
            throw e;
        }
        tightenJournals(file);
        log.info("Datastore opened: {}", what);
        return new SqlDataStore(Dialect.SQLITE, what, ds, clock);
    }

    /** A started pool; fails, naming {@code what}, when its first connection cannot be opened. */
    private static HikariDataSource pool(
            String url, Properties props, PoolSettings settings, String what, String hint) {
        HikariConfig hc = new HikariConfig();
        hc.setPoolName("datastore");
        hc.setJdbcUrl(url);
        hc.setDataSourceProperties(props);
        hc.setAutoCommit(false);
        hc.setMaximumPoolSize(settings.maxOpen());
        hc.setMinimumIdle(Math.min(settings.minIdle(), settings.maxOpen()));
        hc.setMaxLifetime(
                settings.maxLifetime().isZero()
                        ? 0
                        : Math.max(
                                settings.maxLifetime().toMillis(),
                                PoolSettings.MIN_LIFETIME.toMillis()));
        hc.setConnectionTimeout(settings.connectionTimeout().toMillis());
        hc.setValidationTimeout(Math.min(5000, settings.connectionTimeout().toMillis()));
        hc.setInitializationFailTimeout(
                1); // one attempt at start: a wrong connection string fails now, by name
        try {
            return new HikariDataSource(hc);
        } catch (HikariPool.PoolInitializationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new DataStoreException(what + ": " + cause.getMessage() + hint, cause);
        }
    }

    private static void tightenJournals(Path file) {
        try {
            for (String suffix : new String[] {"-wal", "-shm", "-journal"}) {
                PrivateFiles.fileIfExists(
                        file.resolveSibling(file.getFileName() + suffix), "datastore journal");
            }
        } catch (java.io.IOException e) {
            throw new DataStoreException("sqlite3 datastore " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Opens (migrating) a PostgreSQL datastore.
     *
     * @param connectionString SPIRE's forms: a DSN ({@code dbname=spire user=spire host=127.0.0.1
     *     port=5432 password=.. sslmode=disable}), a URL ({@code
     *     postgres://user:pass@host:port/db?sslmode=disable}) or a JDBC URL ({@code
     *     jdbc:postgresql://..})
     * @throws DataStoreException naming host and database when it is unreachable or the migration
     *     fails
     */
    public static SqlDataStore openPostgres(
            String connectionString, PoolSettings settings, Clock clock) {
        JdbcTarget t = toJdbc(connectionString);
        String what = "postgres datastore " + t.display;
        HikariDataSource ds = pool(t.url, t.props, settings, what, "");
        try {
            migrate(t.url, t.props, "postgres", what);
        } catch (DataStoreException e) {
            ds.close();
            throw e;
        }
        log.info("Datastore opened: {} (pool of up to {} connections)", what, settings.maxOpen());
        return new SqlDataStore(Dialect.POSTGRES, what, ds, clock);
    }

    /**
     * {@link #openPostgres(String, PoolSettings, Clock)} with the default settings and at most
     * {@code poolSize} connections.
     */
    public static SqlDataStore openPostgres(String connectionString, int poolSize, Clock clock) {
        return openPostgres(connectionString, PoolSettings.DEFAULT.withMaxOpen(poolSize), clock);
    }

    private static void migrate(String url, Properties props, String dialect, String what) {
        try {
            Flyway.configure(SqlDataStore.class.getClassLoader())
                    .dataSource(new SimpleDataSource(url, props))
                    .locations("classpath:db/migration/" + dialect)
                    .javaMigrations(new HashJoinTokens())
                    .table("mithril_schema_history")
                    .baselineOnMigrate(false)
                    .load()
                    .migrate();
        } catch (FlywayException e) {
            throw new DataStoreException(what + ": schema migration failed: " + e.getMessage(), e);
        }
    }

    record JdbcTarget(String url, Properties props, String display) {}

    /** Converts SPIRE's PostgreSQL connection strings to a JDBC URL and properties. */
    static JdbcTarget toJdbc(String cs) {
        Properties props = new Properties();
        String s = cs.trim();
        if (s.startsWith("jdbc:postgresql:")) {
            return new JdbcTarget(s, props, s.replaceAll("password=[^&]*", "password=***"));
        }
        String host = "localhost";
        String port = "5432";
        String db = null;
        Map<String, String> params = new LinkedHashMap<>();
        if (s.startsWith("postgres://") || s.startsWith("postgresql://")) {
            URI u = URI.create(s);
            if (u.getHost() != null) {
                host = u.getHost();
            }
            if (u.getPort() > 0) {
                port = Integer.toString(u.getPort());
            }
            if (u.getRawUserInfo() != null) {
                String[] ui = u.getRawUserInfo().split(":", 2);
                params.put("user", URLDecoder.decode(ui[0], StandardCharsets.UTF_8));
                if (ui.length > 1) {
                    params.put("password", URLDecoder.decode(ui[1], StandardCharsets.UTF_8));
                }
            }
            String path = u.getPath();
            if (path != null && path.length() > 1) {
                db = path.substring(1);
            }
            if (u.getRawQuery() != null) {
                for (String kv : u.getRawQuery().split("&")) {
                    String[] p = kv.split("=", 2);
                    params.put(
                            p[0],
                            p.length > 1 ? URLDecoder.decode(p[1], StandardCharsets.UTF_8) : "");
                }
            }
        } else {
            for (String kv : s.split("\\s+")) {
                if (kv.isEmpty()) {
                    continue;
                }
                String[] p = kv.split("=", 2);
                if (p.length != 2) {
                    throw new DataStoreException(
                            "postgres connection_string: \""
                                    + kv
                                    + "\" is not key=value (write e.g. \"dbname=spire user=spire host=127.0.0.1 sslmode=disable\")");
                }
                String v = p[1];
                if (v.length() >= 2 && v.startsWith("'") && v.endsWith("'")) {
                    v = v.substring(1, v.length() - 1);
                }
                params.put(p[0], v);
            }
        }
        if (params.containsKey("host")) {
            host = params.remove("host");
        }
        if (params.containsKey("port")) {
            port = params.remove("port");
        }
        if (params.containsKey("dbname")) {
            db = params.remove("dbname");
        }
        if (db == null) {
            db = params.getOrDefault("user", "postgres");
        }
        for (Map.Entry<String, String> e : params.entrySet()) {
            props.setProperty(e.getKey(), e.getValue());
        }
        String url = "jdbc:postgresql://" + host + ":" + port + "/" + db;
        return new JdbcTarget(url, props, host + ":" + port + "/" + db);
    }

    @Override
    public String describe() {
        return description;
    }

    // ---------------------------------------------------------------- transactions

    @FunctionalInterface
    interface Tx<T> {
        T run(Connection c) throws SQLException;
    }

    /**
     * Runs {@code work} in one transaction. When the connection breaks before the commit (the
     * database restarted since the pool last used it), nothing was committed, so the pool's
     * connections are replaced and the work is run once more on a new one; a failure at the commit
     * itself is not retried, as the commit may have happened.
     */
    private <T> T tx(Tx<T> work) {
        for (int attempt = 1; ; attempt++) {
            Connection c = borrow();
            try {
                T result;
                try {
                    result = work.run(c);
                } catch (SQLException | RuntimeException e) {
                    rollback(c, e);
                    if (attempt == 1 && isConnectionFailure(e)) {
                        // The others the pool holds most likely broke with it (a database restart):
                        // have them all replaced, so that the retry gets a new connection.
                        log.debug(
                                "{}: connection broken ({}); running the transaction again on a new one",
                                description,
                                e.getMessage());
                        pool.getHikariPoolMXBean().softEvictConnections();
                        continue;
                    }
                    throw failure(e);
                }
                try {
                    c.commit();
                } catch (SQLException e) {
                    rollback(c, e);
                    throw failure(e);
                }
                available();
                return result;
            } finally {
                try {
                    c.close(); // back to the pool, which drops it if it broke
                } catch (SQLException e) {
                    log.debug("{}: returning a connection: {}", description, e.getMessage());
                }
            }
        }
    }

    private Connection borrow() {
        if (closed) {
            throw new DataStoreException(description + ": datastore is closed");
        }
        try {
            return pool.getConnection();
        } catch (SQLException e) {
            // The pool waited connectionTimeout for a connection; its cause says why none came.
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            String why =
                    cause == e ? e.getMessage() : cause.getMessage() + " (" + e.getMessage() + ")";
            unavailable(why);
            throw new DataStoreUnavailableException(
                    description + ": database unavailable: " + why, e);
        }
    }

    private static void rollback(Connection c, Exception e) {
        try {
            c.rollback();
        } catch (SQLException re) {
            e.addSuppressed(re);
        }
    }

    private RuntimeException failure(Exception e) {
        if (isConnectionFailure(e)) {
            unavailable(e.getMessage());
            return new DataStoreUnavailableException(
                    description + ": database unavailable: " + e.getMessage(), e);
        }
        if (e instanceof DataStoreException d) {
            return d;
        }
        if (e instanceof RuntimeException r && !(e instanceof IllegalStateException)) {
            return r;
        }
        return new DataStoreException(description + ": " + e.getMessage(), e);
    }

    /**
     * A broken or refused connection (SQLSTATE class 08, or PostgreSQL's 57P01-57P03 at shutdown).
     */
    static boolean isConnectionFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLTransientConnectionException
                    || t instanceof java.sql.SQLNonTransientConnectionException) {
                return true;
            }
            if (t instanceof SQLException s
                    && s.getSQLState() != null
                    && (s.getSQLState().startsWith("08") || s.getSQLState().startsWith("57P0"))) {
                return true;
            }
        }
        return false;
    }

    private void unavailable(String why) {
        if (unavailableSince.compareAndSet(0, System.nanoTime())) {
            log.warn(
                    "Datastore unavailable: {}: {}; calls fail until it is reachable again",
                    description,
                    why);
        }
    }

    private void available() {
        long since = unavailableSince.get();
        if (since != 0 && unavailableSince.compareAndSet(since, 0)) {
            log.info(
                    "Datastore reachable again: {}, {} ms after a call first found it unavailable; {}",
                    description,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since),
                    poolStats());
        }
    }

    /** The pool's current counts. */
    public PoolStats poolStats() {
        HikariPoolMXBean b = pool.getHikariPoolMXBean();
        return b == null
                ? new PoolStats(0, 0, 0, 0)
                : new PoolStats(
                        b.getTotalConnections(),
                        b.getActiveConnections(),
                        b.getIdleConnections(),
                        b.getThreadsAwaitingConnection());
    }

    // ---------------------------------------------------------------- change detection

    /**
     * Runs an entry/agent write in one transaction that first bumps the change revision (first, so
     * concurrent writers, here or in another server, queue on that row before taking other locks),
     * then, after the commit, tells the listeners what changed, in commit (= revision) order. A
     * failed write bumps nothing and tells nothing.
     *
     * <p>No Java lock is held across the transaction: on PostgreSQL the change_revision row lock
     * already serialises these writes from the bump to the commit (and only that far: borrowing a
     * connection and telling the listeners happen outside it); on SQLite the pool's one connection
     * serialises every write. Only the telling is put in order here, by {@link #localWrites}.
     */
    private <T> T changeTx(
            Tx<T> work, java.util.function.Function<T, List<DataStoreChange>> changes) {
        long[] revision = new long[1];
        long[] number = {-1};
        try {
            T result =
                    tx(
                            c -> {
                                if (number[0] >= 0) {
                                    untold.remove(revision[0]);
                                    told(
                                            number[0],
                                            null); // an attempt rolled back on a broken connection;
                                    // this is the retry
                                    number[0] = -1;
                                }
                                revision[0] = bumpRevision(c);
                                untold.add(revision[0]);
                                number[0] = localWrites.getAndIncrement();
                                return work.run(c);
                            });
            List<DataStoreChange> changed = changes.apply(result);
            long n = number[0];
            number[0] = -1;
            told(n, new Committed(revision[0], changed));
            return result;
        } finally {
            if (number[0] >= 0) {
                untold.remove(revision[0]);
                told(
                        number[0],
                        null); // rolled back (or the commit failed): nothing to tell, but let the
                // next ones go
            }
        }
    }

    /**
     * Local write {@code number} finished ({@code null}: without a commit); tells the listeners
     * every write now in turn.
     */
    private void told(long number, Committed write) {
        synchronized (deliveryLock) {
            committed.put(number, write);
            while (committed.containsKey(nextDelivery)) {
                Committed w = committed.remove(nextDelivery);
                nextDelivery++;
                if (w == null) {
                    continue;
                }
                for (DataStoreChange.Listener l : listeners) {
                    try {
                        l.changed(w.revision(), w.changes());
                    } catch (RuntimeException e) {
                        // The write is committed; a listener's failure must not turn it into an
                        // error.
                        log.warn(
                                "Datastore change listener failed at revision {}: {}",
                                w.revision(),
                                e.toString());
                    }
                }
                untold.remove(w.revision());
            }
        }
    }

    private static long bumpRevision(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            if (s.executeUpdate("UPDATE change_revision SET revision = revision + 1 WHERE id = 1")
                    != 1) {
                throw new SQLException(
                        "change_revision row is missing (schema migration V2 not applied?)");
            }
        }
        return readRevision(c);
    }

    private static long readRevision(Connection c) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs =
                        s.executeQuery("SELECT revision FROM change_revision WHERE id = 1")) {
            if (!rs.next()) {
                throw new SQLException(
                        "change_revision row is missing (schema migration V2 not applied?)");
            }
            return rs.getLong(1);
        }
    }

    @Override
    public long changeRevision() {
        return tx(SqlDataStore::readRevision);
    }

    @Override
    public boolean untoldOwnWrites(long after, long upTo) {
        if (upTo <= after || upTo - after > untold.size()) {
            return false;
        }
        for (long r = after + 1; r <= upTo; r++) {
            if (!untold.contains(r)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public DataStoreChange.Snapshot snapshot() {
        return tx(
                c -> {
                    // PostgreSQL's default READ COMMITTED gives each statement its own snapshot;
                    // the
                    // revision must describe exactly the rows read, so read them all in one
                    // snapshot.
                    // (A SQLite read transaction is one snapshot already.)
                    boolean pg = dialect == Dialect.POSTGRES;
                    int isolation = c.getTransactionIsolation();
                    if (pg) {
                        c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                    }
                    try {
                        long revision = readRevision(c);
                        DataStoreChange.Snapshot snap =
                                new DataStoreChange.Snapshot(
                                        revision,
                                        readEntries(c, "", List.of()),
                                        readNodes(c, "", List.of()));
                        if (pg) {
                            c.commit(); // end the transaction so that its isolation level
                            // can be restored
                        }
                        return snap;
                    } catch (SQLException | RuntimeException e) {
                        if (pg) {
                            c.rollback();
                        }
                        throw e;
                    } finally {
                        if (pg) {
                            c.setTransactionIsolation(isolation);
                        }
                    }
                });
    }

    @Override
    public void addChangeListener(DataStoreChange.Listener listener) {
        listeners.add(listener);
    }

    private static List<DataStoreChange> stored(RegistrationEntry e) {
        return List.of(new DataStoreChange.EntryStored(e));
    }

    // ---------------------------------------------------------------- entries

    private static final String ENTRY_COLUMNS =
            "entry_id, spiffe_id, parent_id, x509_svid_ttl, jwt_svid_ttl, dns_names, "
                    + "federates_with, admin, downstream, hint, revision_number, expires_at, created_at";

    static String entryKey(RegistrationEntry e) {
        StringBuilder sb = new StringBuilder();
        sb.append(e.spiffeId()).append('\n').append(e.parentId());
        for (Selector s : e.selectors()) {
            sb.append('\n').append(s.type()).append('\0').append(s.value());
        }
        try {
            return HexFormat.of()
                    .formatHex(
                            MessageDigest.getInstance("SHA-256")
                                    .digest(sb.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
    }

    @Override
    public RegistrationEntry createEntry(RegistrationEntry entry) {
        String id = entry.id().isEmpty() ? UUID.randomUUID().toString() : entry.id();
        RegistrationEntry stored =
                entry.withId(id).withRevision(0, clock.instant().getEpochSecond());
        String key = entryKey(stored);
        return changeTx(
                c -> {
                    String existing = findByKey(c, key);
                    if (existing != null) {
                        throw duplicate(stored, existing);
                    }
                    try (PreparedStatement ps =
                            c.prepareStatement(
                                    "INSERT INTO registered_entries (entry_key, "
                                            + ENTRY_COLUMNS
                                            + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")) {
                        ps.setString(1, key);
                        bindEntry(ps, 2, stored);
                        ps.executeUpdate();
                    } catch (SQLException e) {
                        // A concurrent writer inserted the same entry between our check and our
                        // insert.
                        if (isUniqueViolation(e)) {
                            throw duplicate(stored, "created concurrently");
                        }
                        throw e;
                    }
                    insertSelectors(c, id, stored.selectors());
                    return stored;
                },
                SqlDataStore::stored);
    }

    @Override
    public List<EntryCreateResult> createEntries(List<RegistrationEntry> entries) {
        long now = clock.instant().getEpochSecond();
        try {
            return changeTx(
                    c -> {
                        List<EntryCreateResult> out = new ArrayList<>(entries.size());
                        Map<String, String> seen = new HashMap<>();
                        try (PreparedStatement ins =
                                c.prepareStatement(
                                        "INSERT INTO registered_entries (entry_key, "
                                                + ENTRY_COLUMNS
                                                + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")) {
                            for (RegistrationEntry entry : entries) {
                                String id =
                                        entry.id().isEmpty()
                                                ? UUID.randomUUID().toString()
                                                : entry.id();
                                RegistrationEntry stored = entry.withId(id).withRevision(0, now);
                                String key = entryKey(stored);
                                String existing =
                                        seen.containsKey(key) ? seen.get(key) : findByKey(c, key);
                                if (existing != null) {
                                    out.add(
                                            EntryCreateResult.AlreadyExists.of(
                                                    duplicate(stored, existing)));
                                    continue;
                                }
                                ins.setString(1, key);
                                bindEntry(ins, 2, stored);
                                ins.executeUpdate();
                                insertSelectors(c, id, stored.selectors());
                                seen.put(key, id);
                                out.add(new EntryCreateResult.Created(stored));
                            }
                        }
                        return out;
                    },
                    out ->
                            out.stream()
                                    .flatMap(r -> r.created().stream())
                                    .<DataStoreChange>map(DataStoreChange.EntryStored::new)
                                    .toList());
        } catch (DataStoreException e) {
            if (e.getCause() instanceof SQLException sql && isUniqueViolation(sql)) {
                // A concurrent writer (another replica) raced us: nothing of this batch was kept;
                // redo it entry by entry so each gets its own answer.
                List<EntryCreateResult> out = new ArrayList<>(entries.size());
                for (RegistrationEntry entry : entries) {
                    try {
                        out.add(new EntryCreateResult.Created(createEntry(entry)));
                    } catch (DuplicateEntryException d) {
                        out.add(EntryCreateResult.AlreadyExists.of(d));
                    }
                }
                return out;
            }
            throw e;
        }
    }

    @Override
    public java.util.Set<String> parentIds() {
        return tx(
                c -> {
                    java.util.Set<String> out = new java.util.HashSet<>();
                    try (Statement st = c.createStatement();
                            ResultSet rs =
                                    st.executeQuery(
                                            "SELECT DISTINCT parent_id FROM registered_entries")) {
                        while (rs.next()) {
                            out.add(rs.getString(1));
                        }
                    }
                    return out;
                });
    }

    @Override
    public List<RegistrationEntry> listEntriesBySpiffeId(SpiffeId id) {
        return tx(c -> readEntries(c, " WHERE spiffe_id = ?", List.of(id.toString())));
    }

    private static DuplicateEntryException duplicate(RegistrationEntry e, String existing) {
        return new DuplicateEntryException(
                "an entry with SPIFFE ID \""
                        + e.spiffeId()
                        + "\", parent ID \""
                        + e.parentId()
                        + "\" and selectors "
                        + e.selectorStrings()
                        + " already exists (entry ID "
                        + existing
                        + ")",
                existing);
    }

    private boolean isUniqueViolation(SQLException e) {
        String state = e.getSQLState();
        String msg = String.valueOf(e.getMessage());
        return "23505".equals(state)
                || msg.contains("UNIQUE constraint failed")
                || msg.contains("SQLITE_CONSTRAINT");
    }

    private static String findByKey(Connection c, String key) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("SELECT entry_id FROM registered_entries WHERE entry_key = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private static void bindEntry(PreparedStatement ps, int i, RegistrationEntry e)
            throws SQLException {
        ps.setString(i++, e.id());
        ps.setString(i++, e.spiffeId().toString());
        ps.setString(i++, e.parentId().toString());
        ps.setInt(i++, e.x509SvidTtlSeconds());
        ps.setInt(i++, e.jwtSvidTtlSeconds());
        ps.setString(i++, String.join("\n", e.dnsNames()));
        ps.setString(i++, String.join("\n", e.federatesWith()));
        ps.setBoolean(i++, e.admin());
        ps.setBoolean(i++, e.downstream());
        ps.setString(i++, e.hint());
        ps.setLong(i++, e.revisionNumber());
        ps.setLong(i++, e.expiresAt());
        ps.setLong(i, e.createdAt());
    }

    private static void insertSelectors(Connection c, String entryId, List<Selector> selectors)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "INSERT INTO selectors (entry_id, type, value) VALUES (?,?,?)")) {
            for (Selector s : selectors) {
                ps.setString(1, entryId);
                ps.setString(2, s.type());
                ps.setString(3, s.value());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private static List<String> lines(String s) {
        return s == null || s.isEmpty() ? List.of() : List.of(s.split("\n"));
    }

    /** Reads entries from a query over registered_entries, then their selectors. */
    private static List<RegistrationEntry> readEntries(
            Connection c, String where, List<String> args) throws SQLException {
        Map<String, Object[]> rows = new LinkedHashMap<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT "
                                + ENTRY_COLUMNS
                                + " FROM registered_entries"
                                + where
                                + " ORDER BY created_at, entry_id")) {
            for (int i = 0; i < args.size(); i++) {
                ps.setString(i + 1, args.get(i));
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Object[] r = {
                        rs.getString(1),
                        rs.getString(2),
                        rs.getString(3),
                        rs.getInt(4),
                        rs.getInt(5),
                        rs.getString(6),
                        rs.getString(7),
                        rs.getBoolean(8),
                        rs.getBoolean(9),
                        rs.getString(10),
                        rs.getLong(11),
                        rs.getLong(12),
                        rs.getLong(13)
                    };
                    rows.put((String) r[0], r);
                }
            }
        }
        if (rows.isEmpty()) {
            return List.of();
        }
        Map<String, List<Selector>> sels = new HashMap<>();
        String selWhere =
                rows.size() <= 500
                        ? " WHERE entry_id IN ("
                                + String.join(",", java.util.Collections.nCopies(rows.size(), "?"))
                                + ")"
                        : "";
        try (PreparedStatement ps =
                c.prepareStatement("SELECT entry_id, type, value FROM selectors" + selWhere)) {
            if (!selWhere.isEmpty()) {
                int i = 1;
                for (String id : rows.keySet()) {
                    ps.setString(i++, id);
                }
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String id = rs.getString(1);
                    if (rows.containsKey(id)) {
                        sels.computeIfAbsent(id, k -> new ArrayList<>())
                                .add(new Selector(rs.getString(2), rs.getString(3)));
                    }
                }
            }
        }
        List<RegistrationEntry> out = new ArrayList<>(rows.size());
        // Parent IDs repeat (many entries per agent or alias): parse each distinct ID once.
        Map<String, SpiffeId> ids = new HashMap<>();
        for (Object[] r : rows.values()) {
            String id = (String) r[0];
            out.add(
                    new RegistrationEntry(
                            id,
                            ids.computeIfAbsent((String) r[1], SpiffeId::parse),
                            ids.computeIfAbsent((String) r[2], SpiffeId::parse),
                            sels.getOrDefault(id, List.of()),
                            ((Number) r[3]).intValue(),
                            ((Number) r[4]).intValue(),
                            lines((String) r[5]),
                            lines((String) r[6]),
                            bool(r[7]),
                            bool(r[8]),
                            (String) r[9],
                            ((Number) r[10]).longValue(),
                            ((Number) r[11]).longValue(),
                            ((Number) r[12]).longValue()));
        }
        return out;
    }

    private static boolean bool(Object o) {
        if (o instanceof Boolean b) {
            return b;
        }
        return o instanceof Number n && n.intValue() != 0;
    }

    @Override
    public Optional<RegistrationEntry> fetchEntry(String id) {
        return tx(c -> readEntries(c, " WHERE entry_id = ?", List.of(id)).stream().findFirst());
    }

    @Override
    public List<RegistrationEntry> listEntries(EntryFilter filter) {
        StringBuilder where = new StringBuilder();
        List<String> args = new ArrayList<>();
        if (filter.spiffeId() != null) {
            where.append(" WHERE spiffe_id = ?");
            args.add(filter.spiffeId().toString());
        }
        if (filter.parentId() != null) {
            where.append(where.length() == 0 ? " WHERE" : " AND").append(" parent_id = ?");
            args.add(filter.parentId().toString());
        }
        List<RegistrationEntry> all = tx(c -> readEntries(c, where.toString(), args));
        if (filter.selectors().isEmpty()) {
            return all;
        }
        return all.stream().filter(e -> filter.selectorsMatch(e.selectors())).toList();
    }

    @Override
    public List<RegistrationEntry> listEntriesByParent(Collection<SpiffeId> parentIds) {
        if (parentIds.isEmpty()) {
            return List.of();
        }
        List<String> ids = parentIds.stream().map(SpiffeId::toString).distinct().toList();
        return tx(
                c -> {
                    List<RegistrationEntry> out = new ArrayList<>();
                    for (int from = 0; from < ids.size(); from += 400) {
                        List<String> chunk = ids.subList(from, Math.min(ids.size(), from + 400));
                        out.addAll(
                                readEntries(
                                        c,
                                        " WHERE parent_id IN ("
                                                + String.join(
                                                        ",",
                                                        java.util.Collections.nCopies(
                                                                chunk.size(), "?"))
                                                + ")",
                                        chunk));
                    }
                    return out;
                });
    }

    @Override
    public Optional<RegistrationEntry> updateEntry(RegistrationEntry entry) {
        return changeTx(
                c -> {
                    Optional<RegistrationEntry> old =
                            readEntries(c, " WHERE entry_id = ?", List.of(entry.id())).stream()
                                    .findFirst();
                    if (old.isEmpty()) {
                        return Optional.empty();
                    }
                    RegistrationEntry updated =
                            entry.withRevision(
                                    old.get().revisionNumber() + 1, old.get().createdAt());
                    String key = entryKey(updated);
                    String existing = findByKey(c, key);
                    if (existing != null && !existing.equals(entry.id())) {
                        throw duplicate(updated, existing);
                    }
                    try (PreparedStatement ps =
                            c.prepareStatement(
                                    "UPDATE registered_entries SET entry_key = ?, entry_id = ?, spiffe_id = ?, "
                                            + "parent_id = ?, x509_svid_ttl = ?, jwt_svid_ttl = ?, dns_names = ?, federates_with = ?, admin = ?, "
                                            + "downstream = ?, hint = ?, revision_number = ?, expires_at = ?, created_at = ? WHERE entry_id = ?")) {
                        ps.setString(1, key);
                        bindEntry(ps, 2, updated);
                        ps.setString(15, entry.id());
                        ps.executeUpdate();
                    }
                    try (PreparedStatement ps =
                            c.prepareStatement("DELETE FROM selectors WHERE entry_id = ?")) {
                        ps.setString(1, entry.id());
                        ps.executeUpdate();
                    }
                    insertSelectors(c, entry.id(), updated.selectors());
                    return Optional.of(updated);
                },
                r -> r.map(SqlDataStore::stored).orElse(List.of()));
    }

    @Override
    public Optional<RegistrationEntry> deleteEntry(String id) {
        return changeTx(
                c -> {
                    Optional<RegistrationEntry> old =
                            readEntries(c, " WHERE entry_id = ?", List.of(id)).stream().findFirst();
                    if (old.isPresent()) {
                        for (String sql :
                                new String[] {
                                    "DELETE FROM selectors WHERE entry_id = ?",
                                    "DELETE FROM registered_entries WHERE entry_id = ?"
                                }) {
                            try (PreparedStatement ps = c.prepareStatement(sql)) {
                                ps.setString(1, id);
                                ps.executeUpdate();
                            }
                        }
                    }
                    return old;
                },
                r -> r.isPresent() ? List.of(new DataStoreChange.EntryDeleted(id)) : List.of());
    }

    @Override
    public long countEntries() {
        return tx(
                c -> {
                    try (Statement s = c.createStatement();
                            ResultSet rs =
                                    s.executeQuery("SELECT COUNT(*) FROM registered_entries")) {
                        rs.next();
                        return rs.getLong(1);
                    }
                });
    }

    // ---------------------------------------------------------------- agents

    @Override
    public void upsertAttestedNode(AttestedNode node) {
        changeTx(
                c -> {
                    String id = node.spiffeId().toString();
                    for (String sql :
                            new String[] {
                                "DELETE FROM node_selectors WHERE spiffe_id = ?",
                                "DELETE FROM attested_nodes WHERE spiffe_id = ?"
                            }) {
                        try (PreparedStatement ps = c.prepareStatement(sql)) {
                            ps.setString(1, id);
                            ps.executeUpdate();
                        }
                    }
                    try (PreparedStatement ps =
                            c.prepareStatement(
                                    "INSERT INTO attested_nodes (spiffe_id, attestation_type, serial_number, "
                                            + "expires_at, banned, created_at) VALUES (?,?,?,?,?,?)")) {
                        ps.setString(1, id);
                        ps.setString(2, node.attestationType());
                        ps.setString(3, node.serialNumber());
                        ps.setLong(4, node.expiresAt());
                        ps.setBoolean(5, node.banned());
                        ps.setLong(6, node.createdAt());
                        ps.executeUpdate();
                    }
                    try (PreparedStatement ps =
                            c.prepareStatement(
                                    "INSERT INTO node_selectors (spiffe_id, type, value) VALUES (?,?,?)")) {
                        for (Selector s : node.selectors()) {
                            ps.setString(1, id);
                            ps.setString(2, s.type());
                            ps.setString(3, s.value());
                            ps.addBatch();
                        }
                        ps.executeBatch();
                    }
                    return null;
                },
                r -> List.of(new DataStoreChange.AgentStored(node)));
    }

    private static List<AttestedNode> readNodes(Connection c, String where, List<String> args)
            throws SQLException {
        Map<String, Object[]> rows = new LinkedHashMap<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT spiffe_id, attestation_type, serial_number, expires_at, banned, created_at "
                                + "FROM attested_nodes"
                                + where
                                + " ORDER BY created_at, spiffe_id")) {
            for (int i = 0; i < args.size(); i++) {
                ps.setString(i + 1, args.get(i));
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.put(
                            rs.getString(1),
                            new Object[] {
                                rs.getString(2),
                                rs.getString(3),
                                rs.getLong(4),
                                rs.getBoolean(5),
                                rs.getLong(6)
                            });
                }
            }
        }
        Map<String, List<Selector>> sels = new HashMap<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT spiffe_id, type, value FROM node_selectors"
                                + (where.isEmpty() ? "" : where))) {
            for (int i = 0; i < args.size(); i++) {
                ps.setString(i + 1, args.get(i));
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    sels.computeIfAbsent(rs.getString(1), k -> new ArrayList<>())
                            .add(new Selector(rs.getString(2), rs.getString(3)));
                }
            }
        }
        List<AttestedNode> out = new ArrayList<>();
        for (Map.Entry<String, Object[]> e : rows.entrySet()) {
            Object[] r = e.getValue();
            out.add(
                    new AttestedNode(
                            SpiffeId.parse(e.getKey()),
                            (String) r[0],
                            (String) r[1],
                            (Long) r[2],
                            (Boolean) r[3],
                            sels.getOrDefault(e.getKey(), List.of()),
                            (Long) r[4]));
        }
        return out;
    }

    @Override
    public Optional<AttestedNode> fetchAttestedNode(SpiffeId id) {
        return tx(
                c ->
                        readNodes(c, " WHERE spiffe_id = ?", List.of(id.toString())).stream()
                                .findFirst());
    }

    @Override
    public List<AttestedNode> listAttestedNodes() {
        return tx(c -> readNodes(c, "", List.of()));
    }

    @Override
    public boolean updateAttestedNodeSvid(SpiffeId id, String serial, long expiresAt) {
        return tx(
                c -> {
                    try (PreparedStatement ps =
                            c.prepareStatement(
                                    "UPDATE attested_nodes SET serial_number = ?, expires_at = ? WHERE spiffe_id = ?")) {
                        ps.setString(1, serial);
                        ps.setLong(2, expiresAt);
                        ps.setString(3, id.toString());
                        return ps.executeUpdate() == 1;
                    }
                });
    }

    @Override
    public boolean deleteAttestedNode(SpiffeId id) {
        return changeTx(
                c -> {
                    try (PreparedStatement ps =
                            c.prepareStatement("DELETE FROM node_selectors WHERE spiffe_id = ?")) {
                        ps.setString(1, id.toString());
                        ps.executeUpdate();
                    }
                    try (PreparedStatement ps =
                            c.prepareStatement("DELETE FROM attested_nodes WHERE spiffe_id = ?")) {
                        ps.setString(1, id.toString());
                        return ps.executeUpdate() == 1;
                    }
                },
                deleted -> deleted ? List.of(new DataStoreChange.AgentDeleted(id)) : List.of());
    }

    // ---------------------------------------------------------------- join tokens

    @Override
    public void createJoinToken(JoinToken token) {
        tx(
                c -> {
                    try (PreparedStatement ps =
                            c.prepareStatement(
                                    "INSERT INTO join_tokens (token_hash, expires_at) VALUES (?,?)")) {
                        ps.setString(1, JoinToken.hash(token.token()));
                        ps.setLong(2, token.expiresAt());
                        ps.executeUpdate();
                    }
                    return null;
                });
    }

    @Override
    public Optional<JoinToken> consumeJoinToken(String token) {
        return tx(
                c -> {
                    // DELETE .. RETURNING is atomic in both SQLite (>= 3.35) and PostgreSQL: of two
                    // agents
                    // presenting the same token at once, exactly one gets the row.
                    try (PreparedStatement ps =
                            c.prepareStatement(
                                    "DELETE FROM join_tokens WHERE token_hash = ? RETURNING expires_at")) {
                        ps.setString(1, JoinToken.hash(token));
                        try (ResultSet rs = ps.executeQuery()) {
                            return rs.next()
                                    ? Optional.of(new JoinToken(token, rs.getLong(1)))
                                    : Optional.<JoinToken>empty();
                        }
                    }
                });
    }

    @Override
    public int pruneJoinTokens(long unixSeconds) {
        return tx(
                c -> {
                    try (PreparedStatement ps =
                            c.prepareStatement("DELETE FROM join_tokens WHERE expires_at < ?")) {
                        ps.setLong(1, unixSeconds);
                        return ps.executeUpdate();
                    }
                });
    }

    // ---------------------------------------------------------------- bundles

    private static Optional<Bundle> readBundle(
            Connection c, String td, boolean forUpdate, Dialect dialect) throws SQLException {
        String sql =
                "SELECT data FROM bundles WHERE trust_domain = ?"
                        + (forUpdate && dialect == Dialect.POSTGRES ? " FOR UPDATE" : "");
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, td);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(parseBundle(rs.getBytes(1), td));
            }
        }
    }

    private static Bundle parseBundle(byte[] data, String td) {
        try {
            return Bundle.parseFrom(data);
        } catch (InvalidProtocolBufferException e) {
            throw new DataStoreException(
                    "bundle of \"" + td + "\" in the datastore is corrupt: " + e.getMessage(), e);
        }
    }

    private void writeBundle(Connection c, Bundle b) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "INSERT INTO bundles (trust_domain, data) VALUES (?, ?) "
                                + "ON CONFLICT (trust_domain) DO UPDATE SET data = excluded.data")) {
            ps.setString(1, b.getTrustDomain());
            ps.setBytes(2, b.toByteArray());
            ps.executeUpdate();
        }
    }

    @Override
    public Optional<Bundle> fetchBundle(String trustDomain) {
        return tx(c -> readBundle(c, trustDomain, false, dialect));
    }

    @Override
    public List<Bundle> listBundles() {
        return tx(
                c -> {
                    List<Bundle> out = new ArrayList<>();
                    try (Statement s = c.createStatement();
                            ResultSet rs =
                                    s.executeQuery(
                                            "SELECT trust_domain, data FROM bundles ORDER BY trust_domain")) {
                        while (rs.next()) {
                            out.add(parseBundle(rs.getBytes(2), rs.getString(1)));
                        }
                    }
                    return out;
                });
    }

    @Override
    public void setBundle(Bundle bundle) {
        tx(
                c -> {
                    writeBundle(c, bundle);
                    return null;
                });
    }

    @Override
    public Bundle appendBundle(Bundle add) {
        return tx(
                c -> {
                    String td = add.getTrustDomain();
                    if (dialect == Dialect.POSTGRES) {
                        // Make sure the row exists so FOR UPDATE below serialises concurrent
                        // appenders.
                        try (PreparedStatement ps =
                                c.prepareStatement(
                                        "INSERT INTO bundles (trust_domain, data) VALUES (?, ?) ON CONFLICT DO NOTHING")) {
                            ps.setString(1, td);
                            ps.setBytes(
                                    2,
                                    Bundle.newBuilder().setTrustDomain(td).build().toByteArray());
                            ps.executeUpdate();
                        }
                    }
                    Bundle current =
                            readBundle(c, td, true, dialect)
                                    .orElse(Bundle.newBuilder().setTrustDomain(td).build());
                    Bundle.Builder b = current.toBuilder();
                    boolean changed = false;
                    for (com.google.protobuf.ByteString der : add.getX509AuthoritiesList()) {
                        if (!current.getX509AuthoritiesList().contains(der)) {
                            b.addX509Authorities(der);
                            changed = true;
                        }
                    }
                    for (JwtKey k : add.getJwtAuthoritiesList()) {
                        boolean known =
                                current.getJwtAuthoritiesList().stream()
                                        .anyMatch(x -> x.getKeyId().equals(k.getKeyId()));
                        if (!known) {
                            b.addJwtAuthorities(k);
                            changed = true;
                        }
                    }
                    if (add.getRefreshHint() > 0
                            && add.getRefreshHint() != current.getRefreshHint()) {
                        b.setRefreshHint(add.getRefreshHint());
                        changed = true;
                    }
                    if (changed) {
                        b.setSequenceNumber(current.getSequenceNumber() + 1);
                        Bundle updated = b.build();
                        writeBundle(c, updated);
                        return updated;
                    }
                    return current;
                });
    }

    @Override
    public Optional<Bundle> pruneBundle(String trustDomain, long unixSeconds) {
        return tx(
                c -> {
                    Optional<Bundle> current = readBundle(c, trustDomain, true, dialect);
                    if (current.isEmpty()) {
                        return current;
                    }
                    Bundle cur = current.get();
                    Bundle.Builder b = cur.toBuilder().clearX509Authorities().clearJwtAuthorities();
                    for (com.google.protobuf.ByteString der : cur.getX509AuthoritiesList()) {
                        if (notAfter(der) >= unixSeconds) {
                            b.addX509Authorities(der);
                        }
                    }
                    for (JwtKey k : cur.getJwtAuthoritiesList()) {
                        if (k.getExpiresAt() == 0 || k.getExpiresAt() >= unixSeconds) {
                            b.addJwtAuthorities(k);
                        }
                    }
                    b.clearTaintedX509Authorities();
                    for (com.google.protobuf.ByteString der : cur.getTaintedX509AuthoritiesList()) {
                        if (b.getX509AuthoritiesList().contains(der)) {
                            b.addTaintedX509Authorities(der);
                        }
                    }
                    // Never prune the last X.509 authority: an empty bundle would make every SVID
                    // unverifiable.
                    if (b.getX509AuthoritiesCount() == 0 && cur.getX509AuthoritiesCount() > 0) {
                        return current;
                    }
                    if (b.getX509AuthoritiesCount() == cur.getX509AuthoritiesCount()
                            && b.getJwtAuthoritiesCount() == cur.getJwtAuthoritiesCount()) {
                        return current;
                    }
                    Bundle updated = b.setSequenceNumber(cur.getSequenceNumber() + 1).build();
                    writeBundle(c, updated);
                    return Optional.of(updated);
                });
    }

    @Override
    public Optional<Bundle> updateBundle(
            String trustDomain, java.util.function.UnaryOperator<Bundle> change) {
        return tx(
                c -> {
                    Optional<Bundle> current = readBundle(c, trustDomain, true, dialect);
                    if (current.isEmpty()) {
                        return current;
                    }
                    Bundle updated = change.apply(current.get());
                    if (!updated.equals(current.get())) {
                        writeBundle(c, updated);
                    }
                    return Optional.of(updated);
                });
    }

    private static long notAfter(com.google.protobuf.ByteString der) {
        try {
            X509Certificate cert =
                    (X509Certificate)
                            CertificateFactory.getInstance("X.509")
                                    .generateCertificate(
                                            new ByteArrayInputStream(der.toByteArray()));
            return cert.getNotAfter().toInstant().getEpochSecond();
        } catch (CertificateException e) {
            return Long.MAX_VALUE; // keep what we cannot read rather than dropping trust silently
        }
    }

    @Override
    public boolean deleteBundle(String trustDomain) {
        return tx(
                c -> {
                    try (PreparedStatement ps =
                            c.prepareStatement("DELETE FROM bundles WHERE trust_domain = ?")) {
                        ps.setString(1, trustDomain);
                        return ps.executeUpdate() == 1;
                    }
                });
    }

    // ---------------------------------------------------------------- federation relationships

    private static FederationRelationship parseRelationship(byte[] data, String td) {
        try {
            return FederationRelationship.parseFrom(data);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new DataStoreException(
                    "federation relationship with \""
                            + td
                            + "\" in the datastore is corrupt: "
                            + e.getMessage(),
                    e);
        }
    }

    @Override
    public boolean createFederationRelationship(FederationRelationship r) {
        return tx(
                c -> {
                    try (PreparedStatement ps =
                            c.prepareStatement(
                                    "INSERT INTO federation_relationships (trust_domain, data) VALUES (?, ?) ON CONFLICT DO NOTHING")) {
                        ps.setString(1, r.getTrustDomain());
                        ps.setBytes(2, r.toByteArray());
                        return ps.executeUpdate() == 1;
                    }
                });
    }

    @Override
    public boolean updateFederationRelationship(FederationRelationship r) {
        return tx(
                c -> {
                    try (PreparedStatement ps =
                            c.prepareStatement(
                                    "UPDATE federation_relationships SET data = ? WHERE trust_domain = ?")) {
                        ps.setBytes(1, r.toByteArray());
                        ps.setString(2, r.getTrustDomain());
                        return ps.executeUpdate() == 1;
                    }
                });
    }

    @Override
    public Optional<FederationRelationship> fetchFederationRelationship(String trustDomain) {
        return tx(
                c -> {
                    try (PreparedStatement ps =
                            c.prepareStatement(
                                    "SELECT data FROM federation_relationships WHERE trust_domain = ?")) {
                        ps.setString(1, trustDomain);
                        try (ResultSet rs = ps.executeQuery()) {
                            return rs.next()
                                    ? Optional.of(parseRelationship(rs.getBytes(1), trustDomain))
                                    : Optional.<FederationRelationship>empty();
                        }
                    }
                });
    }

    @Override
    public List<FederationRelationship> listFederationRelationships() {
        return tx(
                c -> {
                    List<FederationRelationship> out = new ArrayList<>();
                    try (Statement s = c.createStatement();
                            ResultSet rs =
                                    s.executeQuery(
                                            "SELECT trust_domain, data FROM federation_relationships ORDER BY trust_domain")) {
                        while (rs.next()) {
                            out.add(parseRelationship(rs.getBytes(2), rs.getString(1)));
                        }
                    }
                    return out;
                });
    }

    @Override
    public boolean deleteFederationRelationship(String trustDomain) {
        return tx(
                c -> {
                    try (PreparedStatement ps =
                            c.prepareStatement(
                                    "DELETE FROM federation_relationships WHERE trust_domain = ?")) {
                        ps.setString(1, trustDomain);
                        return ps.executeUpdate() == 1;
                    }
                });
    }

    // ---------------------------------------------------------------- CA journal

    @Override
    public Optional<byte[]> fetchCaJournal(String journalId) {
        return tx(
                c -> {
                    try (PreparedStatement ps =
                            c.prepareStatement(
                                    "SELECT data FROM ca_journals WHERE journal_id = ?")) {
                        ps.setString(1, journalId);
                        try (ResultSet rs = ps.executeQuery()) {
                            return rs.next()
                                    ? Optional.of(rs.getBytes(1))
                                    : Optional.<byte[]>empty();
                        }
                    }
                });
    }

    @Override
    public void saveCaJournal(String journalId, byte[] data) {
        tx(
                c -> {
                    try (PreparedStatement ps =
                            c.prepareStatement(
                                    "INSERT INTO ca_journals (journal_id, data, updated_at) VALUES (?,?,?) "
                                            + "ON CONFLICT (journal_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at")) {
                        ps.setString(1, journalId);
                        ps.setBytes(2, data);
                        ps.setLong(3, clock.instant().getEpochSecond());
                        ps.executeUpdate();
                    }
                    return null;
                });
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        pool.close();
    }

    /** A DataSource over DriverManager, for Flyway (no pool needed for a one-off migration). */
    private static final class SimpleDataSource implements javax.sql.DataSource {
        private final String url;
        private final Properties props;

        SimpleDataSource(String url, Properties props) {
            this.url = url;
            this.props = props;
        }

        @Override
        public Connection getConnection() throws SQLException {
            return DriverManager.getConnection(url, props);
        }

        @Override
        public Connection getConnection(String u, String p) throws SQLException {
            return getConnection();
        }

        @Override
        public java.io.PrintWriter getLogWriter() {
            return null;
        }

        @Override
        public void setLogWriter(java.io.PrintWriter out) {}

        @Override
        public void setLoginTimeout(int seconds) {}

        @Override
        public int getLoginTimeout() {
            return 0;
        }

        @Override
        public java.util.logging.Logger getParentLogger() {
            return java.util.logging.Logger.getGlobal();
        }

        @Override
        public <T> T unwrap(Class<T> iface) throws SQLException {
            throw new SQLException("not a wrapper");
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) {
            return false;
        }
    }
}
