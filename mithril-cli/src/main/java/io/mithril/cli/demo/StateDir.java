package io.mithril.cli.demo;

import io.mithril.cli.Cli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Ownership and modes of the demo's state directory, so that no other local user can take over what
 * the components trust (issue 13, item 2):
 *
 * <pre>
 * DIR/                          0755 demo's uid   (workloads traverse it to their sockets)
 *   config/, dist/, cds/        0755              (configuration and class path: nothing secret)
 *   logs/                       0700, logs 0600
 *   upstream-ca/                0700
 *   clusterN/                   0755
 *     server/                   0700              (admin socket, datastore, keys)
 *     agent/                    0755
 *       public/                 0755              (only the Workload API socket; the socket itself 0777)
 *       data/                   0700              (the agent's key and SVID)
 *   cluster1/sleep/             0700 sleep's uid  (api fetch x509 -write: its SVID, key and bundle)
 *   foreign-ca/                 0700 sleep's uid
 *   cds-training/               0755, one class list per kind, owned by the uid that writes it
 *   crash/UID/                  0700 that uid     (JVM crash reports of the workloads)
 * </pre>
 *
 * Every directory on a socket's or a written SVID's path is owned by the demo's uid (root) or the
 * workload itself and writable by no one else, so no other uid can rename it, plant a socket or
 * replace a file. Modes are set on every run, so a reused {@code --dir} is fixed too.
 */
final class StateDir {

    static final String PUBLIC = "rwxr-xr-x";
    static final String PRIVATE = "rwx------";

    private StateDir() {}

    /**
     * Refuses a state directory another uid could tamper with: it must be ours, and no directory
     * above it may be writable by others unless sticky (as /tmp) and owned by root or us.
     */
    static void requireSafe(Path dir) throws IOException {
        int owner = uidOf(dir);
        if (DemoCommand.UID >= 0 && owner != DemoCommand.UID) {
            throw new Cli.UserException(
                    "state directory "
                            + dir
                            + " belongs to uid "
                            + owner
                            + ", not to this user: another user could replace what the demo writes there; choose another --dir");
        }
        for (Path d = dir.getParent(); d != null; d = d.getParent()) {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(d);
            int u = uidOf(d);
            boolean writableByOthers =
                    p.contains(PosixFilePermission.OTHERS_WRITE)
                            || p.contains(PosixFilePermission.GROUP_WRITE);
            boolean sticky = sticky(d);
            if ((writableByOthers && !sticky) || (u != 0 && u != DemoCommand.UID)) {
                throw new Cli.UserException(
                        "state directory "
                                + dir
                                + " is under "
                                + d
                                + " (uid "
                                + u
                                + ", "
                                + PosixFilePermissions.toString(p)
                                + "), which another user could rename; choose another --dir");
            }
        }
    }

    /** Creates {@code d} (and parents) and sets its mode; owned by the demo's uid. */
    static Path dir(Path d, String mode) throws IOException {
        return ownedDir(d, mode, DemoCommand.UID);
    }

    /**
     * Creates {@code d} with {@code mode}, owned by {@code uid} when the demo runs as root (else by
     * the demo's own uid, which every workload then shares).
     */
    static Path ownedDir(Path d, String mode, int uid) throws IOException {
        Files.createDirectories(d);
        if (Files.isSymbolicLink(d)) {
            throw new IOException(d + " is a symbolic link");
        }
        // Tighten first, then hand over: at no moment is it open to anyone else.
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString(mode));
        chown(d, uid);
        return d;
    }

    /** Makes {@code f} owned by {@code uid} when root (no-op otherwise). */
    static void chown(Path f, int uid) throws IOException {
        if (DemoCommand.isRoot() && uidOf(f) != uid) {
            Files.setAttribute(f, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(f, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
        }
    }

    /**
     * Creates an empty file {@code f} (replacing any) with {@code mode}, owned by {@code uid} when
     * root.
     */
    static Path ownedFile(Path f, String mode, int uid) throws IOException {
        Files.deleteIfExists(f);
        Files.createFile(
                f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode)));
        chown(f, uid);
        return f;
    }

    static int uidOf(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    private static boolean sticky(Path d) throws IOException {
        int mode = (Integer) Files.getAttribute(d, "unix:mode");
        return (mode & 01000) != 0;
    }
}
