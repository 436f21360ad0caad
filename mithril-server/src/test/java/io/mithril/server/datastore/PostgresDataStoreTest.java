package io.mithril.server.datastore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.server.testing.PostgresDatabases;
import java.time.Clock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The datastore contract on a real PostgreSQL server (initdb + pg_ctl on an ephemeral port). */
class PostgresDataStoreTest extends DataStoreContract {

    @RegisterExtension static final PostgresDatabases PG = new PostgresDatabases("t");
    SqlDataStore store;

    @BeforeEach
    void open() throws Exception {
        store = SqlDataStore.openPostgres(PG.create(), 4, Clock.systemUTC());
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
        try (SqlDataStore s = SqlDataStore.openPostgres(PG.server().dsn(), 1, Clock.systemUTC())) {
            assertThat(s.countEntries()).isGreaterThanOrEqualTo(0);
        }
    }

    @Test
    void unreachableDatabaseNamesHostAndDatabase() {
        assertThatThrownBy(
                        () ->
                                SqlDataStore.openPostgres(
                                        "dbname=nosuchdb user=postgres host=127.0.0.1 port="
                                                + PG.server().port(),
                                        1,
                                        Clock.systemUTC()))
                .isInstanceOf(DataStoreException.class)
                .hasMessageContaining("127.0.0.1:" + PG.server().port() + "/nosuchdb");
    }
}
