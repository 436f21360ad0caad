package io.mithril.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * The machine a bench ran on, printed above every table so figures are never compared across
 * machines by accident.
 *
 * @param cores available processors
 * @param cpuModel {@code model name} from /proc/cpuinfo, or "unknown"
 * @param jdk Java version and VM
 * @param os operating system and kernel
 * @param date when the bench started (UTC, seconds)
 * @param loadAverage /proc/loadavg's 1, 5 and 15 minute figures when the bench started, or
 *     "unknown"
 */
public record Machine(
        int cores, String cpuModel, String jdk, String os, Instant date, String loadAverage) {

    /** The machine this process runs on, now. */
    public static Machine current() {
        return new Machine(
                Runtime.getRuntime().availableProcessors(),
                cpuModel(Path.of("/proc/cpuinfo")),
                System.getProperty("java.version")
                        + " ("
                        + System.getProperty("java.vm.name")
                        + ", "
                        + System.getProperty("java.vendor")
                        + ")",
                System.getProperty("os.name")
                        + " "
                        + System.getProperty("os.version")
                        + " "
                        + System.getProperty("os.arch"),
                Instant.now().truncatedTo(ChronoUnit.SECONDS),
                loadAverage(Path.of("/proc/loadavg")));
    }

    /** The first three fields of a loadavg file. */
    static String loadAverage(Path loadavg) {
        try {
            String[] f = Files.readString(loadavg).trim().split("\\s+");
            return f.length >= 3 ? f[0] + " " + f[1] + " " + f[2] : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** The first {@code model name} line of a cpuinfo file. */
    static String cpuModel(Path cpuinfo) {
        try {
            List<String> lines = Files.readAllLines(cpuinfo);
            for (String l : lines) {
                if (l.startsWith("model name")) {
                    int colon = l.indexOf(':');
                    return colon < 0 ? "unknown" : l.substring(colon + 1).trim();
                }
            }
        } catch (IOException e) {
            // not Linux, or /proc not mounted
        }
        return "unknown";
    }

    /** The 1-minute load average, or 0 if unknown. */
    public double oneMinuteLoad() {
        try {
            return Double.parseDouble(loadAverage.split(" ")[0]);
        } catch (RuntimeException e) {
            return 0;
        }
    }

    /** Markdown lines describing the machine. */
    public String markdown() {
        return "- Machine: "
                + cores
                + " cores, "
                + cpuModel
                + "\n"
                + "- JDK: "
                + jdk
                + "\n"
                + "- OS: "
                + os
                + "\n"
                + "- Date: "
                + date
                + "\n"
                + "- Load average at start (1/5/15 min): "
                + loadAverage
                + "\n";
    }
}
