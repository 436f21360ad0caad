package io.mithril.server.testing;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A real PostgreSQL server for one test: {@code initdb} into a temp dir, {@code pg_ctl start} on an
 * ephemeral port on 127.0.0.1, {@code pg_ctl stop} and delete on {@link #close()}. When run as root
 * the cluster is owned by and runs as the {@code postgres} user (PostgreSQL refuses root). Aborts
 * the test (skipped, with the reason) only when no PostgreSQL binaries are installed.
 */
public final class PostgresServer implements AutoCloseable {

    private final Path bin;
    private final Path dir;
    private final int port;
    private final boolean asPostgresUser;

    private PostgresServer(Path bin, Path dir, int port, boolean asPostgresUser) {
        this.bin = bin;
        this.dir = dir;
        this.port = port;
        this.asPostgresUser = asPostgresUser;
    }

    /** Finds {@code initdb} under /usr/lib/postgresql/N/bin (newest) or on the PATH. */
    static Path findBin() {
        Path base = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(base)) {
            try (Stream<Path> s = Files.list(base)) {
                Path best =
                        s.map(p -> p.resolve("bin"))
                                .filter(p -> Files.isExecutable(p.resolve("initdb")))
                                .max(
                                        Comparator.comparing(
                                                p ->
                                                        Integer.parseInt(
                                                                p.getParent()
                                                                        .getFileName()
                                                                        .toString()
                                                                        .replaceAll("\\D", "0"))))
                                .orElse(null);
                if (best != null) {
                    return best;
                }
            } catch (IOException ignored) {
                // fall through to PATH
            }
        }
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!d.isEmpty()
                    && Files.isExecutable(Path.of(d, "initdb"))
                    && Files.isExecutable(Path.of(d, "pg_ctl"))) {
                return Path.of(d);
            }
        }
        return null;
    }

    public static PostgresServer start() throws IOException, InterruptedException {
        Path bin = findBin();
        Assumptions.assumeTrue(
                bin != null,
                "PostgreSQL binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin or on PATH: "
                        + "install postgresql to run the PostgreSQL datastore tests");
        boolean root = "root".equals(System.getProperty("user.name"));
        Path dir = Files.createTempDirectory("mithril-pg-");
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
        PostgresServer pg = new PostgresServer(bin, dir, port, root);
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
            pg.startAgain();
        } catch (IOException | RuntimeException e) {
            pg.close();
            throw e;
        }
        return pg;
    }

    /**
     * Starts the cluster (again, after {@link #stop()}) on the same port; returns once it accepts
     * connections.
     */
    public void startAgain() throws IOException, InterruptedException {
        run(
                bin.resolve("pg_ctl").toString(),
                "-D",
                dir.resolve("data").toString(),
                "-l",
                dir.resolve("log").toString(),
                "-w",
                "-t",
                "60",
                "-o",
                "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -F",
                "start");
    }

    /**
     * Stops the cluster as an operator's restart does ({@code pg_ctl stop -m fast}: open sessions
     * are ended, open transactions rolled back); returns once it is down.
     */
    public void stop() throws IOException, InterruptedException {
        run(
                bin.resolve("pg_ctl").toString(),
                "-D",
                dir.resolve("data").toString(),
                "-m",
                "fast",
                "-w",
                "stop");
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

    /** A SPIRE-style DSN for the {@code postgres} database. */
    public String dsn() {
        return "dbname=postgres user=postgres host=127.0.0.1 port=" + port + " sslmode=disable";
    }

    /** Creates a database and returns a SPIRE-style URL connection string for it. */
    public String createDatabase(String name) throws IOException, InterruptedException {
        run(
                bin.resolve("psql").toString(),
                "-h",
                "127.0.0.1",
                "-p",
                Integer.toString(port),
                "-U",
                "postgres",
                "-c",
                "CREATE DATABASE " + name);
        return "postgres://postgres@127.0.0.1:" + port + "/" + name + "?sslmode=disable";
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
        } catch (IOException | InterruptedException e) {
            System.err.println("stopping PostgreSQL in " + dir + ": " + e.getMessage());
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // temp dir; best effort
            }
        }
    }
}
