package io.mithril.agent.fs;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Directories no other local user can tamper with: where the Workload API socket, the agent's keys
 * and a workload's written SVIDs live. If another user could rename or write in any directory on
 * the way, they could put their own socket (or bundle) in its place and hand workloads an identity
 * and trust bundle of their choosing.
 *
 * <p>The rule, for the directory itself and for every ancestor up to {@code /} (on the path as
 * given and on its real path, after symbolic links):
 *
 * <ul>
 *   <li>owned by root or by the uid of this process;
 *   <li>not writable by group or other, except that an <em>ancestor</em> with the sticky bit (like
 *       {@code /tmp}, 1777) is allowed: there no one can rename or remove what another user owns.
 *       The directory itself may not rely on the sticky bit: anyone could create the file the agent
 *       or the workload means to create there (a socket while the agent is down).
 * </ul>
 */
public final class TrustedDirectory {

    private static final Logger log = LoggerFactory.getLogger(TrustedDirectory.class);

    private static final int GROUP_OTHER_WRITE = 0022;
    private static final int GROUP_OTHER_ALL = 0077;
    private static final int STICKY = 01000;

    private TrustedDirectory() {}

    /** The uid this process runs as (the owner of {@code /proc/self}). */
    public static int selfUid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    /**
     * Checks {@code dir} and its ancestors against the rule, changing nothing. A directory that
     * does not exist yet is fine if the nearest existing ancestor passes as an ancestor.
     *
     * @param what how the error names the directory ("Workload API socket directory")
     * @throws IOException naming the offending path and what is wrong with it
     */
    public static void check(Path dir, String what) throws IOException {
        check(dir, what, true);
    }

    /**
     * As {@link #check(Path, String)}, without the owner rule: for a client, which cannot know the
     * agent's uid, only the modes can be checked.
     */
    public static void checkModes(Path dir, String what) throws IOException {
        check(dir, what, false);
    }

    private static void check(Path dir, String what, boolean owners) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        Set<Path> chain = new LinkedHashSet<>();
        for (Path p = abs; p != null; p = p.getParent()) {
            chain.add(p);
        }
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing != null) {
            for (Path p = existing.toRealPath(); p != null; p = p.getParent()) {
                chain.add(p);
            }
        }
        int self = selfUid();
        for (Path p : chain) {
            if (!Files.exists(p)) {
                continue;
            }
            int mode = (Integer) Files.getAttribute(p, "unix:mode");
            int owner = (Integer) Files.getAttribute(p, "unix:uid");
            boolean itself = p.equals(abs) || (Files.exists(abs) && p.equals(abs.toRealPath()));
            if (owners && owner != 0 && owner != self) {
                throw new IOException(
                        what
                                + " "
                                + abs
                                + ": "
                                + describe(p, abs)
                                + " is owned by uid "
                                + owner
                                + ", not by root or this process's uid "
                                + self
                                + ", so that user could replace what it holds;"
                                + " chown it or choose another path");
            }
            if ((mode & GROUP_OTHER_WRITE) != 0 && (itself || (mode & STICKY) == 0)) {
                throw new IOException(
                        what
                                + " "
                                + abs
                                + ": "
                                + describe(p, abs)
                                + " is writable by other users (mode "
                                + String.format("%04o", mode & 07777)
                                + "), so they could replace what it holds; chmod go-w "
                                + p
                                + (itself ? "" : " (or set its sticky bit)")
                                + " or choose another path");
            }
        }
    }

    private static String describe(Path p, Path dir) {
        return p.equals(dir) ? "the directory" : "its ancestor " + p;
    }

    /**
     * Creates {@code dir} (and missing ancestors) with mode 0755 if it does not exist; checked
     * before and after: for a directory others must traverse (the Workload API socket's).
     */
    public static void shared(Path dir, String what) throws IOException {
        prepare(dir, what, "rwxr-xr-x", false);
    }

    /**
     * Creates {@code dir} (and missing ancestors) with mode 0700 if it does not exist, else
     * tightens an existing one this process owns to 0700 (with a warning); checked before and
     * after: for private keys (the agent's data_dir).
     */
    public static void owned(Path dir, String what) throws IOException {
        prepare(dir, what, "rwx------", true);
    }

    /**
     * Creates {@code dir} (and missing ancestors) with mode 0700 if it does not exist, leaving the
     * mode of an existing one alone; checked before and after: for a workload's written SVIDs,
     * which other programs of its owner's choosing may have to read.
     */
    public static void output(Path dir, String what) throws IOException {
        prepare(dir, what, "rwx------", false);
    }

    private static void prepare(Path dir, String what, String perms, boolean tighten)
            throws IOException {
        check(dir, what); // before creating anything in a directory others control
        if (!create(dir, perms) && tighten) {
            Path abs = dir.toAbsolutePath();
            int mode = (Integer) Files.getAttribute(abs, "unix:mode");
            if ((mode & GROUP_OTHER_ALL) != 0
                    && (Integer) Files.getAttribute(abs, "unix:uid") == selfUid()) {
                Files.setPosixFilePermissions(abs, PosixFilePermissions.fromString(perms));
                log.warn(
                        "{} {} was mode {} (other users could read it); changed to 0700",
                        what,
                        abs,
                        String.format("%04o", mode & 07777));
            }
        }
        check(dir, what);
    }

    /** Creates {@code dir} with {@code perms} (ancestors 0755); false if it already existed. */
    private static boolean create(Path dir, String perms) throws IOException {
        Path abs = dir.toAbsolutePath();
        if (Files.isDirectory(abs)) {
            return false;
        }
        Path parent = abs.getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            create(parent, "rwxr-xr-x");
        }
        try {
            Files.createDirectory(
                    abs,
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(perms)));
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(abs)) {
                throw new IOException(abs + " exists and is not a directory");
            }
            return false;
        }
        Files.setPosixFilePermissions(
                abs, PosixFilePermissions.fromString(perms)); // mkdir's mode is masked by the umask
        return true;
    }
}
