package io.mithril.server.testing;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real PostgreSQL server for one test class ({@code @RegisterExtension static}), started before
 * its first test and stopped after its last, handing out a fresh database per call of {@link
 * #create()}. Skips the class when PostgreSQL is not installed (see {@link PostgresServer}).
 */
public final class PostgresDatabases implements BeforeAllCallback, AfterAllCallback {

    private final String prefix;
    private final AtomicInteger count = new AtomicInteger();
    private PostgresServer server;

    /**
     * @param prefix database names are {@code <prefix>1}, {@code <prefix>2} ...
     */
    public PostgresDatabases(String prefix) {
        this.prefix = prefix;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        server = PostgresServer.start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (server != null) {
            server.close();
        }
    }

    public PostgresServer server() {
        return server;
    }

    /** Creates a new empty database and returns its JDBC URL. */
    public String create() throws Exception {
        return server.createDatabase(prefix + count.incrementAndGet());
    }
}
