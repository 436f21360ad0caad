package io.mithril.server.datastore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.server.testing.PostgresServer;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The datastore contract on a real PostgreSQL server (initdb + pg_ctl on an ephemeral port). */
class PostgresDataStoreTest extends DataStoreContract {

    static PostgresServer pg;
    static final AtomicInteger DB = new AtomicInteger();
    SqlDataStore store;

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
    void open() throws Exception {
        String url = pg.createDatabase("t" + DB.incrementAndGet());
        store = SqlDataStore.openPostgres(url, 4, Clock.systemUTC());
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
    void spireDsnConnectionStringWorks() {
        try (SqlDataStore s = SqlDataStore.openPostgres(pg.dsn(), 1, Clock.systemUTC())) {
            assertThat(s.countEntries()).isGreaterThanOrEqualTo(0);
        }
    }

    @Test
    void unreachableDatabaseNamesHostAndDatabase() {
        assertThatThrownBy(() -> SqlDataStore.openPostgres("dbname=nosuchdb user=postgres host=127.0.0.1 port=" + pg.port(), 1, Clock.systemUTC()))
                .isInstanceOf(DataStoreException.class).hasMessageContaining("127.0.0.1:" + pg.port() + "/nosuchdb");
    }
}
