package io.mithril.server.datastore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteDataStoreTest extends DataStoreContract {

    @TempDir
    Path dir;
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
    void corruptFileIsRefusedWithItsName() throws Exception {
        Path bad = dir.resolve("corrupt.sqlite3");
        Files.write(bad, "this is not a database, just some text that is long enough to have a header.....".repeat(20).getBytes());
        assertThatThrownBy(() -> SqlDataStore.openSqlite(bad, Clock.systemUTC()))
                .isInstanceOf(DataStoreException.class)
                .hasMessageContaining(bad.toString());
    }
}
