package io.mithril.agent.attestor.workload.unix;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads what Linux publishes about a process under {@code /proc/<pid>}. */
public final class ProcessInfo {

    private ProcessInfo() {}

    /**
     * The process start time in clock ticks since boot (field 22 of {@code /proc/<pid>/stat}), or
     * -1 if the process does not exist.
     *
     * @throws IOException if /proc cannot be read or the stat line is malformed
     */
    public static long startTime(Path proc, int pid) throws IOException {
        String stat;
        try {
            stat =
                    Files.readString(
                            proc.resolve(Integer.toString(pid)).resolve("stat"),
                            StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return -1;
        }
        // The command name (field 2) is in parentheses and may itself contain spaces and ')':
        // fields are counted after the LAST ')'.
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            throw new IOException(
                    "malformed /proc/" + pid + "/stat: no ')' after the command name");
        }
        String[] rest = stat.substring(close + 2).trim().split(" ");
        // rest[0] is field 3 (state), so field 22 is rest[19].
        if (rest.length < 20) {
            throw new IOException(
                    "malformed /proc/"
                            + pid
                            + "/stat: "
                            + rest.length
                            + " fields after the command name");
        }
        return Long.parseLong(rest[19]);
    }

    /**
     * The supplementary group ids ({@code Groups:} of {@code /proc/<pid>/status}).
     *
     * @throws IOException if the process is gone or its status cannot be read
     */
    public static List<Integer> supplementaryGroups(Path proc, int pid) throws IOException {
        List<Integer> groups = new ArrayList<>();
        for (String line :
                Files.readAllLines(
                        proc.resolve(Integer.toString(pid)).resolve("status"),
                        StandardCharsets.UTF_8)) {
            if (line.startsWith("Groups:")) {
                for (String g : line.substring("Groups:".length()).trim().split("\\s+")) {
                    if (!g.isEmpty()) {
                        groups.add(Integer.parseInt(g));
                    }
                }
            }
        }
        return groups;
    }
}
