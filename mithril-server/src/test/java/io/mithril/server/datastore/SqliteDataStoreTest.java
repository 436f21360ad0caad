package io.mithril.server.datastore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteDataStoreTest extends DataStoreContract {

    @TempDir Path dir;
    SqlDataStore store;

    @BeforeEach
    void open() {
        store = SqlDataStore.openSqlite(dir.resolve("datastore.sqlite3"), Clock.systemUTC());
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Override
    DataStore store() {
        return store;
    }

    @Test
    void entriesSurviveReopening() {
        String id = store.createEntry(entry("/a", "unix:uid:1")).id();
        store.close();
        store = SqlDataStore.openSqlite(dir.resolve("datastore.sqlite3"), Clock.systemUTC());
        assertThat(store.fetchEntry(id)).isPresent();
    }

    @Test
    void joinTokensStoredInClearByAnOlderVersionStillWorkAfterTheUpgradeAndAreNoLongerInTheFile()
            throws Exception {
        store.close();
        Path old = dir.resolve("v2.sqlite3");
        String url = "jdbc:sqlite:" + old;
        Flyway.configure()
                .dataSource(url, null, null)
                .locations("classpath:db/migration/sqlite")
                .table("mithril_schema_history")
                .target("2")
                .load()
                .migrate();
        try (Connection c = DriverManager.getConnection(url);
                Statement s = c.createStatement()) {
            s.executeUpdate(
                    "INSERT INTO join_tokens (token, expires_at) VALUES ('0c9f3cf5-old-token', 1000)");
        }

        store = SqlDataStore.openSqlite(old, Clock.systemUTC());
        store.close();
        assertThat(new String(Files.readAllBytes(old), StandardCharsets.ISO_8859_1))
                .doesNotContain("0c9f3cf5-old-token")
                .contains(JoinToken.hash("0c9f3cf5-old-token"));
        store = SqlDataStore.openSqlite(old, Clock.systemUTC());
        assertThat(store.consumeJoinToken("0c9f3cf5-old-token"))
                .contains(new JoinToken("0c9f3cf5-old-token", 1000));
    }

    @Test
    void corruptFileIsRefusedWithItsName() throws Exception {
        Path bad = dir.resolve("corrupt.sqlite3");
        Files.write(
                bad,
                "this is not a database, just some text that is long enough to have a header....."
                        .repeat(20)
                        .getBytes());
        assertThatThrownBy(() -> SqlDataStore.openSqlite(bad, Clock.systemUTC()))
                .isInstanceOf(DataStoreException.class)
                .hasMessageContaining(bad.toString());
    }
}
