package io.mithril.cli.doctor;

import io.mithril.agent.attestor.workload.Caller;
import io.mithril.agent.attestor.workload.WorkloadAttestationException;
import io.mithril.agent.attestor.workload.unix.ProcessInfo;
import io.mithril.agent.attestor.workload.unix.UnixWorkloadAttestor;
import io.mithril.api.selector.Selector;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The processes running on this host, each with the {@code unix} selectors the agent's own {@link
 * UnixWorkloadAttestor} would give it if it called the Workload API now: what {@code doctor}
 * matches registration entries against. {@code unix:sha256} is never computed (that would read
 * every executable); a process whose executable this user may not read has no {@code unix:path} and
 * is marked {@linkplain Process#partial() partial}.
 */
final class HostWorkloads {

    /** One process and its selectors ({@code unix:uid:0}, ...). */
    record Process(int pid, Set<String> selectors, boolean partial) {}

    private final List<Process> processes;

    private HostWorkloads(List<Process> processes) {
        this.processes = processes;
    }

    List<Process> processes() {
        return processes;
    }

    /** A snapshot of {@code /proc}. */
    static HostWorkloads snapshot() throws IOException {
        UnixWorkloadAttestor withPath = new UnixWorkloadAttestor(true, 0);
        UnixWorkloadAttestor withoutPath = new UnixWorkloadAttestor(false, 0);
        List<Process> out = new ArrayList<>();
        Path proc = Path.of("/proc");
        try (Stream<Path> s = Files.list(proc)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                int pid = Integer.parseInt(name);
                Caller caller = caller(proc, pid);
                if (caller == null) {
                    continue; // gone meanwhile, or a kernel thread
                }
                try {
                    out.add(new Process(pid, strings(withPath.attest(caller)), false));
                } catch (WorkloadAttestationException e) {
                    try {
                        out.add(new Process(pid, strings(withoutPath.attest(caller)), true));
                    } catch (WorkloadAttestationException gone) {
                        // exited while we looked
                    }
                }
            }
        }
        return new HostWorkloads(out);
    }

    /** The verdict for one entry's selectors. */
    enum Match {
        MATCHED,
        NONE,
        UNKNOWN
    }

    /**
     * Whether some process has every selector of the entry (the agent's rule: an entry's selectors
     * are a subset of the workload's). {@code UNKNOWN}: no full match, but a process whose path
     * could not be read matches every other selector, or the entry asks for {@code unix:sha256}.
     */
    Match match(Set<String> entrySelectors) {
        boolean hash = entrySelectors.stream().anyMatch(sel -> sel.startsWith("unix:sha256:"));
        Set<String> withoutUnreadable = new HashSet<>();
        for (String sel : entrySelectors) {
            if (!sel.startsWith("unix:sha256:") && !sel.startsWith("unix:path:")) {
                withoutUnreadable.add(sel);
            }
        }
        boolean maybe = false;
        for (Process p : processes) {
            if (!hash && p.selectors().containsAll(entrySelectors)) {
                return Match.MATCHED;
            }
            if ((hash || p.partial()) && p.selectors().containsAll(withoutUnreadable)) {
                maybe = true;
            }
        }
        return maybe ? Match.UNKNOWN : Match.NONE;
    }

    private static Caller caller(Path proc, int pid) {
        try {
            int uid = -1;
            int gid = -1;
            for (String line :
                    Files.readAllLines(proc.resolve(pid + "/status"), StandardCharsets.UTF_8)) {
                // Real, effective, saved, filesystem: the kernel records the effective ids of a
                // socket's peer (SO_PEERCRED), which is what the agent attests.
                if (line.startsWith("Uid:")) {
                    uid = Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
                } else if (line.startsWith("Gid:")) {
                    gid = Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
                }
            }
            // Kernel threads (and zombies) have no command line and no executable: not workloads.
            if (uid < 0
                    || gid < 0
                    || Files.readAllBytes(proc.resolve(pid + "/cmdline")).length == 0
                            && isKernelThread(proc, pid)) {
                return null;
            }
            return new Caller(pid, uid, gid, ProcessInfo.startTime(proc, pid));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * No executable: a kernel thread (another user's process has one, only unreadable: EACCES, not
     * ENOENT).
     */
    private static boolean isKernelThread(Path proc, int pid) {
        try {
            Files.readSymbolicLink(proc.resolve(pid + "/exe"));
            return false;
        } catch (java.nio.file.NoSuchFileException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static Set<String> strings(List<Selector> selectors) {
        Set<String> out = new HashSet<>();
        selectors.forEach(s -> out.add(s.toString()));
        return out;
    }
}
