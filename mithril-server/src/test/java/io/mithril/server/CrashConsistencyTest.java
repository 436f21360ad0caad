package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.api.admin.BatchCreateEntryRequest;
import io.mithril.api.types.Entry;
import io.mithril.api.types.Selector;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.testing.ServerMain;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kill -9 in the middle of admin writes never leaves half an entry, and the server starts again. */
class CrashConsistencyTest {

    @TempDir
    Path dir;

    @Test
    void killDashNineDuringEntryWritesLeavesOnlyWholeEntries() throws Exception {
        Path conf = dir.resolve("server.conf");
        Files.writeString(conf, """
                server { bind_address = "127.0.0.1" bind_port = 0 trust_domain = "example.org"
                         data_dir = "%s" socket_path = "%s" }
                plugins { DataStore "sql" { plugin_data { database_type = "sqlite3" } }
                          KeyManager "disk" { plugin_data { keys_path = "%s" } }
                          NodeAttestor "join_token" { plugin_data {} } }
                """.formatted(dir.resolve("data"), dir.resolve("private/api.sock"), dir.resolve("data/keys.json")));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                ServerMain.class.getName(), conf.toString()).redirectErrorStream(true).start();
        AtomicInteger created = new AtomicInteger();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()));
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("READY")) {
                // server log lines until it is ready
            }
            assertThat(line).as("server did not start").isNotNull();
            AtomicBoolean stop = new AtomicBoolean();
            Thread writer = new Thread(() -> {
                try (AdminClient admin = AdminClient.connect(dir.resolve("private/api.sock"))) {
                    for (int batch = 0; !stop.get(); batch++) {
                        BatchCreateEntryRequest.Builder req = BatchCreateEntryRequest.newBuilder();
                        for (int i = 0; i < 20; i++) {
                            req.addEntries(Entry.newBuilder().setSpiffeId("spiffe://example.org/w/" + batch + "/" + i)
                                    .setParentId("spiffe://example.org/node")
                                    .addSelectors(Selector.newBuilder().setType("unix").setValue("uid:" + i))
                                    .addSelectors(Selector.newBuilder().setType("unix").setValue("gid:" + i))
                                    .addSelectors(Selector.newBuilder().setType("unix").setValue("path:/bin/w" + batch)));
                        }
                        created.addAndGet(admin.admin().batchCreateEntry(req.build()).getResultsCount());
                    }
                } catch (RuntimeException expected) {
                    // the server was killed under us
                }
            });
            writer.start();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (created.get() < 200 && System.nanoTime() < until) {
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
        assertThat(created.get()).isGreaterThan(0);

        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("data/datastore.sqlite3"));
             Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("PRAGMA integrity_check")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("ok");
            }
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM registered_entries e WHERE "
                    + "(SELECT COUNT(*) FROM selectors s WHERE s.entry_id = e.entry_id) <> 3")) {
                rs.next();
                assertThat(rs.getInt(1)).as("entries without all their selectors").isZero();
            }
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM selectors s WHERE NOT EXISTS "
                    + "(SELECT 1 FROM registered_entries e WHERE e.entry_id = s.entry_id)")) {
                rs.next();
                assertThat(rs.getInt(1)).as("orphan selectors").isZero();
            }
        }
        // and the server starts again on what is left, with the same CA
        try (IdentityServer again = IdentityServer.start(io.mithril.server.testing.ServerFixture.config(dir.resolve("data"), Clock.systemUTC())
                .socketPath(dir.resolve("private/api.sock")).keyManager(new io.mithril.server.config.ServerConfig.KeyManagerConfig("disk",
                        dir.resolve("data/keys.json"))).build())) {
            long stored = again.dataStore().countEntries();
            assertThat(stored).isGreaterThanOrEqualTo(created.get());
            List<RegistrationEntry> all = again.dataStore().listEntries(io.mithril.server.datastore.EntryFilter.ALL);
            assertThat(all).allSatisfy(e -> assertThat(e.selectors()).hasSize(3));
        }
    }
}
