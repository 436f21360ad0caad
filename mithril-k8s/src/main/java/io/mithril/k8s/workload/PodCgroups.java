package io.mithril.k8s.workload;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the pod UID and container ID of a process in its {@code /proc/<pid>/cgroup}, as SPIRE's
 * {@code k8s} workload attestor does (its cgroup-file locator): cgroup v1 and v2 lines, cgroupfs
 * and systemd drivers, and the layouts of containerd ({@code cri-containerd:<id>}), CRI-O ({@code
 * crio-<id>.scope}, also without a pod UID) and Docker ({@code docker-<id>.scope}).
 */
public final class PodCgroups {

    /**
     * What a cgroup file says; {@code podUid} is empty when the runtime does not name the pod
     * (CRI-O under kubeedge).
     */
    public record Container(String podUid, String containerId) {}

    private static final String UID =
            "\\p{XDigit}{8}\\p{Punct}?\\p{XDigit}{4}\\p{Punct}?\\p{XDigit}{4}\\p{Punct}?\\p{XDigit}{4}\\p{Punct}?\\p{XDigit}{12}";

    // SPIRE's two expressions (pkg/agent/plugin/workloadattestor/k8s/k8s_posix.go), in Java syntax.
    private static final Pattern[] PATTERNS = {
        Pattern.compile(
                "\\p{Punct}pod(?<poduid>"
                        + UID
                        + ")\\p{Punct}(?:\\P{Punct}+\\p{Punct})*(?<containerid>\\p{XDigit}{64})$"),
        Pattern.compile(
                "(?<poduid>)(?<mustnotmatch>pod"
                        + UID
                        + "\\p{Punct})?(?:\\P{Punct}*/*)*crio\\p{Punct}(?<containerid>\\p{XDigit}{64})$"),
    };

    private PodCgroups() {}

    /**
     * The container of a process from the text of its cgroup file.
     *
     * @return empty when no line names a container (not a pod's process)
     * @throws IllegalArgumentException for a malformed line, or lines naming two containers or two
     *     pods
     */
    public static Optional<Container> parse(String cgroupFile) {
        Container found = null;
        for (String line : cgroupFile.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            String[] parts = line.split(":", 3);
            if (parts.length < 3) {
                throw new IllegalArgumentException(
                        "invalid cgroup entry, contains "
                                + parts.length
                                + " colon separated fields but expected at least 3: \""
                                + line
                                + "\"");
            }
            Optional<Container> c = fromPath(parts[2]);
            if (c.isEmpty()) {
                continue;
            }
            if (found == null) {
                found = c.get();
            } else if (!found.containerId().equals(c.get().containerId())) {
                throw new IllegalArgumentException(
                        "multiple container IDs found in cgroups ("
                                + found.containerId()
                                + ", "
                                + c.get().containerId()
                                + ")");
            } else if (!found.podUid().equals(c.get().podUid())) {
                throw new IllegalArgumentException(
                        "multiple pod UIDs found in cgroups ("
                                + found.podUid()
                                + ", "
                                + c.get().podUid()
                                + ")");
            }
        }
        return Optional.ofNullable(found);
    }

    /**
     * The container named by one cgroup path, when exactly one of SPIRE's expressions matches it.
     */
    public static Optional<Container> fromPath(String cgroupPath) {
        String path =
                cgroupPath.endsWith(".scope")
                        ? cgroupPath.substring(0, cgroupPath.length() - ".scope".length())
                        : cgroupPath;
        Container result = null;
        for (Pattern p : PATTERNS) {
            Matcher m = p.matcher(path);
            if (!m.find()) {
                continue;
            }
            if (p.pattern().contains("mustnotmatch")
                    && m.group("mustnotmatch") != null
                    && !m.group("mustnotmatch").isEmpty()) {
                continue;
            }
            if (result != null) {
                return Optional.empty(); // more than one expression matches: SPIRE ignores the line
            }
            result = new Container(canonical(m.group("poduid")), m.group("containerid"));
        }
        return Optional.ofNullable(result);
    }

    /**
     * Punctuation in a pod UID (systemd's underscores) becomes dashes, as Kubernetes writes UIDs.
     */
    private static String canonical(String uid) {
        return uid == null ? "" : uid.replaceAll("\\p{Punct}", "-");
    }
}
