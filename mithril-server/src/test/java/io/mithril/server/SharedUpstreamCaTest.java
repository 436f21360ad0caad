package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.api.agent.GetAuthorizedEntriesRequest;
import io.mithril.api.selector.Selector;
import io.mithril.api.types.Entry;
import io.mithril.pki.KeyType;
import io.mithril.pki.Pem;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.testing.PostgresServer;
import io.mithril.server.testing.ServerFixture;
import io.mithril.server.testing.TestAgent;
import io.mithril.spiffe.id.SpiffeId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed's point: two servers given the same disk upstream CA (made with the openssl CLI) and the
 * same trust domain each mint their own intermediate, and every SVID validates against the one
 * upstream root, as {@code openssl verify} confirms.
 */
class SharedUpstreamCaTest {

    @TempDir Path dir;

    static final SpiffeId NODE = SpiffeId.parse("spiffe://example.org/cluster/node");

    static String run(Path cwd, String... cmd) throws Exception {
        Process p =
                new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + "\n" + out).isZero();
        return out;
    }

    /** An upstream CA as an operator makes one: self-signed EC P-256 "Upstream CA", PKCS#8 key. */
    static ServerConfig.DiskUpstreamConfig upstreamCa(Path dir) throws Exception {
        Files.createDirectories(dir);
        run(
                dir,
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "upstream-ca.key.pem",
                "-out",
                "upstream-ca.pem",
                "-days",
                "2",
                "-subj",
                "/O=Mithril/CN=Upstream CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign");
        return new ServerConfig.DiskUpstreamConfig(
                dir.resolve("upstream-ca.pem"), dir.resolve("upstream-ca.key.pem"), null);
    }

    /**
     * Attests an agent at the server with a token, registers a workload, and returns its SVID
     * chain.
     */
    static List<X509Certificate> workloadSvid(
            IdentityServer tokenServer, IdentityServer signer, String path) throws Exception {
        SpiffeId workload = SpiffeId.parse("spiffe://example.org/" + path);
        String token =
                tokenServer.generateJoinToken(
                        null, NODE.trustDomain().spiffeId("/" + path + "/node"));
        RegistrationEntry e =
                tokenServer.createEntry(
                        RegistrationEntry.of(
                                workload,
                                NODE.trustDomain().spiffeId("/" + path + "/node"),
                                List.of(Selector.parse("unix:uid:1000"))));
        try (TestAgent agent = ServerFixture.agent(signer, Clock.systemUTC())) {
            agent.attestJoinToken(token);
            assertThat(
                            agent.stub()
                                    .getAuthorizedEntries(
                                            GetAuthorizedEntriesRequest.getDefaultInstance())
                                    .getEntriesList())
                    .extracting(Entry::getId)
                    .contains(e.id());
            return TestAgent.chain(
                    agent.sign(e.id(), workload, KeyType.EC_P256.generate()).getSvid());
        }
    }

    static void opensslVerify(Path dir, Path root, List<X509Certificate> chain, String name)
            throws Exception {
        Path leaf = dir.resolve(name + "-leaf.pem");
        Path untrusted = dir.resolve(name + "-chain.pem");
        Pem.writeCertificates(leaf, chain.subList(0, 1));
        Pem.writeCertificates(untrusted, chain.subList(1, chain.size()));
        assertThat(
                        run(
                                dir,
                                "openssl",
                                "verify",
                                "-CAfile",
                                root.toString(),
                                "-untrusted",
                                untrusted.toString(),
                                leaf.toString()))
                .contains(leaf + ": OK");
    }

    @Test
    void twoServersOnTheSameDiskCaIssueSvidsThatVerifyAgainstTheOneRoot() throws Exception {
        ServerConfig.DiskUpstreamConfig ca = upstreamCa(dir.resolve("upstream"));
        try (IdentityServer s1 =
                        IdentityServer.start(
                                ServerFixture.config(dir.resolve("s1"), Clock.systemUTC())
                                        .upstream(ca)
                                        .caKeyType("rsa-2048")
                                        .build());
                IdentityServer s2 =
                        IdentityServer.start(
                                ServerFixture.config(dir.resolve("s2"), Clock.systemUTC())
                                        .upstream(ca)
                                        .build())) {
            X509Certificate root = Pem.readCertificate(ca.certFilePath());
            assertThat(s1.bundle().x509Authorities()).containsExactly(root);
            assertThat(s2.bundle().x509Authorities()).containsExactly(root);
            List<X509Certificate> svid1 = workloadSvid(s1, s1, "cluster1/sleep");
            List<X509Certificate> svid2 = workloadSvid(s2, s2, "cluster2/productpage");
            // each server has its own intermediate, both signed by the root
            assertThat(svid1).hasSize(2);
            assertThat(svid2).hasSize(2);
            assertThat(svid1.get(1)).isNotEqualTo(svid2.get(1));
            assertThat(svid1.get(1).getIssuerX500Principal())
                    .isEqualTo(root.getSubjectX500Principal());
            opensslVerify(dir, ca.certFilePath(), svid1, "s1");
            opensslVerify(dir, ca.certFilePath(), svid2, "s2");
        }
    }

    @Test
    void twoServersSharingOnePostgresDatabaseAndDiskCaServeEachOthersAgents() throws Exception {
        ServerConfig.DiskUpstreamConfig ca = upstreamCa(dir.resolve("upstream"));
        try (PostgresServer pg = PostgresServer.start()) {
            String db = pg.createDatabase("shared");
            ServerConfig.DataStoreConfig ds = new ServerConfig.DataStoreConfig("postgres", db);
            try (IdentityServer s1 =
                            IdentityServer.start(
                                    ServerFixture.config(dir.resolve("s1"), Clock.systemUTC())
                                            .upstream(ca)
                                            .dataStore(ds)
                                            .build());
                    IdentityServer s2 =
                            IdentityServer.start(
                                    ServerFixture.config(dir.resolve("s2"), Clock.systemUTC())
                                            .upstream(ca)
                                            .dataStore(ds)
                                            .build())) {
                // a token made on one replica is redeemed on the other; entries are shared
                List<X509Certificate> fromS2 = workloadSvid(s1, s2, "a");
                List<X509Certificate> fromS1 = workloadSvid(s2, s1, "b");
                assertThat(fromS1.get(1)).isNotEqualTo(fromS2.get(1));
                opensslVerify(dir, ca.certFilePath(), fromS1, "pg1");
                opensslVerify(dir, ca.certFilePath(), fromS2, "pg2");
                s1.caManager().refreshBundle();
                // one shared root; each replica's JWT key is published in the one bundle
                assertThat(s1.bundle().x509Authorities()).hasSize(1);
                assertThat(s1.bundle().jwtAuthorities()).hasSize(2);
            }
        }
    }
}
