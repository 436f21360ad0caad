package io.mithril.agent.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.mithril.pki.KeyType;
import io.mithril.pki.X509Minter;
import io.mithril.spiffe.id.TrustDomain;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class AgentKeyManagerTest {

    private final KeyPair key = KeyType.EC_P256.generate();
    private final X509Certificate cert =
            new X509Minter(Clock.systemUTC())
                    .selfSignedCa(key, TrustDomain.of("example.org"), Duration.ofHours(1), null);

    @Test
    void presentsItsKeyAndChainForAnEcKeyType() {
        AgentKeyManager m = new AgentKeyManager(key.getPrivate(), List.of(cert));
        String alias = m.chooseEngineClientAlias(new String[] {"RSA", "EC"}, null, null);
        assertEquals(AgentKeyManager.ALIAS, alias);
        assertSame(key.getPrivate(), m.getPrivateKey(alias));
        assertArrayEquals(new X509Certificate[] {cert}, m.getCertificateChain(alias));
        assertEquals(
                AgentKeyManager.ALIAS, m.chooseClientAlias(new String[] {"EC_EC"}, null, null));
    }

    @Test
    void offersNothingForAnotherKeyTypeAnotherAliasOrAServer() {
        AgentKeyManager m = new AgentKeyManager(key.getPrivate(), List.of(cert));
        assertNull(m.chooseEngineClientAlias(new String[] {"RSA"}, null, null));
        assertNull(m.getClientAliases("RSA", null));
        assertNull(m.getPrivateKey("other"));
        assertNull(m.getCertificateChain("other"));
        assertNull(m.chooseEngineServerAlias("EC", null, null));
        assertNull(m.getServerAliases("EC", null));
    }

    @Test
    void refusesAnEmptyChain() {
        assertThrows(
                IllegalArgumentException.class,
                () -> new AgentKeyManager(key.getPrivate(), List.of()));
    }
}
