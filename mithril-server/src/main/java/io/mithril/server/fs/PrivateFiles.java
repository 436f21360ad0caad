package io.mithril.server.fs;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Files and directories only the server's own user may read: the data directory (0700), the SQLite
 * datastore and its journals (0600). Java has no umask, so each one is created with its mode
 * instead of chmod-ed after the fact, leaving no window in which another user could open it.
 *
 * <p>An existing directory or file the server owns but others may read is tightened, with a warning
 * naming it (the server keeps starting, as after an upgrade from a version that made them
 * 0755/0644). One owned by another user (other than root) is refused: that user could replace what
 * is in it.
 */
public final class PrivateFiles {

    private static final Logger log = LoggerFactory.getLogger(PrivateFiles.class);

    static final Set<PosixFilePermission> DIR = PosixFilePermissions.fromString("rwx------");
    static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private PrivateFiles() {}

    /**
     * Creates {@code dir} (and missing parents) with mode 0700, or tightens an existing one to
     * 0700.
     *
     * @param what how the error names it, e.g. {@code "data_dir"}
     * @throws IOException naming the path when it is not a directory, belongs to another user, or
     *     cannot be created
     */
    public static void directory(Path dir, String what) throws IOException {
        Path abs = dir.toAbsolutePath();
        if (!Files.isDirectory(abs)) {
            Path parent = abs.getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try {
                Files.createDirectory(abs, PosixFilePermissions.asFileAttribute(DIR));
                Files.setPosixFilePermissions(
                        abs, DIR); // the mode given to mkdir is masked by the umask
                return;
            } catch (FileAlreadyExistsException e) {
                if (!Files.isDirectory(abs)) {
                    throw new IOException(what + " " + abs + " exists and is not a directory");
                }
            }
        }
        tighten(abs, what, DIR, "0700");
    }

    /**
     * Creates an empty {@code file} with mode 0600 if it does not exist, or tightens an existing
     * one to 0600. Call it before a library (SQLite) opens the file, so the library never creates
     * it with the process's umask.
     *
     * @throws IOException naming the file when it belongs to another user or cannot be created
     */
    public static void file(Path file, String what) throws IOException {
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(FILE));
            return;
        } catch (FileAlreadyExistsException e) {
            // an existing file: checked below
        }
        tighten(file, what, FILE, "0600");
    }

    /** Tightens {@code file} to 0600 if it exists (a journal SQLite may or may not have made). */
    public static void fileIfExists(Path file, String what) throws IOException {
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            tighten(file, what, FILE, "0600");
        }
    }

    private static void tighten(Path p, String what, Set<PosixFilePermission> mode, String octal)
            throws IOException {
        int owner = (Integer) Files.getAttribute(p, "unix:uid");
        int self = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (owner != self && owner != 0) {
            throw new IOException(
                    what
                            + " "
                            + p
                            + " is owned by uid "
                            + owner
                            + ", not by this server's uid "
                            + self
                            + ": another user could replace what it holds; chown it to uid "
                            + self
                            + " or choose another path");
        }
        Set<PosixFilePermission> actual = Files.getPosixFilePermissions(p);
        if (!mode.containsAll(actual)) {
            Files.setPosixFilePermissions(p, mode);
            log.warn(
                    "{} {} was mode {} (other users could read it); changed to {}",
                    what,
                    p,
                    PosixFilePermissions.toString(actual),
                    octal);
        }
    }
}
