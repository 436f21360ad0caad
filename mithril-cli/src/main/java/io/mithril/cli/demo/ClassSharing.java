package io.mithril.cli.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * Application Class Data Sharing for the demo's child JVMs (JDK 17 dynamic archives).
 *
 * <p>Twenty JVMs loading grpc, Netty and BouncyCastle on two cores spend much of their start-up
 * parsing and verifying the same classes. The first demo run is the training run: one process of
 * each kind (identity server, agent, control plane, gateway, sidecar, sample, Workload API client)
 * runs with {@code -XX:DumpLoadedClassList}; once every process has stopped, one {@code java
 * -Xshare:dump} turns the union of their lists into one static archive ({@value #ARCHIVE}), which
 * every child of later runs maps ({@code -XX:SharedArchiveFile}).
 *
 * <p>One archive for all kinds, not one per kind: the kinds load mostly the same classes (grpc,
 * Netty, protobuf, BouncyCastle), so the union is little bigger than the largest list; one dump
 * instead of seven makes the training stop about four times cheaper, and every child maps the same
 * file, so its pages are in memory once for all twenty processes instead of once per kind.
 *
 * <p>Why static, not {@code -XX:ArchiveClassesAtExit}: JDK 17.0.15's dynamic dump (and a static
 * dump of a list naming lambda proxy classes) crashes in {@code
 * SystemDictionaryShared::adjust_lambda_proxy_class_dictionary} for the server and agent, so the
 * lists are dumped without their {@code @lambda-proxy} lines (lambdas are then spun at run time, as
 * without CDS).
 *
 * <p>Archives live in a directory named after a fingerprint of the class path (every jar's path,
 * size and modification time, and the JDK), so a rebuilt jar or another JDK simply finds no archive
 * and trains again; older fingerprints are removed. A missing archive means the child runs as
 * before (only the JDK's own archive). The JVM's CDS warnings are silenced: a stale or unusable
 * archive only means slower start-up, never a failed process.
 */
final class ClassSharing {

    private final boolean enabled;
    private final Path store;
    private final Path training;
    private final Map<String, Path> pending = new LinkedHashMap<>();

    /** The archive's file name in the store. */
    static final String ARCHIVE = "mithril.jsa";

    private ClassSharing(boolean enabled, Path store, Path training) {
        this.enabled = enabled;
        this.store = store;
        this.training = training;
    }

    /** Class sharing switched off: children get no extra options. */
    static ClassSharing off() {
        return new ClassSharing(false, null, null);
    }

    /**
     * Class sharing for children run with {@code classPath}; archives are kept in {@code
     * storeRoot/<fingerprint>}; training archives are written under {@code stateDir} first
     * (writable by the workloads' uids) and moved into the store once their process has exited.
     */
    static ClassSharing forClassPath(String classPath, Path storeRoot, Path stateDir) {
        for (String entry : classPath.split(java.io.File.pathSeparator)) {
            // CDS archives classes from jar files only (a class directory on the path stops the
            // dump).
            if (!entry.isEmpty() && !entry.endsWith(".jar")) {
                return off();
            }
        }
        try {
            String fp = fingerprint(classPath);
            Path store = storeRoot.resolve(fp);
            return new ClassSharing(true, store, stateDir.resolve("cds-training"));
        } catch (IOException | RuntimeException e) {
            return off();
        }
    }

    /** The kind of process a mithril command line starts: one archive per kind. */
    static String role(List<String> args) {
        if (args.isEmpty()) {
            return "other";
        }
        if (args.get(0).equals("sample")) {
            return "sample";
        }
        return args.size() > 1 ? args.get(0) + "-" + args.get(1) : args.get(0);
    }

    /**
     * The JVM options for a child of kind {@code role}: use the archive when there is one, else let
     * the first such child of this run write its class list; later ones of the same kind run plain.
     */
    List<String> options(String role) {
        return options(role, DemoCommand.UID);
    }

    /**
     * As {@link #options(String)} for a child that runs as {@code uid} (it writes its class list
     * itself).
     */
    synchronized List<String> options(String role, int uid) {
        if (!enabled) {
            return List.of();
        }
        List<String> opts = new ArrayList<>();
        Path archive = store.resolve(ARCHIVE);
        if (Files.isReadable(archive)) {
            opts.add("-XX:SharedArchiveFile=" + archive);
        } else if (!pending.containsKey(role)) {
            try {
                // Root's directory, one file per kind owned by the uid whose JVM writes it: no
                // other user can plant or swap the list the archive is later dumped from.
                StateDir.dir(training, StateDir.PUBLIC);
                Path out =
                        StateDir.ownedFile(training.resolve(role + ".classlist"), "rw-------", uid);
                pending.put(role, out);
                opts.add("-XX:DumpLoadedClassList=" + out);
            } catch (IOException e) {
                return List.of();
            }
        }
        // A stale or unusable archive costs start-up time only: keep the JVM quiet about it.
        opts.add("-Xlog:cds=off,cds+dynamic=off");
        return opts;
    }

    /** Whether this run trains at least one archive. */
    synchronized boolean training() {
        return !pending.isEmpty();
    }

    /**
     * After every child has exited: dumps one static archive from the union of the class lists of
     * this run ({@code java} and {@code classPath} as the children use them), moves it into the
     * store (readable by all) and removes archives of older class paths. Returns the kinds whose
     * classes it holds; a failed dump only means the next run trains again.
     */
    synchronized List<String> commit(String javaCommand, String classPath, Path errorDir) {
        List<String> stored = new ArrayList<>();
        if (!enabled || pending.isEmpty()) {
            return stored;
        }
        try {
            Files.createDirectories(store);
            Files.setPosixFilePermissions(store, PosixFilePermissions.fromString("rwxr-xr-x"));
            // Whole lines only (a killed process may leave half a line), no lambda proxies (see
            // above), each class once, in the order first loaded.
            java.util.Set<String> union = new java.util.LinkedHashSet<>();
            List<String> kinds = new ArrayList<>();
            for (Map.Entry<String, Path> e : pending.entrySet()) {
                List<String> lines = wholeLines(e.getValue());
                if (!lines.isEmpty()) {
                    union.addAll(lines);
                    kinds.add(e.getKey());
                }
            }
            if (!union.isEmpty() && dump(union, javaCommand, classPath, errorDir)) {
                stored.addAll(kinds);
            }
            removeOtherFingerprints();
        } catch (IOException | UnsupportedOperationException e) {
            // Not fatal: the next run trains again.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            for (Path list : pending.values()) {
                try {
                    Files.deleteIfExists(list);
                } catch (IOException e) {
                    // in the state directory, which the user removes
                }
            }
            pending.clear();
        }
        return stored;
    }

    private static List<String> wholeLines(Path classList) throws IOException {
        if (!Files.isRegularFile(classList)) {
            return List.of();
        }
        String text = Files.readString(classList);
        int end = text.lastIndexOf('\n');
        List<String> kept = new ArrayList<>();
        for (String line : (end < 0 ? "" : text.substring(0, end)).split("\n")) {
            if (!line.isBlank() && !line.startsWith("@lambda-proxy")) {
                kept.add(line);
            }
        }
        return kept;
    }

    private boolean dump(
            java.util.Set<String> classes, String javaCommand, String classPath, Path errorDir)
            throws IOException, InterruptedException {
        StringBuilder kept = new StringBuilder();
        classes.forEach(line -> kept.append(line).append('\n'));
        Path list = Files.createTempFile(store, "mithril", ".classlist");
        Path tmp = store.resolve(ARCHIVE + ".tmp" + ProcessHandle.current().pid());
        try {
            Files.writeString(list, kept);
            Files.deleteIfExists(tmp);
            Process p =
                    new ProcessBuilder(
                                    javaCommand,
                                    "-XX:+UseSerialGC",
                                    "-Xshare:dump",
                                    "-XX:SharedClassListFile=" + list,
                                    "-XX:SharedArchiveFile=" + tmp,
                                    "-XX:ErrorFile=" + errorDir.resolve("hs_err_cds_%p.log"),
                                    "-Xlog:cds=off,cds+dynamic=off",
                                    "-cp",
                                    classPath)
                            .redirectErrorStream(true)
                            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                            .start();
            if (!p.waitFor(3, TimeUnit.MINUTES)) {
                p.destroyForcibly().waitFor();
                return false;
            }
            if (p.exitValue() != 0 || !Files.isRegularFile(tmp)) {
                return false;
            }
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            Files.move(
                    tmp,
                    store.resolve(ARCHIVE),
                    StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
            return true;
        } finally {
            Files.deleteIfExists(list);
            Files.deleteIfExists(tmp);
        }
    }

    private void removeOtherFingerprints() throws IOException {
        try (Stream<Path> dirs = Files.list(store.getParent())) {
            for (Path d : (Iterable<Path>) dirs::iterator) {
                if (!d.equals(store)
                        && Files.isDirectory(d)
                        && d.getFileName().toString().matches("[0-9a-f]{16}")) {
                    try (Stream<Path> files = Files.list(d)) {
                        for (Path f : (Iterable<Path>) files::iterator) {
                            Files.deleteIfExists(f);
                        }
                    }
                    Files.deleteIfExists(d);
                }
            }
        }
    }

    /**
     * The path, size and modification time of every class path entry and manifest Class-Path jar,
     * and the JDK.
     */
    static String fingerprint(String classPath) throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append(System.getProperty("java.home"))
                .append('|')
                .append(System.getProperty("java.vm.version"))
                .append('\n');
        for (String entry : classPath.split(java.io.File.pathSeparator)) {
            if (entry.isEmpty()) {
                continue;
            }
            Path p = Path.of(entry).toAbsolutePath();
            describe(p, sb);
            if (Files.isRegularFile(p) && p.toString().endsWith(".jar")) {
                try (JarFile jf = new JarFile(p.toFile())) {
                    String cp =
                            jf.getManifest() == null
                                    ? null
                                    : jf.getManifest().getMainAttributes().getValue("Class-Path");
                    if (cp != null && !cp.isBlank()) {
                        for (String rel : cp.trim().split("\\s+")) {
                            describe(p.resolveSibling(rel), sb);
                        }
                    }
                }
            }
        }
        try {
            byte[] h =
                    MessageDigest.getInstance("SHA-256")
                            .digest(sb.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void describe(Path p, StringBuilder sb) throws IOException {
        sb.append(p);
        if (Files.isRegularFile(p)) {
            sb.append('|')
                    .append(Files.size(p))
                    .append('|')
                    .append(Files.getLastModifiedTime(p).toMillis());
        } else if (Files.isDirectory(p)) {
            // A class directory (running from an IDE): its classes can change without the
            // directory's time changing; fingerprint the newest file in it.
            try (Stream<Path> files = Files.walk(p)) {
                sb.append("|dir|")
                        .append(
                                files.filter(Files::isRegularFile)
                                        .mapToLong(
                                                f -> {
                                                    try {
                                                        return Files.getLastModifiedTime(f)
                                                                .toMillis();
                                                    } catch (IOException e) {
                                                        return 0;
                                                    }
                                                })
                                        .max()
                                        .orElse(0));
            }
        }
        sb.append('\n');
    }
}
