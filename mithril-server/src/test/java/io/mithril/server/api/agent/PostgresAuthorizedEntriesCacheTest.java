package io.mithril.server.api.agent;

import io.mithril.server.datastore.DataStore;
import io.mithril.server.datastore.SqlDataStore;
import io.mithril.server.testing.PostgresServer;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/** The cache on one real PostgreSQL database shared by two datastore instances (SPIRE's HA setup). */
class PostgresAuthorizedEntriesCacheTest extends AuthorizedEntriesCacheContract {

    static PostgresServer pg;
    static final AtomicInteger DB = new AtomicInteger();
    String url;

    @BeforeAll
    static void startPostgres() throws Exception {
        pg = PostgresServer.start();
    }

    @AfterAll
    static void stopPostgres() {
        if (pg != null) {
            pg.close();
        }
    }

    @BeforeEach
    void createDatabase() throws Exception {
        url = pg.createDatabase("cache" + DB.incrementAndGet());
    }

    @Override
    DataStore open() {
        return SqlDataStore.openPostgres(url, 2, Clock.systemUTC());
    }
}
