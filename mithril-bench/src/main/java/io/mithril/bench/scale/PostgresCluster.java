package io.mithril.bench.scale;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A PostgreSQL cluster of the bench's own, as the datastore tests start one: {@code initdb} into a
 * temp dir, {@code pg_ctl start} on an ephemeral port of 127.0.0.1 with {@code pg_stat_statements}
 * preloaded (so the bench can count the statements the identity servers run), stopped and deleted
 * on {@link #close()}. Run as root, the cluster belongs to and runs as the {@code postgres} user
 * (PostgreSQL refuses root).
 */
public final class PostgresCluster implements AutoCloseable {

    private final Path bin;
    private final Path dir;
    private final int port;
    private final boolean asPostgresUser;

    private PostgresCluster(Path bin, Path dir, int port, boolean asPostgresUser) {
        this.bin = bin;
        this.dir = dir;
        this.port = port;
        this.asPostgresUser = asPostgresUser;
    }

    /**
     * The directory holding {@code initdb} and {@code pg_ctl}: /usr/lib/postgresql/N/bin (newest N)
     * or the PATH.
     */
    public static Optional<Path> findBin() {
        Path base = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(base)) {
            try (Stream<Path> s = Files.list(base)) {
                Optional<Path> best =
                        s.map(p -> p.resolve("bin"))
                                .filter(p -> Files.isExecutable(p.resolve("initdb")))
                                .max(
                                        Comparator.comparingInt(
                                                p ->
                                                        Integer.parseInt(
                                                                "0"
                                                                        + p.getParent()
                                                                                .getFileName()
                                                                                .toString()
                                                                                .replaceAll(
                                                                                        "\\D",
                                                                                        ""))));
                if (best.isPresent()) {
                    return best;
                }
            } catch (IOException | NumberFormatException ignored) {
                // fall through to PATH
            }
        }
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!d.isEmpty()
                    && Files.isExecutable(Path.of(d, "initdb"))
                    && Files.isExecutable(Path.of(d, "pg_ctl"))) {
                return Optional.of(Path.of(d));
            }
        }
        return Optional.empty();
    }

    /**
     * Creates and starts a cluster.
     *
     * @throws IOException when PostgreSQL is not installed (the message says what to install) or
     *     does not start
     */
    public static PostgresCluster start() throws IOException, InterruptedException {
        Path bin =
                findBin()
                        .orElseThrow(
                                () ->
                                        new IOException(
                                                "PostgreSQL (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin"
                                                        + " or on the PATH: install it (Debian: apt-get install postgresql)"));
        boolean root = "root".equals(System.getProperty("user.name"));
        Path dir = Files.createTempDirectory("mithril-bench-pg-");
        if (root) {
            UserPrincipalLookupService lookup = dir.getFileSystem().getUserPrincipalLookupService();
            Files.setOwner(dir, lookup.lookupPrincipalByName("postgres"));
            GroupPrincipal g = lookup.lookupPrincipalByGroupName("postgres");
            Files.getFileAttributeView(dir, PosixFileAttributeView.class).setGroup(g);
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        PostgresCluster pg = new PostgresCluster(bin, dir, port, root);
        try {
            pg.run(
                    bin.resolve("initdb").toString(),
                    "-D",
                    dir.resolve("data").toString(),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8");
            // max_connections: two servers' pools (SPIRE's default max_open_conns is unlimited;
            // ours 100) plus the bench.
            pg.run(
                    bin.resolve("pg_ctl").toString(),
                    "-D",
                    dir.resolve("data").toString(),
                    "-l",
                    dir.resolve("log").toString(),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    "-p "
                            + port
                            + " -k "
                            + dir
                            + " -c listen_addresses=127.0.0.1 -F -c max_connections=300"
                            + " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all",
                    "start");
            try (Connection c = pg.connect("postgres");
                    Statement s = c.createStatement()) {
                s.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            }
        } catch (IOException | SQLException | RuntimeException e) {
            pg.close();
            throw e instanceof IOException io
                    ? io
                    : new IOException("PostgreSQL did not start: " + e.getMessage(), e);
        }
        return pg;
    }

    private void run(String... cmd) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>();
        if (asPostgresUser) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(List.of(cmd));
        Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            String log =
                    Files.exists(dir.resolve("log")) ? Files.readString(dir.resolve("log")) : "";
            throw new IOException(String.join(" ", full) + " failed: " + out + log);
        }
    }

    public int port() {
        return port;
    }

    /** A JDBC connection to {@code database} as {@code postgres}. */
    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:" + port + "/" + database, "postgres", "");
    }

    /**
     * Creates a database and returns the SPIRE-style URL connection string the servers are given.
     */
    public String createDatabase(String name) throws SQLException {
        if (!name.matches("[a-z][a-z0-9_]*")) {
            throw new IllegalArgumentException("database name must be [a-z][a-z0-9_]*: " + name);
        }
        try (Connection c = connect("postgres");
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        }
        return "postgres://postgres@127.0.0.1:" + port + "/" + name + "?sslmode=disable";
    }

    /**
     * What PostgreSQL counted for one database so far: statements executed ({@code
     * pg_stat_statements}, the sum of {@code calls} over the database's statements, utility
     * statements such as BEGIN/COMMIT included) and transactions ({@code pg_stat_database}: commits
     * + rollbacks), with the statement texts by calls. Read from the {@code postgres} database, so
     * the reading itself is not counted against {@code database}.
     */
    public Counters counters(String database) throws SQLException {
        try (Connection c = connect("postgres");
                Statement s = c.createStatement()) {
            long xacts = 0;
            try (ResultSet rs =
                    s.executeQuery(
                            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '"
                                    + database
                                    + "'")) {
                if (rs.next()) {
                    xacts = rs.getLong(1);
                }
            }
            Map<String, Long> byQuery = new LinkedHashMap<>();
            try (ResultSet rs =
                    s.executeQuery(
                            "SELECT query, sum(calls) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
                                    + " WHERE d.datname = '"
                                    + database
                                    + "' GROUP BY query ORDER BY 2 DESC")) {
                while (rs.next()) {
                    byQuery.put(rs.getString(1), rs.getLong(2));
                }
            }
            return new Counters(xacts, byQuery);
        }
    }

    /**
     * Cumulative counts of one database.
     *
     * @param transactions commits + rollbacks ({@code pg_stat_database})
     * @param callsByStatement calls per normalised statement text ({@code pg_stat_statements})
     */
    public record Counters(long transactions, Map<String, Long> callsByStatement) {

        /** Every statement executed. */
        public long statements() {
            return callsByStatement.values().stream().mapToLong(Long::longValue).sum();
        }

        /**
         * Calls per statement since {@code before}, largest first, the statements that ran at all.
         */
        public Map<String, Long> since(Counters before) {
            Map<String, Long> out = new LinkedHashMap<>();
            callsByStatement.entrySet().stream()
                    .map(
                            e ->
                                    Map.entry(
                                            e.getKey(),
                                            e.getValue()
                                                    - before.callsByStatement.getOrDefault(
                                                            e.getKey(), 0L)))
                    .filter(e -> e.getValue() > 0)
                    .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                    .forEach(e -> out.put(e.getKey(), e.getValue()));
            return out;
        }
    }

    @Override
    public void close() {
        try {
            if (Files.exists(dir.resolve("data/postmaster.pid"))) {
                run(
                        bin.resolve("pg_ctl").toString(),
                        "-D",
                        dir.resolve("data").toString(),
                        "-m",
                        "immediate",
                        "-w",
                        "stop");
            }
        } catch (IOException e) {
            System.err.println("stopping PostgreSQL in " + dir + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // temp dir; best effort
            }
        }
    }
}
