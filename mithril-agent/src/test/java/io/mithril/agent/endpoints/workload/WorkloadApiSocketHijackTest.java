package io.mithril.agent.endpoints.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.mithril.agent.attestor.workload.unix.UnixWorkloadAttestor;
import io.mithril.agent.cache.SvidCache;
import io.mithril.agent.testing.ForeignUid;
import io.mithril.spiffe.id.TrustDomain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Another local user (uid {@value #ATTACKER}) tries to take the Workload API socket's place, as
 * with the demo's 0777 directories: rename the agent's directory and put their own socket there.
 */
class WorkloadApiSocketHijackTest {

    static final int ATTACKER = 64123;

    @TempDir Path tmp;
    SvidCache cache = new SvidCache(TrustDomain.parse("example.org"), Clock.systemUTC());
    WorkloadApiServer server;

    @BeforeEach
    void rootLikeVarRun() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        cache.close();
    }

    private WorkloadApiServer start(Path socket) throws IOException {
        return WorkloadApiServer.start(
                socket,
                cache,
                List.of(new UnixWorkloadAttestor(false, 0)),
                (entry, audience) -> {
                    throw Status.UNAVAILABLE.asException();
                },
                Clock.systemUTC());
    }

    private static ForeignUid.Result asAttacker(String script) throws Exception {
        return ForeignUid.run(
                List.of(
                        "setpriv",
                        "--reuid=" + ATTACKER,
                        "--regid=" + ATTACKER,
                        "--clear-groups",
                        "sh",
                        "-c",
                        script));
    }

    @Test
    void aSocketUnderADirectoryOthersCanWriteIsRefusedSoItCannotBeSwapped() throws Exception {
        Path cluster = Files.createDirectory(tmp.resolve("cluster1"));
        Files.setPosixFilePermissions(cluster, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path socket = cluster.resolve("agent/api.sock");

        assertThatThrownBy(() -> server = start(socket))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("Workload API socket directory " + cluster.resolve("agent"))
                .hasMessageContaining(
                        "its ancestor " + cluster + " is writable by other users (mode 0777)");
        assertThat(cluster.resolve("agent")).as("nothing created there").doesNotExist();
    }

    @Test
    void aSocketDirectoryOthersCanWriteIsRefusedEvenWithTheStickyBit() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("sock"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setAttribute(dir, "unix:mode", 01777);

        assertThatThrownBy(() -> server = start(dir.resolve("api.sock")))
                .hasMessageContaining("the directory is writable by other users (mode 1777)");
    }

    @Test
    void aStickyWorldWritableAncestorLikeTmpIsAllowed() throws Exception {
        Path shared = Files.createDirectory(tmp.resolve("shared-tmp"));
        Files.setAttribute(shared, "unix:mode", 01777);
        server = start(shared.resolve("agent/api.sock"));
        assertThat(shared.resolve("agent/api.sock")).exists();
    }

    @Test
    void aSocketDirectoryOwnedByAnotherUserIsRefused() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("sock"));
        Files.setAttribute(dir, "unix:uid", ATTACKER);

        assertThatThrownBy(() -> server = start(dir.resolve("api.sock")))
                .hasMessageContaining("the directory is owned by uid " + ATTACKER);
    }

    @Test
    void anotherUserCannotRenameReplaceOrRemoveTheServedSocket() throws Exception {
        Path dir = tmp.resolve("agent");
        Path socket = dir.resolve("api.sock");
        server = start(socket);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)))
                .isEqualTo("rwxr-xr-x");

        assertThat(asAttacker("mv " + dir + " " + tmp.resolve("moved")).exitCode()).isNotZero();
        assertThat(asAttacker("rm -f " + socket).exitCode()).isNotZero();
        assertThat(asAttacker("mv " + socket + " " + dir.resolve("old.sock")).exitCode())
                .isNotZero();
        assertThat(asAttacker("touch " + dir.resolve("evil.sock")).exitCode()).isNotZero();
        assertThat(socket).exists();
        assertThat(dir.resolve("evil.sock")).doesNotExist();
    }
}
