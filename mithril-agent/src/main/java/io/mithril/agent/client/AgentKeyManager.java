package io.mithril.agent.client;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The client side of the agent API's mTLS: always presents the agent SVID the client was made with
 * (one alias, {@value #ALIAS}). The agent opens a new client when its SVID is renewed, so the key
 * and chain never change under a client. Nothing here logs key material.
 */
final class AgentKeyManager extends X509ExtendedKeyManager {

    static final String ALIAS = "agent-svid";

    private final PrivateKey key;
    private final X509Certificate[] chain;

    AgentKeyManager(PrivateKey key, List<X509Certificate> chain) {
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("the agent SVID chain is empty");
        }
        this.key = key;
        this.chain = chain.toArray(new X509Certificate[0]);
    }

    private String aliasFor(String[] keyTypes) {
        String alg = key.getAlgorithm().equals("ECDSA") ? "EC" : key.getAlgorithm();
        if (keyTypes == null) {
            return ALIAS;
        }
        for (String t : keyTypes) {
            // "EC", "RSA", "RSASSA-PSS"; TLS 1.2 adds "EC_EC", "EC_RSA"
            if (t != null
                    && (t.equals(alg)
                            || t.startsWith(alg + "_")
                            || t.equals("RSASSA-PSS") && alg.equals("RSA"))) {
                return ALIAS;
            }
        }
        return null;
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return aliasFor(keyTypes);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine e) {
        return aliasFor(keyTypes);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        String a = aliasFor(new String[] {keyType});
        return a == null ? null : new String[] {a};
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return null; // a client only
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        return ALIAS.equals(alias) ? chain.clone() : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        return ALIAS.equals(alias) ? key : null;
    }
}
