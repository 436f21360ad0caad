package io.mithril.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.cli.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateDirTest {

    @TempDir Path tmp;

    @Test
    void refusesAStateDirectoryUnderADirectoryOthersCanWriteWithoutTheStickyBit() throws Exception {
        Path open = Files.createDirectory(tmp.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path dir = Files.createDirectory(open.resolve("demo"));
        assertThatThrownBy(() -> StateDir.requireSafe(dir))
                .isInstanceOf(Cli.UserException.class)
                .hasMessageContaining("another user could rename");
        Files.setAttribute(open, "unix:mode", 01777);
        StateDir.requireSafe(dir); // sticky, as /tmp: others cannot rename what is ours
    }

    @Test
    void privateAndPublicDirectoriesGetTheirModesEvenWhenTheyExistedWithOthers() throws Exception {
        Path d = Files.createDirectory(tmp.resolve("d"));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxrwxrwx"));
        StateDir.dir(d, StateDir.PRIVATE);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d)))
                .isEqualTo("rwx------");
        StateDir.dir(d.resolve("a/b"), StateDir.PUBLIC);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d.resolve("a/b"))))
                .isEqualTo("rwxr-xr-x");
        Path f = StateDir.ownedFile(d.resolve("list"), "rw-------", DemoCommand.UID);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f)))
                .isEqualTo("rw-------");
    }
}
