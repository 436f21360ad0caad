package io.mithril.server;

import io.mithril.server.ca.TrustBundle;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.spiffe.id.SpiffeId;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The identity server (what {@code spire-server run} is): one trust domain's CA, registration
 * entries, node attestation, the agent API (TCP, mTLS) and the admin API (Unix socket).
 *
 * <p>Start one with {@link #start(ServerConfig)}; the returned server is running when the call
 * returns: the datastore is migrated, the CA is minted (or reloaded from the key manager and the
 * CA journal), the agent API listens on {@link #agentApiAddress()} and the admin API on
 * {@link #adminSocketPath()}. {@link #close()} stops everything and releases the ports, sockets
 * and database connections; state on disk (datastore, keys) survives for the next start.
 *
 * <pre>{@code
 * ServerConfig cfg = ServerConfig.builder(TrustDomain.parse("example.org"), dataDir)
 *         .bindAddress("127.0.0.1").bindPort(0)
 *         .socketPath(dataDir.resolve("admin/api.sock"))
 *         .build();
 * try (IdentityServer server = IdentityServer.start(cfg)) {
 *     String token = server.generateJoinToken(Duration.ofMinutes(10), null);
 *     // an agent attests at server.agentApiAddress() with that token, trusting server.bundle()
 * }
 * }</pre>
 *
 * <p>Thread-safe: every method may be called from any thread.
 */
public final class IdentityServer implements AutoCloseable {

    private IdentityServer() {
    }

    /**
     * Starts a server.
     *
     * @throws ServerStartException when something named by the configuration is unusable (the
     *     message names the file, socket or port: a corrupt datastore, an unreadable key file, an
     *     upstream CA that is not a CA, a port in use)
     */
    public static IdentityServer start(ServerConfig config) throws ServerStartException {
        throw new UnsupportedOperationException("being written");
    }

    /** The agent API's bound address (the real port when the configuration asked for port 0). */
    public InetSocketAddress agentApiAddress() {
        throw new UnsupportedOperationException("being written");
    }

    /** The admin API's Unix socket. */
    public Path adminSocketPath() {
        throw new UnsupportedOperationException("being written");
    }

    /** The server's SPIFFE ID, {@code spiffe://<td>/spire/server}, presented on the agent API. */
    public SpiffeId serverId() {
        throw new UnsupportedOperationException("being written");
    }

    /**
     * The current bundle of the server's trust domain: the X.509 roots agents must trust
     * (including the next CA's roots once it is prepared) and the JWT signing keys.
     */
    public TrustBundle bundle() {
        throw new UnsupportedOperationException("being written");
    }

    /**
     * Generates a one-time join token, as {@code spire-server token generate} does. With an
     * alias, also registers {@code alias} as an entry parented by the agent ID the token will give
     * ({@code spiffe://<td>/spire/agent/join_token/<token>}), so workload entries can name the
     * alias as their parent.
     *
     * @param ttl how long the token may be used; null for the default (600s)
     * @param alias the node alias to register, or null
     * @return the token value (a UUID)
     */
    public String generateJoinToken(Duration ttl, SpiffeId alias) {
        throw new UnsupportedOperationException("being written");
    }

    /**
     * Creates a registration entry, as {@code spire-server entry create} does.
     *
     * @return the stored entry, with its ID and revision
     * @throws io.mithril.server.entry.InvalidEntryException when the entry is invalid or a duplicate
     */
    public RegistrationEntry createEntry(RegistrationEntry entry) {
        throw new UnsupportedOperationException("being written");
    }

    /** Stops the APIs and closes the datastore. Idempotent. */
    @Override
    public void close() {
    }
}
