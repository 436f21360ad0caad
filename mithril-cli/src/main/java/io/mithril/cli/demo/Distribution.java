package io.mithril.cli.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * Copies a class path (jars, their manifest Class-Path entries, class directories) into one
 * readable place.
 */
final class Distribution {

    private Distribution() {}

    /**
     * Copies every entry of {@code classPath} under {@code target} and returns the new class path.
     */
    static String copy(String classPath, Path target) {
        try {
            Files.createDirectories(target);
            List<String> entries = new ArrayList<>();
            int n = 0;
            for (String entry : classPath.split(java.io.File.pathSeparator)) {
                if (entry.isEmpty()) {
                    continue;
                }
                Path src = Path.of(entry).toAbsolutePath();
                if (Files.isDirectory(src)) {
                    Path dst = target.resolve("classes-" + n++);
                    copyTree(src, dst);
                    entries.add(dst.toString());
                } else if (Files.isRegularFile(src)) {
                    Path dst = target.resolve(src.getFileName());
                    copyFile(src, dst);
                    entries.add(dst.toString());
                    // A jar's manifest Class-Path (mithril-cli.jar's lib/...) is relative to the
                    // jar.
                    for (String rel : manifestClassPath(src)) {
                        copyFile(src.resolveSibling(rel), target.resolve(rel));
                    }
                }
            }
            return String.join(java.io.File.pathSeparator, entries);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot copy the class path into " + target + ": " + e.getMessage(), e);
        }
    }

    /**
     * Whether every uid can read {@code classPath}: each jar (and its manifest Class-Path jars)
     * readable by others and each directory above it searchable by others. Class directories are
     * not checked file by file: a class path with one is reported unreadable (and copied).
     */
    static boolean readableByAll(String classPath) {
        try {
            for (String entry : classPath.split(java.io.File.pathSeparator)) {
                if (entry.isEmpty()) {
                    continue;
                }
                Path jar = Path.of(entry).toAbsolutePath().normalize();
                if (!Files.isRegularFile(jar) || !otherReadable(jar)) {
                    return false;
                }
                for (String rel : manifestClassPath(jar)) {
                    if (!otherReadable(jar.resolveSibling(rel).normalize())) {
                        return false;
                    }
                }
            }
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static boolean otherReadable(Path file) throws IOException {
        if (!Files.isRegularFile(file)
                || !Files.getPosixFilePermissions(file)
                        .contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
            return false;
        }
        for (Path d = file.getParent(); d != null; d = d.getParent()) {
            if (!Files.getPosixFilePermissions(d)
                    .contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
                return false;
            }
        }
        return true;
    }

    private static List<String> manifestClassPath(Path jar) throws IOException {
        if (!jar.toString().endsWith(".jar")) {
            return List.of();
        }
        try (JarFile jf = new JarFile(jar.toFile())) {
            if (jf.getManifest() == null) {
                return List.of();
            }
            String cp = jf.getManifest().getMainAttributes().getValue("Class-Path");
            return cp == null || cp.isBlank() ? List.of() : List.of(cp.trim().split("\\s+"));
        }
    }

    private static void copyFile(Path src, Path dst) throws IOException {
        if (!Files.isRegularFile(src)) {
            return;
        }
        if (Files.exists(dst)
                && Files.size(dst) == Files.size(src)
                && Files.getLastModifiedTime(dst).equals(Files.getLastModifiedTime(src))) {
            return;
        }
        Files.createDirectories(dst.getParent());
        Files.copy(
                src, dst, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
    }

    private static void copyTree(Path src, Path dst) throws IOException {
        try (Stream<Path> files = Files.walk(src)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path t = dst.resolve(src.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(t);
                } else {
                    copyFile(f, t);
                }
            }
        }
    }
}
