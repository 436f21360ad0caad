package io.mithril.agent.sync;

import io.grpc.StatusException;
import io.mithril.agent.AgentStartException;
import io.mithril.agent.attestor.node.JoinTokenAttestor;
import io.mithril.agent.attestor.node.NodeAttestationException;
import io.mithril.agent.attestor.node.NodeAttestor;
import io.mithril.agent.cache.CachedSvid;
import io.mithril.agent.client.AgentApiClient;
import io.mithril.agent.fs.TrustedDirectory;
import io.mithril.agent.keymanager.KeyManager;
import io.mithril.pki.Certificates;
import io.mithril.pki.CryptoProvider;
import io.mithril.pki.Csr;
import io.mithril.pki.KeyType;
import io.mithril.pki.Pem;
import io.mithril.pki.PkiException;
import io.mithril.spiffe.bundle.SpiffeBundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's own identity: its agent SVID and key, and the client of the server that presents
 * them. The SVID ({@code agent_svid.der}) and the latest bundle ({@code bundle.der}) are kept in
 * the data directory (0600) and the key by the {@link KeyManager}, so a restarted agent reuses its
 * SVID instead of attesting again. The SVID is renewed (with a new key) at half its life.
 */
public final class AgentIdentity implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AgentIdentity.class);

    /** The agent SVID chain (DER, leaf first) in the data directory. */
    public static final String SVID_FILE = "agent_svid.der";

    /** The last trust bundle received (DER roots) in the data directory. */
    public static final String BUNDLE_FILE = "bundle.der";

    private final InetSocketAddress server;
    private final TrustDomain trustDomain;
    private final Path dataDir;
    private final KeyManager keyManager;
    private final Clock clock;
    private volatile List<X509Certificate> roots;
    private volatile List<X509Certificate> chain;
    private volatile PrivateKey key;
    private volatile Instant renewAt;
    private volatile AgentApiClient client;
    private volatile NodeAttestor attestor;

    private AgentIdentity(
            InetSocketAddress server,
            TrustDomain td,
            Path dataDir,
            KeyManager keyManager,
            Clock clock) {
        this.server = server;
        this.trustDomain = td;
        this.dataDir = dataDir;
        this.keyManager = keyManager;
        this.clock = clock;
    }

    /**
     * Gets the agent an identity: reuses the SVID and key kept from a previous run when they are
     * still valid, or else attests with {@code attestor}.
     *
     * @param bootstrapRoots roots to verify the server with at first attestation, or null for
     *     insecure bootstrap (the caller warns); roots kept in the data directory take precedence
     * @param attestor the node attestor, or null when none can be built (no join token)
     * @throws AgentStartException when no identity can be had, saying why
     */
    public static AgentIdentity obtain(
            InetSocketAddress server,
            TrustDomain td,
            Path dataDir,
            KeyManager keyManager,
            List<X509Certificate> bootstrapRoots,
            NodeAttestor attestor,
            Clock clock)
            throws AgentStartException {
        AgentIdentity id = new AgentIdentity(server, td, dataDir, keyManager, clock);
        try {
            TrustedDirectory.owned(dataDir, "data_dir");
        } catch (IOException e) {
            throw new AgentStartException(
                    e.getMessage().startsWith("data_dir")
                            ? e.getMessage()
                            : "cannot create data_dir " + dataDir + ": " + e.getMessage(),
                    e);
        }
        Path bundleFile = dataDir.resolve(BUNDLE_FILE);
        List<X509Certificate> roots = bootstrapRoots;
        if (Files.exists(bundleFile)) {
            try {
                roots = Certificates.parseDer(Files.readAllBytes(bundleFile));
                log.info(
                        "Using the trust bundle kept in {} ({} roots) to verify the server",
                        bundleFile,
                        roots.size());
            } catch (IOException | RuntimeException e) {
                log.warn("Ignoring unreadable trust bundle {}: {}", bundleFile, e.toString());
            }
        }
        id.roots = roots;
        id.attestor = attestor;
        if (id.reuse()) {
            return id;
        }
        if (attestor == null) {
            throw new AgentStartException(
                    "the agent has no valid SVID in "
                            + dataDir
                            + " and no join token to attest with: pass -joinToken <token> (from `mithril server token generate`)"
                            + " or set join_token in the agent block");
        }
        id.attest(attestor);
        return id;
    }

    private boolean reuse() throws AgentStartException {
        Path svidFile = dataDir.resolve(SVID_FILE);
        if (!Files.exists(svidFile) || roots == null) {
            return false;
        }
        Optional<PrivateKey> storedKey;
        List<X509Certificate> storedChain;
        try {
            storedKey = keyManager.loadAgentKey();
            storedChain = Certificates.parseDer(Files.readAllBytes(svidFile));
        } catch (IOException | RuntimeException e) {
            log.warn(
                    "Cannot reuse the agent SVID in {} ({}); attesting again",
                    svidFile,
                    e.getMessage());
            return false;
        }
        if (storedKey.isEmpty() || storedChain.isEmpty()) {
            return false;
        }
        X509Certificate leaf = storedChain.get(0);
        Optional<SpiffeId> sid = Certificates.spiffeId(leaf);
        if (sid.isEmpty() || !sid.get().memberOf(trustDomain)) {
            log.warn(
                    "The agent SVID in {} is not of trust domain {}; attesting again",
                    svidFile,
                    trustDomain.name());
            return false;
        }
        if (!clock.instant().isBefore(leaf.getNotAfter().toInstant())) {
            log.warn(
                    "The agent SVID in {} expired at {}; attesting again",
                    svidFile,
                    leaf.getNotAfter().toInstant());
            return false;
        }
        install(storedChain, storedKey.get(), leaf.getNotBefore().toInstant());
        log.info(
                "Reusing agent SVID {} from {} (valid until {})",
                JoinTokenAttestor.redact(sid.get()),
                svidFile,
                leaf.getNotAfter().toInstant());
        return true;
    }

    private void attest(NodeAttestor attestor) throws AgentStartException {
        if (roots == null) {
            log.warn(
                    "INSECURE BOOTSTRAP: the agent does not verify the server's identity for its first attestation"
                            + " (insecure_bootstrap = true). Anyone who can impersonate {} now can hand this agent a trust bundle."
                            + " Use trust_bundle_path in production.",
                    server);
        }
        KeyPair kp = KeyType.EC_P256.generate(CryptoProvider.jdk());
        AgentApiClient.AttestResult r;
        try {
            r =
                    AgentApiClient.attest(
                            server,
                            trustDomain,
                            roots,
                            attestor,
                            Csr.create(kp, null, List.of(), CryptoProvider.jdk()));
        } catch (NodeAttestationException e) {
            throw new AgentStartException(e.getMessage(), e);
        }
        SpiffeId agentId =
                Certificates.spiffeId(r.svidChain().get(0))
                        .orElseThrow(
                                () ->
                                        new AgentStartException(
                                                "the server returned an agent SVID without SPIFFE ID"));
        log.info(
                "Node attestation ({}) succeeded: agent ID {}",
                attestor.type(),
                JoinTokenAttestor.redact(agentId));
        try {
            keyManager.storeAgentKey(kp.getPrivate());
            write(dataDir.resolve(SVID_FILE), Certificates.concatDer(r.svidChain()));
        } catch (IOException e) {
            throw new AgentStartException(
                    "cannot keep the agent SVID in " + dataDir + ": " + e.getMessage(), e);
        }
        storeBundle(r.bundle());
        install(r.svidChain(), kp.getPrivate(), clock.instant());
    }

    /**
     * Attests again after the server evicted this agent, when its node attestor allows it
     * (x509pop); the new SVID and key replace the old ones on disk.
     *
     * @return false when the attestor cannot attest again (a spent join token, or none)
     * @throws AgentStartException when the server refuses the attestation
     */
    public synchronized boolean reattest() throws AgentStartException {
        NodeAttestor a = attestor;
        if (a == null || !a.reattestable()) {
            return false;
        }
        attest(a);
        return true;
    }

    /** The node attestor's type, or "none". */
    public String attestorType() {
        NodeAttestor a = attestor;
        return a == null ? "none" : a.type();
    }

    private void install(List<X509Certificate> newChain, PrivateKey newKey, Instant receivedAt) {
        X509Certificate leaf = newChain.get(0);
        chain = List.copyOf(newChain);
        key = newKey;
        renewAt =
                CachedSvid.rotationTimeFromReceipt(
                        leaf.getNotBefore().toInstant(),
                        receivedAt,
                        leaf.getNotAfter().toInstant(),
                        ThreadLocalRandom.current().nextDouble());
        AgentApiClient old = client;
        client = AgentApiClient.connect(server, trustDomain, () -> roots, key, chain);
        if (old != null) {
            old.close();
        }
    }

    /** The agent's SPIFFE ID. */
    public SpiffeId agentId() {
        return Certificates.spiffeId(chain.get(0)).orElseThrow();
    }

    /** The agent SVID chain. */
    public List<X509Certificate> chain() {
        return chain;
    }

    /** The current client of the server (replaced when the agent SVID is renewed). */
    public AgentApiClient client() {
        return client;
    }

    /** Renews the agent SVID when it reached its rotation time. */
    void renewIfDue() throws StatusException {
        if (clock.instant().isBefore(renewAt)) {
            return;
        }
        renew();
    }

    /**
     * Renews the agent SVID now when an authority in its chain is tainted ({@code taints}), as
     * SPIRE's agent does, so that it no longer depends on an authority about to be revoked.
     */
    void renewIfTainted(io.mithril.agent.cache.Taints taints) throws StatusException {
        if (taints.signedByTaintedAuthority(chain)) {
            log.info("Agent SVID is signed by a tainted authority; renewing it now");
            renew();
        }
    }

    private void renew() throws StatusException {
        KeyPair kp = KeyType.EC_P256.generate(CryptoProvider.jdk());
        List<X509Certificate> renewed =
                client.renewAgent(Csr.create(kp, agentId(), List.of(), CryptoProvider.jdk()));
        try {
            keyManager.storeAgentKey(kp.getPrivate());
            write(dataDir.resolve(SVID_FILE), Certificates.concatDer(renewed));
        } catch (IOException | PkiException e) {
            log.warn("Renewed agent SVID could not be kept in {}: {}", dataDir, e.getMessage());
        }
        install(renewed, kp.getPrivate(), clock.instant());
        log.info("Agent SVID renewed, valid until {}", renewed.get(0).getNotAfter().toInstant());
    }

    /** Adopts the bundle the server just sent (to verify the server with) and keeps it on disk. */
    void storeBundle(SpiffeBundle bundle) {
        List<X509Certificate> newRoots = List.copyOf(bundle.x509Authorities());
        if (newRoots.isEmpty() || newRoots.equals(roots)) {
            return;
        }
        roots = List.copyOf(newRoots);
        try {
            write(dataDir.resolve(BUNDLE_FILE), Certificates.concatDer(newRoots));
        } catch (IOException e) {
            log.warn("Cannot keep the trust bundle in {}: {}", dataDir, e.getMessage());
        }
    }

    /** Reads PEM roots for bootstrap ({@code trust_bundle_path}). */
    public static List<X509Certificate> readTrustBundle(Path pem) throws AgentStartException {
        try {
            List<X509Certificate> certs = Pem.readCertificates(pem);
            if (certs.isEmpty()) {
                throw new AgentStartException("trust_bundle_path " + pem + " holds no certificate");
            }
            return certs;
        } catch (PkiException e) {
            throw new AgentStartException("trust_bundle_path " + pem + ": " + e.getMessage(), e);
        }
    }

    /** Writes a file atomically with mode 0600. */
    static void write(Path file, byte[] content) throws IOException {
        Path tmp =
                Files.createTempFile(
                        file.toAbsolutePath().getParent(),
                        "." + file.getFileName(),
                        ".tmp",
                        PosixFilePermissions.asFileAttribute(
                                PosixFilePermissions.fromString("rw-------")));
        try {
            Files.write(tmp, content);
            try {
                Files.move(
                        tmp,
                        file,
                        StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public void close() {
        AgentApiClient c = client;
        if (c != null) {
            c.close();
        }
    }
}
