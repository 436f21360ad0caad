package io.mithril.agent.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent's data directory (its key, its SVID): created 0700, tightened, or refused. */
class TrustedDirectoryTest {

    @TempDir Path tmp;

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void aMissingDataDirIsCreated0700() throws Exception {
        Path data = tmp.resolve("a/data");
        TrustedDirectory.owned(data, "data_dir");
        assertThat(mode(data)).isEqualTo("rwx------");
        assertThat(mode(data.getParent())).isEqualTo("rwxr-xr-x");
    }

    @Test
    void anOwnedDataDirOthersCouldReadIsTightened() throws Exception {
        Path data = Files.createDirectory(tmp.resolve("data"));
        Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxr-xr-x"));
        TrustedDirectory.owned(data, "data_dir");
        assertThat(mode(data)).isEqualTo("rwx------");
    }

    @Test
    void aDataDirOwnedByAnotherUserOrUnderAWritableParentIsRefused() throws Exception {
        Path theirs = Files.createDirectory(tmp.resolve("theirs"));
        Files.setAttribute(theirs, "unix:uid", 64123);
        assertThatThrownBy(() -> TrustedDirectory.owned(theirs, "data_dir"))
                .hasMessageStartingWith(
                        "data_dir " + theirs + ": the directory is owned by uid 64123");

        Path open = Files.createDirectory(tmp.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> TrustedDirectory.owned(open.resolve("data"), "data_dir"))
                .hasMessageContaining(
                        "its ancestor " + open + " is writable by other users (mode 0777)");
    }

    @Test
    void aClientChecksOnlyModesAsItCannotKnowTheAgentsUid() throws Exception {
        Path agents = Files.createDirectory(tmp.resolve("agents"));
        Files.setAttribute(agents, "unix:uid", 64123);
        TrustedDirectory.checkModes(agents, "Workload API socket directory");
        Files.setPosixFilePermissions(agents, PosixFilePermissions.fromString("rwxrwxr-x"));
        assertThatThrownBy(
                        () -> TrustedDirectory.checkModes(agents, "Workload API socket directory"))
                .hasMessageContaining("writable by other users (mode 0775)");
    }
}
