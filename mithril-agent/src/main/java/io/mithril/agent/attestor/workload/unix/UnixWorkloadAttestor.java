package io.mithril.agent.attestor.workload.unix;

import io.mithril.agent.attestor.workload.Caller;
import io.mithril.agent.attestor.workload.WorkloadAttestationException;
import io.mithril.agent.attestor.workload.WorkloadAttestor;
import io.mithril.api.selector.Selector;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The {@code unix} workload attestor: selectors from the caller's kernel credentials.
 *
 * <p>{@code unix:uid:<n>}, {@code unix:user:<name>}, {@code unix:gid:<n>}, {@code
 * unix:group:<name>}, {@code unix:supplementary_gid:<n>} (and {@code
 * unix:supplementary_group:<name>}); with {@code discover_workload_path}, {@code
 * unix:path:<executable>} and {@code unix:sha256:<hex of the executable>}. uid and gid are the ones
 * the kernel recorded for the connection; supplementary groups and the executable are read from
 * {@code /proc/<pid>}, and the process start time is checked again afterwards, so a pid reused by
 * another process fails attestation instead of lending its identity.
 */
public final class UnixWorkloadAttestor implements WorkloadAttestor {

    private final boolean discoverWorkloadPath;
    private final long workloadSizeLimit;
    private final Path proc;
    private final Path etc;

    /**
     * @param discoverWorkloadPath add {@code path} and {@code sha256} selectors
     * @param workloadSizeLimit largest executable to hash, in bytes (0: no hash, -1: no limit)
     */
    public UnixWorkloadAttestor(boolean discoverWorkloadPath, long workloadSizeLimit) {
        this(discoverWorkloadPath, workloadSizeLimit, Path.of("/proc"), Path.of("/etc"));
    }

    UnixWorkloadAttestor(
            boolean discoverWorkloadPath, long workloadSizeLimit, Path proc, Path etc) {
        this.discoverWorkloadPath = discoverWorkloadPath;
        this.workloadSizeLimit = workloadSizeLimit;
        this.proc = proc;
        this.etc = etc;
    }

    @Override
    public String type() {
        return "unix";
    }

    @Override
    public List<Selector> attest(Caller caller) throws WorkloadAttestationException {
        List<Selector> out = new ArrayList<>();
        out.add(sel("uid:" + caller.uid()));
        lookup(etc.resolve("passwd"), caller.uid()).ifPresent(name -> out.add(sel("user:" + name)));
        out.add(sel("gid:" + caller.gid()));
        lookup(etc.resolve("group"), caller.gid()).ifPresent(name -> out.add(sel("group:" + name)));
        try {
            for (int g : ProcessInfo.supplementaryGroups(proc, caller.pid())) {
                out.add(sel("supplementary_gid:" + g));
                lookup(etc.resolve("group"), g)
                        .ifPresent(name -> out.add(sel("supplementary_group:" + name)));
            }
            if (discoverWorkloadPath) {
                Path exe =
                        Files.readSymbolicLink(
                                proc.resolve(Integer.toString(caller.pid())).resolve("exe"));
                out.add(sel("path:" + exe));
                if (workloadSizeLimit != 0) {
                    // Hash through /proc/<pid>/exe (the very file the process runs, even if its
                    // path was replaced since), not the path name.
                    Path image = proc.resolve(Integer.toString(caller.pid())).resolve("exe");
                    long size = Files.size(image);
                    if (workloadSizeLimit > 0 && size > workloadSizeLimit) {
                        throw new WorkloadAttestationException(
                                "pid "
                                        + caller.pid()
                                        + ": executable "
                                        + exe
                                        + " is "
                                        + size
                                        + " bytes, over workload_size_limit "
                                        + workloadSizeLimit);
                    }
                    out.add(sel("sha256:" + sha256(image)));
                }
            }
        } catch (IOException e) {
            throw new WorkloadAttestationException(
                    "pid " + caller.pid() + ": cannot read /proc: " + e.getMessage(), e);
        }
        checkSameProcess(caller);
        return out;
    }

    private void checkSameProcess(Caller caller) throws WorkloadAttestationException {
        if (caller.startTime() < 0) {
            return;
        }
        long now;
        try {
            now = ProcessInfo.startTime(proc, caller.pid());
        } catch (IOException e) {
            throw new WorkloadAttestationException(
                    "pid " + caller.pid() + ": cannot read its start time: " + e.getMessage(), e);
        }
        if (now != caller.startTime()) {
            throw new WorkloadAttestationException(
                    "pid "
                            + caller.pid()
                            + " no longer names the process that connected"
                            + " (start time "
                            + caller.startTime()
                            + ", now "
                            + (now < 0 ? "gone" : now)
                            + "): refusing to attest a reused pid");
        }
    }

    private static Selector sel(String value) {
        return new Selector("unix", value);
    }

    /** The name of id {@code id} in an /etc/passwd or /etc/group style file. */
    static Optional<String> lookup(Path file, int id) {
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String[] f = line.split(":", -1);
                if (f.length >= 3 && f[2].equals(Integer.toString(id))) {
                    return Optional.of(f[0]);
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from the JDK", e);
        }
    }
}
