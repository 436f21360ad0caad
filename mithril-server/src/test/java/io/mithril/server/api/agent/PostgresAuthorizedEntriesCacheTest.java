package io.mithril.server.api.agent;

import io.mithril.server.datastore.DataStore;
import io.mithril.server.datastore.SqlDataStore;
import io.mithril.server.testing.PostgresDatabases;
import java.time.Clock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The cache on one real PostgreSQL database shared by two datastore instances (SPIRE's HA setup).
 */
class PostgresAuthorizedEntriesCacheTest extends AuthorizedEntriesCacheContract {

    @RegisterExtension static final PostgresDatabases PG = new PostgresDatabases("cache");
    String url;

    @BeforeEach
    void createDatabase() throws Exception {
        url = PG.create();
    }

    @Override
    DataStore open() {
        return SqlDataStore.openPostgres(url, 2, Clock.systemUTC());
    }
}
