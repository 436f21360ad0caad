package io.mithril.server.api.agent;

import io.mithril.server.datastore.DataStore;
import io.mithril.server.datastore.SqlDataStore;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.io.TempDir;

/** The cache on one SQLite file opened twice (two servers, or a server and another process). */
class SqliteAuthorizedEntriesCacheTest extends AuthorizedEntriesCacheContract {

    @TempDir Path dir;

    @Override
    DataStore open() {
        return SqlDataStore.openSqlite(dir.resolve("datastore.sqlite3"), Clock.systemUTC());
    }
}
