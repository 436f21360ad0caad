package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.mithril.api.admin.BatchCreateEntryRequest;
import io.mithril.api.admin.CountEntriesRequest;
import io.mithril.api.admin.GetBundleRequest;
import io.mithril.api.admin.ListEntriesRequest;
import io.mithril.api.types.Entry;
import io.mithril.api.types.Selector;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.testing.PostgresServer;
import io.mithril.server.testing.ServerMain;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 in the middle of admin writes never leaves half an entry, every acknowledged entry is
 * there after a restart, and the CA survives (its authorities are still in the bundle, so SVIDs
 * issued before the crash still validate). For SQLite and for a real PostgreSQL server.
 */
class CrashConsistencyTest {

    @TempDir Path dir;

    private Path writeConf(String dataStore) throws Exception {
        Path conf = dir.resolve("server.conf");
        Files.writeString(
                conf,
                """
                server { bind_address = "127.0.0.1" bind_port = 0 trust_domain = "example.org"
                         data_dir = "%s" socket_path = "%s" }
                plugins { DataStore "sql" { plugin_data { %s } }
                          KeyManager "disk" { plugin_data { keys_path = "%s" } }
                          NodeAttestor "join_token" { plugin_data {} } }
                """
                        .formatted(
                                dir.resolve("data"),
                                dir.resolve("private/api.sock"),
                                dataStore,
                                dir.resolve("data/keys.json")));
        return conf;
    }

    private static Process startServer(Path conf) throws Exception {
        Process p =
                new ProcessBuilder(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-cp",
                                System.getProperty(
                                        "surefire.test.class.path",
                                        System.getProperty("java.class.path")),
                                ServerMain.class.getName(),
                                conf.toString())
                        .redirectErrorStream(true)
                        .start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()));
        String line;
        while ((line = out.readLine()) != null && !line.startsWith("READY")) {
            // server log lines until it is ready
        }
        assertThat(line).as("server did not start").isNotNull();
        Thread drain =
                new Thread(
                        () -> {
                            try {
                                out.transferTo(java.io.Writer.nullWriter());
                            } catch (java.io.IOException ignored) {
                                // the process went away
                            }
                        });
        drain.setDaemon(true);
        drain.start();
        return p;
    }

    /**
     * Starts the server, writes entries until it is killed with SIGKILL mid-write, restarts it and
     * checks what it kept.
     */
    private void killDuringWritesAndRestart(Path conf, JdbcCheck check) throws Exception {
        Process p = startServer(conf);
        AtomicInteger acknowledged = new AtomicInteger();
        List<ByteString> authoritiesBefore;
        try {
            try (AdminClient admin = AdminClient.connect(dir.resolve("private/api.sock"))) {
                authoritiesBefore =
                        admin.admin()
                                .getBundle(GetBundleRequest.getDefaultInstance())
                                .getX509AuthoritiesList();
            }
            assertThat(authoritiesBefore).isNotEmpty();
            AtomicBoolean stop = new AtomicBoolean();
            Thread writer =
                    new Thread(
                            () -> {
                                try (AdminClient admin =
                                        AdminClient.connect(dir.resolve("private/api.sock"))) {
                                    for (int batch = 0; !stop.get(); batch++) {
                                        BatchCreateEntryRequest.Builder req =
                                                BatchCreateEntryRequest.newBuilder();
                                        for (int i = 0; i < 20; i++) {
                                            req.addEntries(
                                                    Entry.newBuilder()
                                                            .setSpiffeId(
                                                                    "spiffe://example.org/w/"
                                                                            + batch
                                                                            + "/"
                                                                            + i)
                                                            .setParentId(
                                                                    "spiffe://example.org/node")
                                                            .addSelectors(
                                                                    Selector.newBuilder()
                                                                            .setType("unix")
                                                                            .setValue("uid:" + i))
                                                            .addSelectors(
                                                                    Selector.newBuilder()
                                                                            .setType("unix")
                                                                            .setValue("gid:" + i))
                                                            .addSelectors(
                                                                    Selector.newBuilder()
                                                                            .setType("unix")
                                                                            .setValue(
                                                                                    "path:/bin/w"
                                                                                            + batch)));
                                        }
                                        acknowledged.addAndGet(
                                                admin.admin()
                                                        .batchCreateEntry(req.build())
                                                        .getResultsCount());
                                    }
                                } catch (RuntimeException expected) {
                                    // the server was killed under us
                                }
                            });
            writer.start();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (acknowledged.get() < 200 && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            p.destroyForcibly(); // SIGKILL, mid-write
            p.waitFor(20, TimeUnit.SECONDS);
            stop.set(true);
            writer.join(20_000);
        } finally {
            p.destroyForcibly();
            p.waitFor(20, TimeUnit.SECONDS);
        }
        assertThat(acknowledged.get()).isGreaterThan(0);

        try (Statement s = check.connect().createStatement()) {
            try (ResultSet rs =
                    s.executeQuery(
                            "SELECT COUNT(*) FROM registered_entries e WHERE "
                                    + "(SELECT COUNT(*) FROM selectors s WHERE s.entry_id = e.entry_id) <> 3")) {
                rs.next();
                assertThat(rs.getInt(1)).as("entries without all their selectors").isZero();
            }
            try (ResultSet rs =
                    s.executeQuery(
                            "SELECT COUNT(*) FROM selectors s WHERE NOT EXISTS "
                                    + "(SELECT 1 FROM registered_entries e WHERE e.entry_id = s.entry_id)")) {
                rs.next();
                assertThat(rs.getInt(1)).as("orphan selectors").isZero();
            }
            check.extra(s);
        }

        // The server starts again on what is left: every acknowledged entry, whole, and the same
        // CA.
        Process again = startServer(conf);
        try (AdminClient admin = AdminClient.connect(dir.resolve("private/api.sock"))) {
            long stored =
                    admin.admin().countEntries(CountEntriesRequest.getDefaultInstance()).getCount();
            System.out.printf(
                    "kill -9 mid-write: %d entries acknowledged, %d stored after restart%n",
                    acknowledged.get(), stored);
            assertThat(stored)
                    .as("acknowledged %d entries", acknowledged.get())
                    .isGreaterThanOrEqualTo(acknowledged.get());
            List<Entry> all =
                    admin.admin()
                            .listEntries(ListEntriesRequest.getDefaultInstance())
                            .getEntriesList();
            assertThat(all).allSatisfy(e -> assertThat(e.getSelectorsList()).hasSize(3));
            assertThat(
                            admin.admin()
                                    .getBundle(GetBundleRequest.getDefaultInstance())
                                    .getX509AuthoritiesList())
                    .as("the CA's authorities before the crash are still trusted")
                    .containsAll(authoritiesBefore);
        } finally {
            again.destroy();
            again.waitFor(20, TimeUnit.SECONDS);
        }
    }

    private interface JdbcCheck {
        Connection connect() throws Exception;

        default void extra(Statement s) throws Exception {}
    }

    @Test
    void killDashNineDuringEntryWritesOnSqliteKeepsEveryAcknowledgedEntryWholeAndTheCa()
            throws Exception {
        Path conf = writeConf("database_type = \"sqlite3\"");
        killDuringWritesAndRestart(
                conf,
                new JdbcCheck() {
                    @Override
                    public Connection connect() throws Exception {
                        return DriverManager.getConnection(
                                "jdbc:sqlite:" + dir.resolve("data/datastore.sqlite3"));
                    }

                    @Override
                    public void extra(Statement s) throws Exception {
                        try (ResultSet rs = s.executeQuery("PRAGMA integrity_check")) {
                            rs.next();
                            assertThat(rs.getString(1)).isEqualTo("ok");
                        }
                    }
                });
    }

    @Test
    void killDashNineDuringEntryWritesOnPostgresKeepsEveryAcknowledgedEntryWholeAndTheCa()
            throws Exception {
        try (PostgresServer pg = PostgresServer.start()) {
            String url = pg.createDatabase("crash");
            Path conf =
                    writeConf("database_type = \"postgres\" connection_string = \"" + url + "\"");
            killDuringWritesAndRestart(
                    conf,
                    () ->
                            DriverManager.getConnection(
                                    "jdbc:postgresql://127.0.0.1:"
                                            + pg.port()
                                            + "/crash?user=postgres&sslmode=disable"));
        }
    }
}
