package io.mithril.k8s.workload;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SPIRE's "new container locator" ({@code pkg/common/containerinfo}, the default since SPIRE made
 * {@code use_new_container_locator} default to true): finds the pod UID and container ID of a
 * process from {@code <proc>/<pid>/cgroup} first and, only when that names no container, from the
 * cgroup mounts in {@code <proc>/<pid>/mountinfo}.
 *
 * <p>Each cgroup path (or mount root) is walked from its last segment backwards to the first
 * segment holding a 64-hex-digit word (the container ID), then on backwards (from what is left of
 * that segment) to the first {@code pod<UID>} word, with systemd's underscores turned back into
 * dashes. This covers cgroup v1 and v2 (also {@code 0::/../<id>} seen from inside a cgroup
 * namespace), cgroupfs and systemd drivers, containerd, CRI-O and Docker naming, and kind's nested
 * {@code /docker/<id>/kubepods/...}. Across entries: one naming a pod wins over one that does not
 * (kind on macOS), and two pod UIDs or two container IDs are refused. The cgroup file comes first
 * because the kernel writes it; mountinfo belongs to the workload's mount namespace and could be
 * forged by bind-mounting another pod's cgroup.
 */
public final class ContainerLocator {

    private static final Logger log = LoggerFactory.getLogger(ContainerLocator.class);

    // Go's \b is an ASCII word boundary; spelled out so that Java's Unicode-aware \b cannot differ.
    private static final String B_BEFORE = "(?<![0-9A-Za-z_])";
    private static final String B_AFTER = "(?![0-9A-Za-z_])";
    private static final String X = "[0-9A-Fa-f]";
    private static final Pattern POD_UID =
            Pattern.compile(
                    B_BEFORE + "pod(" + X + "{8}[-_]" + X + "{4}[-_]" + X + "{4}[-_]" + X
                            + "{4}[-_]" + X + "{12})" + B_AFTER);
    private static final Pattern CONTAINER_ID =
            Pattern.compile(B_BEFORE + "(" + X + "{64})" + B_AFTER);

    /** One line of mountinfo, reduced to what the locator reads (proc(5) fields 4 and 9). */
    public record MountInfo(String root, String fsType) {}

    private final Path procRoot;
    private final boolean verbose;

    /**
     * @param procRoot the directory holding {@code <pid>/cgroup} and {@code <pid>/mountinfo} (the
     *     host's {@code /proc})
     * @param verbose {@code verbose_container_locator_logs}: log each cgroup and mount read (debug)
     */
    public ContainerLocator(Path procRoot, boolean verbose) {
        this.procRoot = procRoot;
        this.verbose = verbose;
    }

    /**
     * The pod UID and container ID of a process, as SPIRE's {@code GetPodUIDAndContainerID}.
     *
     * @return empty when neither file names a container (or neither exists); the pod UID is empty
     *     when only the container is named (CRI-O seen from a cgroup namespace)
     * @throws IllegalArgumentException when the entries name two pods or two containers, or a file
     *     is malformed (the message says which)
     * @throws IOException when a file exists but cannot be read
     */
    public Optional<PodCgroups.Container> podUidAndContainerId(int pid) throws IOException {
        return locate(pid, true);
    }

    /** The container ID only, as SPIRE's {@code GetContainerID} (what a docker attestor needs). */
    public Optional<String> containerId(int pid) throws IOException {
        return locate(pid, false).map(PodCgroups.Container::containerId);
    }

    private Optional<PodCgroups.Container> locate(int pid, boolean withPodUid) throws IOException {
        Path dir = procRoot.resolve(Integer.toString(pid));
        Extractor fromCgroups = new Extractor(withPodUid);
        Path cgroupFile = dir.resolve("cgroup");
        Optional<String> cgroupText = readIfPresent(cgroupFile);
        if (cgroupText.isPresent()) {
            List<String> paths = cgroupPaths(cgroupText.get(), cgroupFile);
            for (int i = 0; i < paths.size(); i++) {
                if (verbose) {
                    log.debug(
                            "PID cgroup enumerated: index={} total={} path={}",
                            i + 1,
                            paths.size(),
                            paths.get(i));
                }
                fromCgroups.add(paths.get(i));
            }
        }
        if (!fromCgroups.containerId.isEmpty()) {
            return Optional.of(
                    new PodCgroups.Container(fromCgroups.podUid, fromCgroups.containerId));
        }
        Path mountInfoFile = dir.resolve("mountinfo");
        Optional<String> mountText = readIfPresent(mountInfoFile);
        if (mountText.isEmpty()) {
            return Optional.empty();
        }
        List<MountInfo> mounts = parseMountInfo(mountText.get(), mountInfoFile);
        Extractor fromMounts = new Extractor(withPodUid);
        for (int i = 0; i < mounts.size(); i++) {
            MountInfo m = mounts.get(i);
            if (verbose) {
                log.debug(
                        "PID mount enumerated: index={} total={} type={} root={}",
                        i + 1,
                        mounts.size(),
                        m.fsType(),
                        m.root());
            }
            if ((m.fsType().equals("cgroup") || m.fsType().equals("cgroup2"))
                    && !m.root().equals("/")) {
                fromMounts.add(m.root());
            }
        }
        return fromMounts.containerId.isEmpty()
                ? Optional.empty()
                : Optional.of(new PodCgroups.Container(fromMounts.podUid, fromMounts.containerId));
    }

    private static Optional<String> readIfPresent(Path file) throws IOException {
        try {
            return Optional.of(Files.readString(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /**
     * Lines as Go's bufio.Scanner gives them: split at \n, a final \n ends the last line, a
     * trailing \r is dropped.
     */
    static List<String> lines(String text) {
        List<String> out = new ArrayList<>();
        int start = 0;
        while (start < text.length()) {
            int nl = text.indexOf('\n', start);
            int end = nl < 0 ? text.length() : nl;
            String line = text.substring(start, end);
            out.add(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line);
            start = end + 1;
        }
        return out;
    }

    /**
     * The cgroup paths of a {@code /proc/<pid>/cgroup} file ({@code
     * hierarchy-ID:controller-list:cgroup-path}).
     */
    static List<String> cgroupPaths(String text, Path file) {
        List<String> paths = new ArrayList<>();
        List<String> lines = lines(text);
        for (int i = 0; i < lines.size(); i++) {
            String[] parts = lines.get(i).split(":", 3);
            if (parts.length < 3) {
                throw new IllegalArgumentException(
                        file
                                + ":"
                                + (i + 1)
                                + ": invalid cgroup entry, contains "
                                + parts.length
                                + " colon separated fields but expected at least 3: \""
                                + lines.get(i)
                                + "\"");
            }
            paths.add(parts[2]);
        }
        return paths;
    }

    /** The lines of a {@code /proc/<pid>/mountinfo} file; empty lines are skipped. */
    static List<MountInfo> parseMountInfo(String text, Path file) {
        List<MountInfo> out = new ArrayList<>();
        List<String> lines = lines(text);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isEmpty()) {
                continue;
            }
            try {
                out.add(parseMountInfoLine(lines.get(i)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ":" + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    /**
     * One mountinfo line (proc(5)): split at single spaces so that an empty mount source (a tmpfs)
     * stays an empty field; the root is field 4, the type the first field after the {@code -}.
     */
    static MountInfo parseMountInfoLine(String line) {
        String[] fields = line.split(" ", -1);
        int sep = -1;
        for (int i = 0; i < fields.length; i++) {
            if (fields[i].equals("-")) {
                sep = i;
                break;
            }
        }
        if (sep < 0) {
            throw new IllegalArgumentException("missing separator in mountinfo line: " + line);
        }
        if (sep < 6) {
            throw new IllegalArgumentException(
                    "expected at least 6 fields before separator in mountinfo line: " + line);
        }
        if (sep + 1 >= fields.length || fields[sep + 1].isEmpty()) {
            throw new IllegalArgumentException(
                    "missing filesystem type in mountinfo line: " + line);
        }
        return new MountInfo(fields[3], fields[sep + 1]);
    }

    /**
     * The pod UID (empty unless asked for and present) and container ID (empty when absent) named
     * by one cgroup path or mount root.
     */
    static PodCgroups.Container fromPath(String cgroupPathOrMountRoot, boolean withPodUid) {
        String[] split = splitLast(cgroupPathOrMountRoot);
        String rest = split[0];
        String segment = split[1];
        String containerId = "";
        while (!segment.isEmpty()) {
            Matcher m = CONTAINER_ID.matcher(segment);
            if (m.find()) {
                containerId = m.group(1);
                segment = segment.substring(0, m.start(1));
                break;
            }
            split = splitLast(rest);
            rest = split[0];
            segment = split[1];
        }
        if (containerId.isEmpty() || !withPodUid) {
            return new PodCgroups.Container("", containerId);
        }
        if (segment.isEmpty()) {
            split = splitLast(rest);
            rest = split[0];
            segment = split[1];
        }
        String podUid = "";
        while (!segment.isEmpty()) {
            Matcher m = POD_UID.matcher(segment);
            if (m.find()) {
                podUid = m.group(1).replace('_', '-');
                break;
            }
            split = splitLast(rest);
            rest = split[0];
            segment = split[1];
        }
        return new PodCgroups.Container(podUid, containerId);
    }

    /** Go's path.Split, then one trailing slash cut from the directory part. */
    private static String[] splitLast(String p) {
        int i = p.lastIndexOf('/');
        String dir = p.substring(0, i + 1);
        String segment = p.substring(i + 1);
        return new String[] {dir.endsWith("/") ? dir.substring(0, dir.length() - 1) : dir, segment};
    }

    /** SPIRE's extractor: folds the answers of several entries into one, refusing conflicts. */
    private static final class Extractor {
        private final boolean withPodUid;
        private String podUid = "";
        private String containerId = "";

        Extractor(boolean withPodUid) {
            this.withPodUid = withPodUid;
        }

        void add(String cgroupPathOrMountRoot) {
            PodCgroups.Container c = fromPath(cgroupPathOrMountRoot, withPodUid);
            String p = c.podUid();
            String id = c.containerId();
            if (!podUid.isEmpty() && p.isEmpty()) {
                return; // an entry naming a pod wins over one that does not (kind on macOS)
            }
            if (podUid.isEmpty() && !p.isEmpty()) {
                podUid = p;
                containerId = id;
            }
            if (!p.isEmpty() && !podUid.isEmpty() && !p.equals(podUid)) {
                log.debug(
                        "Workload pod UID conflict: previous={} current={} at {}",
                        podUid,
                        p,
                        cgroupPathOrMountRoot);
                throw new IllegalArgumentException(
                        "multiple pod UIDs found (\"" + podUid + "\", \"" + p + "\")");
            }
            if (!containerId.isEmpty() && !id.equals(containerId)) {
                log.debug(
                        "Workload container ID conflict: previous={} current={} at {}",
                        containerId,
                        id,
                        cgroupPathOrMountRoot);
                throw new IllegalArgumentException(
                        "multiple container IDs found (\"" + containerId + "\", \"" + id + "\")");
            }
            containerId = id;
            podUid = p;
        }
    }
}
