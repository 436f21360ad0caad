package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mithril.api.agent.GetAuthorizedEntriesRequest;
import io.mithril.api.selector.Selector;
import io.mithril.pki.KeyType;
import io.mithril.server.datastore.JoinToken;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.testing.MutableClock;
import io.mithril.server.testing.OtherUser;
import io.mithril.server.testing.ServerFixture;
import io.mithril.server.testing.TestAgent;
import io.mithril.spiffe.id.SpiffeId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A local user who is not the server tries to steal a join token from what the server leaves on
 * disk, and to attest with it. The data directory's parent is 0755, as /var/lib is.
 */
class JoinTokenTheftTest {

    @TempDir Path tmp;
    Path dataDir;
    MutableClock clock = MutableClock.startingNow();
    IdentityServer server;

    @BeforeEach
    void worldTraversableParent() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        dataDir = tmp.resolve("data");
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void anotherUserCannotReadTheDatastoreOrListTheDataDirectory() throws Exception {
        server = IdentityServer.start(ServerFixture.config(dataDir, clock).build());
        server.generateJoinToken(
                Duration.ofMinutes(10), SpiffeId.parse("spiffe://example.org/node/n1"));
        Path db = dataDir.resolve("datastore.sqlite3");

        OtherUser.Result read = OtherUser.run("cat", db.toString());
        assertThat(read.exitCode()).as(read.output()).isNotZero();
        assertThat(read.output()).contains("Permission denied");
        OtherUser.Result list = OtherUser.run("ls", dataDir.toString());
        assertThat(list.exitCode()).as(list.output()).isNotZero();

        assertThat(mode(dataDir)).isEqualTo("rwx------");
        assertThat(mode(db)).isEqualTo("rw-------");
        assertThat(db.resolveSibling("datastore.sqlite3-wal")).exists();
        for (String journal : new String[] {"-wal", "-shm"}) {
            assertThat(mode(db.resolveSibling("datastore.sqlite3" + journal)))
                    .as(journal)
                    .isEqualTo("rw-------");
        }
    }

    @Test
    void aWorldReadableDataDirectoryAndDatastoreLeftByAnOlderVersionAreTightenedAtStart()
            throws Exception {
        server = IdentityServer.start(ServerFixture.config(dataDir, clock).build());
        server.close();
        Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path db = dataDir.resolve("datastore.sqlite3");
        Files.setPosixFilePermissions(db, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(OtherUser.run("cat", db.toString()).exitCode())
                .as("readable before the restart")
                .isZero();

        server = IdentityServer.start(ServerFixture.config(dataDir, clock).build());

        assertThat(mode(dataDir)).isEqualTo("rwx------");
        assertThat(mode(db)).isEqualTo("rw-------");
        assertThat(OtherUser.run("cat", db.toString()).exitCode()).isNotZero();
    }

    @Test
    void aLeakedCopyOfTheDatastoreHoldsOnlyTokenHashesWhichDoNotAttest() throws Exception {
        server = IdentityServer.start(ServerFixture.config(dataDir, clock).build());
        String token = server.generateJoinToken(Duration.ofMinutes(10), null);
        String files = datastoreBytes();
        assertThat(files).doesNotContain(token);
        String hash = JoinToken.hash(token);
        assertThat(files).contains(hash);
        TestAgent thief = ServerFixture.agent(server, clock);

        assertThatThrownBy(() -> thief.attestJoinToken(hash))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e ->
                                assertThat(e.getStatus().getCode())
                                        .isEqualTo(Status.Code.PERMISSION_DENIED));
        assertThat(thief.attestJoinToken(token).hasSvid())
                .as("the real token still works once")
                .isTrue();
    }

    @Test
    void noServerLogLineHoldsATokenEvenAtDebug() throws Exception {
        Logger mithril = (Logger) LoggerFactory.getLogger("io.mithril");
        Level before = mithril.getLevel();
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        mithril.addAppender(logs);
        mithril.setLevel(Level.DEBUG);
        try {
            server = IdentityServer.start(ServerFixture.config(dataDir, clock).build());
            SpiffeId node = SpiffeId.parse("spiffe://example.org/node/n1");
            String token = server.generateJoinToken(Duration.ofMinutes(10), node);
            RegistrationEntry w =
                    server.createEntry(
                            RegistrationEntry.of(
                                    SpiffeId.parse("spiffe://example.org/w"),
                                    node,
                                    List.of(Selector.parse("unix:uid:1000"))));
            TestAgent agent = ServerFixture.agent(server, clock);
            agent.attestJoinToken(token);
            agent.sign(w.id(), w.spiffeId(), KeyType.EC_P256.generate());
            server.dataStore().deleteAttestedNode(agent.agentId());
            assertThatThrownBy(
                            () ->
                                    agent.stub()
                                            .getAuthorizedEntries(
                                                    GetAuthorizedEntriesRequest
                                                            .getDefaultInstance()))
                    .isInstanceOf(StatusRuntimeException.class);
            agent.close();

            List<String> lines =
                    logs.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
            assertThat(lines).noneMatch(l -> l.contains(token));
            String redacted = "join_token/<redacted:" + JoinToken.hash(token).substring(0, 8) + ">";
            assertThat(lines)
                    .filteredOn(l -> l.contains(redacted))
                    .anyMatch(
                            l ->
                                    l.startsWith("Entry created")
                                            && l.contains(
                                                    "parent_id=spiffe://example.org/spire/agent/"
                                                            + redacted))
                    .anyMatch(l -> l.startsWith("Agent attested"))
                    .anyMatch(l -> l.startsWith("X509-SVID signed"))
                    .anyMatch(l -> l.startsWith("Agent API call denied"));
        } finally {
            mithril.detachAppender(logs);
            mithril.setLevel(before);
        }
    }

    /**
     * The datastore and its journals as one string, as a backup of the data directory holds them.
     */
    private String datastoreBytes() throws Exception {
        StringBuilder b = new StringBuilder();
        try (var files = Files.list(dataDir)) {
            for (Path f :
                    files.filter(p -> p.getFileName().toString().startsWith("datastore.sqlite3"))
                            .toList()) {
                b.append(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1));
            }
        }
        return b.toString();
    }

    @Test
    void aDataDirectoryOwnedByAnotherUserIsRefusedNamingItsPath() throws Exception {
        Files.createDirectories(dataDir);
        Files.setAttribute(dataDir, "unix:uid", OtherUser.UID);

        assertThatThrownBy(() -> IdentityServer.start(ServerFixture.config(dataDir, clock).build()))
                .isInstanceOf(ServerStartException.class)
                .hasMessageContaining("data_dir " + dataDir)
                .hasMessageContaining("owned by uid " + OtherUser.UID);
    }
}
