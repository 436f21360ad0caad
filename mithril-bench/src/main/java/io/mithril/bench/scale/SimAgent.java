package io.mithril.bench.scale;

import io.grpc.StatusException;
import io.mithril.agent.attestor.node.JoinTokenAttestor;
import io.mithril.agent.attestor.node.NodeAttestationException;
import io.mithril.agent.cache.CachedSvid;
import io.mithril.agent.cache.RegistrationEntry;
import io.mithril.agent.client.AgentApiClient;
import io.mithril.pki.Csr;
import io.mithril.pki.KeyType;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One simulated node agent of the {@code scale} bench: a real agent-API client ({@link
 * AgentApiClient}, mTLS with its own agent SVID) that attests with its own join token and syncs as
 * the node agent's {@code SyncManager} does: renew the agent SVID at half life, fetch the bundle,
 * fetch the authorised entries, and have X.509-SVIDs signed (batches of 100 CSRs) for the entries
 * it holds none for or whose SVID reached its rotation time (half life from receipt, jittered,
 * {@link CachedSvid#rotationTimeFromReceipt}). What it leaves out is what happens on the node: no
 * Workload API, no workload attestation, no files; and one key pair per agent signs the CSRs of all
 * its workload SVIDs (a real agent makes one per SVID) to spare the bench's CPU, which the server
 * shares. Each SVID is still its own certificate, with its own serial and SPIFFE ID.
 *
 * <p>Not thread-safe for syncing: one sync at a time per agent (the fleet schedules it so); {@link
 * #holdsValidSvids} may be called from any thread.
 */
public final class SimAgent implements AutoCloseable {

    /** An SVID the agent holds for an entry. */
    public record Held(String entryId, SpiffeId spiffeId, X509Certificate leaf, Instant rotateAt) {}

    /** Told of each workload SVID the agent receives, right when it arrives. */
    public interface Receipts {
        void received(SimAgent agent, String entryId, X509Certificate leaf, long nanoTime);
    }

    /** What one sync did. */
    public record SyncResult(int calls, int svidsReceived, boolean agentRenewed) {}

    static final int BATCH = 100;

    /**
     * The simulated agents' TLS: BoringSSL when netty-tcnative loads (the server's is on the
     * bench's class path), else the JDK's, which the node agent uses. Thousands of agents share the
     * server's cores here; with the JDK's EC handshakes, the bench, not the server, set the pace of
     * an attestation burst.
     */
    static final SslProvider TLS = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;

    private final int index;
    private final InetSocketAddress server;
    private final TrustDomain td;
    private final Clock clock;
    private final KeyPair workloadKey = KeyType.EC_P256.generate();
    private final Map<String, Held> svids = new ConcurrentHashMap<>();
    private volatile List<X509Certificate> roots;
    private volatile List<X509Certificate> agentChain;
    private KeyPair agentKey;
    private AgentApiClient client;
    private Instant agentRenewAt;

    public SimAgent(
            int index,
            InetSocketAddress server,
            TrustDomain td,
            List<X509Certificate> roots,
            Clock clock) {
        this.index = index;
        this.server = server;
        this.td = td;
        this.roots = List.copyOf(roots);
        this.clock = clock;
    }

    public int index() {
        return index;
    }

    /** The agent's ID, once attested. */
    public SpiffeId agentId() {
        List<X509Certificate> chain = agentChain;
        if (chain == null) {
            throw new IllegalStateException("agent " + index + " is not attested");
        }
        return io.mithril.pki.Certificates.spiffeId(chain.get(0)).orElseThrow();
    }

    /** The agent's own SVID (leaf first), or null before attestation. */
    public List<X509Certificate> agentSvid() {
        return agentChain;
    }

    /**
     * Attests with a join token (a fresh agent key, a CSR, {@code AttestAgent}) and opens the mTLS
     * client.
     */
    public void attest(String joinToken) throws NodeAttestationException {
        KeyPair key = KeyType.EC_P256.generate();
        AgentApiClient.AttestResult r =
                AgentApiClient.attest(
                        server,
                        td,
                        roots,
                        new JoinTokenAttestor(joinToken),
                        Csr.create(key, null, List.of()),
                        TLS);
        roots = List.copyOf(r.bundle().x509Authorities());
        useAgentSvid(key, r.svidChain());
    }

    private void useAgentSvid(KeyPair key, List<X509Certificate> chain) {
        AgentApiClient old = client;
        agentKey = key;
        agentChain = List.copyOf(chain);
        X509Certificate leaf = chain.get(0);
        // The node agent renews at half life (AgentIdentity.renewIfDue).
        Instant nb = leaf.getNotBefore().toInstant();
        agentRenewAt = nb.plus(Duration.between(nb, leaf.getNotAfter().toInstant()).dividedBy(2));
        client = AgentApiClient.connect(server, td, () -> roots, key.getPrivate(), agentChain, TLS);
        if (old != null) {
            old.close();
        }
    }

    /**
     * One sync. {@code receipts} hears of every SVID received.
     *
     * @throws StatusException when the server cannot be reached or refuses; what the agent holds is
     *     kept
     */
    public SyncResult sync(Receipts receipts) throws StatusException {
        int calls = 0;
        boolean renewed = false;
        if (!clock.instant().isBefore(agentRenewAt)) {
            KeyPair key = KeyType.EC_P256.generate();
            List<X509Certificate> chain = client.renewAgent(Csr.create(key, null, List.of()));
            calls++;
            useAgentSvid(key, chain);
            renewed = true;
        }
        AgentApiClient.Bundles bundles = client.fetchBundles();
        calls++;
        roots = List.copyOf(bundles.bundle().x509Authorities());
        List<RegistrationEntry> entries = client.authorizedEntries();
        calls++;
        Instant now = clock.instant();
        Set<String> authorised = new HashSet<>();
        List<RegistrationEntry> needing = new ArrayList<>();
        for (RegistrationEntry e : entries) {
            authorised.add(e.id());
            Held h = svids.get(e.id());
            if (h == null || !now.isBefore(h.rotateAt()) || !h.spiffeId().equals(e.spiffeId())) {
                needing.add(e);
            }
        }
        svids.keySet().retainAll(authorised);
        int received = 0;
        for (int i = 0; i < needing.size(); i += BATCH) {
            List<RegistrationEntry> batch = needing.subList(i, Math.min(needing.size(), i + BATCH));
            Map<String, byte[]> csrs = new LinkedHashMap<>();
            Map<String, RegistrationEntry> byId = new LinkedHashMap<>();
            for (RegistrationEntry e : batch) {
                csrs.put(e.id(), Csr.create(workloadKey, e.spiffeId(), e.dnsNames()));
                byId.put(e.id(), e);
            }
            List<AgentApiClient.SvidResult> results = client.batchNewX509Svid(csrs);
            calls++;
            long at = System.nanoTime();
            Instant receivedAt = clock.instant();
            for (AgentApiClient.SvidResult r : results) {
                if (r.error() != null) {
                    continue; // refused (e.g. the entry was deleted meanwhile): asked again next
                    // sync if still authorised
                }
                X509Certificate leaf = r.chain().get(0);
                Instant rotateAt =
                        CachedSvid.rotationTimeFromReceipt(
                                leaf.getNotBefore().toInstant(),
                                receivedAt,
                                leaf.getNotAfter().toInstant(),
                                ThreadLocalRandom.current().nextDouble());
                svids.put(
                        r.entryId(),
                        new Held(r.entryId(), byId.get(r.entryId()).spiffeId(), leaf, rotateAt));
                received++;
                receipts.received(this, r.entryId(), leaf, at);
            }
        }
        return new SyncResult(calls, received, renewed);
    }

    /** The workload SVIDs held now, by entry ID. */
    public Map<String, Held> held() {
        return Map.copyOf(svids);
    }

    /**
     * Whether, at {@code now}, the agent's own SVID is valid and it holds a valid X.509-SVID for
     * each of {@code entryIds}.
     */
    public boolean holdsValidSvids(Instant now, Set<String> entryIds) {
        List<X509Certificate> chain = agentChain;
        if (chain == null || !valid(chain.get(0), now)) {
            return false;
        }
        for (String id : entryIds) {
            Held h = svids.get(id);
            if (h == null || !valid(h.leaf(), now)) {
                return false;
            }
        }
        return true;
    }

    private static boolean valid(X509Certificate c, Instant now) {
        return !now.isBefore(c.getNotBefore().toInstant())
                && now.isBefore(c.getNotAfter().toInstant());
    }

    @Override
    public void close() {
        if (client != null) {
            client.close();
        }
    }
}
