package io.mithril.spiffe.tls;

import io.mithril.spiffe.svid.X509Svid;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A TLS key manager that always presents the current X509-SVID (the SPIFFE equivalent of Envoy's
 * {@code default} secret), on the client and on the server side. The SVID is asked from the
 * supplier at every handshake, so a rotated SVID is used by the next handshake and open connections
 * are left alone.
 *
 * <p>The alias handed to the TLS engine names one SVID (its leaf's serial number), so the chain and
 * the key the engine asks for next always belong together even if a rotation happens between the
 * two calls. Nothing here logs key material.
 */
public final class SpiffeKeyManager extends X509ExtendedKeyManager {

    private final Supplier<X509Svid> svids;
    // The SVIDs recently handed out by alias; two generations are enough for a handshake racing a
    // rotation.
    private final Map<String, X509Svid> byAlias = new ConcurrentHashMap<>();

    /**
     * @param svids returns the current SVID, or null when there is none yet (the handshake then
     *     fails)
     */
    public SpiffeKeyManager(Supplier<X509Svid> svids) {
        this.svids = Objects.requireNonNull(svids, "svids");
    }

    private String currentAlias(String... keyTypes) {
        X509Svid svid = svids.get();
        if (svid == null) {
            return null;
        }
        String algorithm = svid.privateKey().getAlgorithm();
        boolean fits = keyTypes == null || keyTypes.length == 0;
        for (String keyType : keyTypes == null ? new String[0] : keyTypes) {
            if (keyType != null && fits(algorithm, keyType)) {
                fits = true;
                break;
            }
        }
        if (!fits) {
            return null;
        }
        String alias = "svid-" + svid.leaf().getSerialNumber().toString(16);
        if (!byAlias.containsKey(alias)) {
            if (byAlias.size() > 4) {
                byAlias.clear();
            }
            byAlias.put(alias, svid);
        }
        return alias;
    }

    // keyType is "EC", "RSA", "RSASSA-PSS", or for TLS 1.2 servers "EC_EC"/"EC_RSA"/"RSA".
    private static boolean fits(String keyAlgorithm, String keyType) {
        String alg = keyAlgorithm.equals("ECDSA") ? "EC" : keyAlgorithm;
        return keyType.equals(alg)
                || keyType.startsWith(alg + "_")
                || keyType.equals("RSASSA-PSS") && alg.equals("RSA");
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        String alias = currentAlias(keyType);
        return alias == null ? null : new String[] {alias};
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return currentAlias(keyTypes);
    }

    @Override
    public String chooseEngineClientAlias(
            String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return currentAlias(keyTypes);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        String alias = currentAlias(keyType);
        return alias == null ? null : new String[] {alias};
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return currentAlias(keyType);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return currentAlias(keyType);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        X509Svid svid = alias == null ? null : byAlias.get(alias);
        return svid == null ? null : svid.chain().toArray(new X509Certificate[0]);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        X509Svid svid = alias == null ? null : byAlias.get(alias);
        return svid == null ? null : svid.privateKey();
    }
}
