package io.mithril.agent.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs a Java main class of the test classpath as another user ({@code setpriv --reuid}), the way a
 * workload under its own uid calls the agent. The test classpath lives under /root (mode 0700), so
 * it is copied once into a world-readable temporary directory.
 */
public final class ForeignUid {

    private static Path classpathCopy;
    private static String classpath;

    private ForeignUid() {}

    /** The result of a finished process. */
    public record Result(int exitCode, String stdout, String stderr) {}

    public static synchronized String worldReadableClasspath() throws IOException {
        if (classpath != null) {
            return classpath;
        }
        String cp =
                System.getProperty(
                        "surefire.test.class.path", System.getProperty("java.class.path"));
        classpathCopy = Files.createTempDirectory("mithril-cp-");
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String e : cp.split(File.pathSeparator)) {
            Path src = Path.of(e);
            if (!Files.exists(src)) {
                continue;
            }
            Path dst = classpathCopy.resolve((i++) + "-" + src.getFileName());
            if (Files.isDirectory(src)) {
                try (Stream<Path> walk = Files.walk(src)) {
                    for (Path p : (Iterable<Path>) walk::iterator) {
                        Path t = dst.resolve(src.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(t);
                        } else {
                            Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            } else {
                Files.copy(src, dst);
            }
            entries.add(dst.toString());
        }
        try (Stream<Path> walk = Files.walk(classpathCopy)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                Files.setPosixFilePermissions(
                        p,
                        PosixFilePermissions.fromString(
                                Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    try (Stream<Path> walk = Files.walk(classpathCopy)) {
                                        walk.sorted((a, b) -> b.getNameCount() - a.getNameCount())
                                                .forEach(p -> p.toFile().delete());
                                    } catch (IOException ignored) {
                                        // temp dir cleanup is best effort
                                    }
                                }));
        classpath = String.join(File.pathSeparator, entries);
        return classpath;
    }

    /** Runs {@code mainClass args} as uid:gid (no supplementary groups) and waits for it. */
    public static Result runJava(int uid, int gid, String mainClass, String... args)
            throws IOException, InterruptedException {
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                "setpriv",
                                "--reuid",
                                Integer.toString(uid),
                                "--regid",
                                Integer.toString(gid),
                                "--clear-groups",
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-XX:+UseSerialGC",
                                "-XX:TieredStopAtLevel=1",
                                "-cp",
                                worldReadableClasspath(),
                                mainClass));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    /** The lines of a {@link FetchIdentityMain} run that are its answers (not log lines). */
    public static List<String> answers(Result r) {
        return r.stdout()
                .lines()
                .filter(l -> l.startsWith("ID ") || l.startsWith("STATUS "))
                .toList();
    }

    /** Runs a command and collects its output. */
    public static Result run(List<String> cmd) throws IOException, InterruptedException {
        Path out = Files.createTempFile("mithril-out-", ".txt");
        Path err = Files.createTempFile("mithril-err-", ".txt");
        try {
            Process p =
                    new ProcessBuilder(cmd)
                            .redirectOutput(out.toFile())
                            .redirectError(err.toFile())
                            .start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("process did not finish in 60s: " + cmd);
            }
            return new Result(
                    p.exitValue(),
                    Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
