package io.mithril.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassSharingTest {

    @TempDir Path tmp;

    private Path jar(String name, String content) throws Exception {
        Path jar = tmp.resolve(name);
        java.util.jar.Manifest mf = new java.util.jar.Manifest();
        mf.getMainAttributes().put(java.util.jar.Attributes.Name.MANIFEST_VERSION, "1.0");
        try (java.util.jar.JarOutputStream out =
                new java.util.jar.JarOutputStream(Files.newOutputStream(jar), mf)) {
            out.putNextEntry(new java.util.zip.ZipEntry(content + ".txt"));
            out.write(content.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            out.closeEntry();
        }
        return jar;
    }

    @Test
    void eachKindOfProcessHasItsOwnArchive() {
        assertThat(ClassSharing.role(List.of("server", "run", "-config", "x")))
                .isEqualTo("server-run");
        assertThat(ClassSharing.role(List.of("proxy", "sidecar"))).isEqualTo("proxy-sidecar");
        assertThat(ClassSharing.role(List.of("sample", "details", "-port", "1")))
                .isEqualTo("sample");
        assertThat(ClassSharing.role(List.of("sample", "sleep"))).isEqualTo("sample");
    }

    @Test
    void fingerprintChangesWhenAJarIsRebuilt() throws Exception {
        Path jar = jar("a.jar", "one");
        String before = ClassSharing.fingerprint(jar.toString());
        assertThat(ClassSharing.fingerprint(jar.toString())).isEqualTo(before);
        Files.setLastModifiedTime(
                jar, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() + 5000));
        assertThat(ClassSharing.fingerprint(jar.toString())).isNotEqualTo(before);
    }

    @Test
    void firstProcessOfAKindTrainsAndTheOthersRunPlainUntilAnArchiveExists() throws Exception {
        Path jar = jar("a.jar", "x");
        ClassSharing cds =
                ClassSharing.forClassPath(
                        jar.toString(), tmp.resolve("store"), tmp.resolve("state"));
        assertThat(cds.options("server-run"))
                .anyMatch(o -> o.startsWith("-XX:DumpLoadedClassList="));
        assertThat(cds.training()).isTrue();
        assertThat(cds.options("server-run"))
                .noneMatch(
                        o ->
                                o.startsWith("-XX:DumpLoadedClassList=")
                                        || o.startsWith("-XX:SharedArchiveFile="));
        Path archive =
                tmp.resolve("store")
                        .resolve(ClassSharing.fingerprint(jar.toString()))
                        .resolve(ClassSharing.ARCHIVE);
        Files.createDirectories(archive.getParent());
        Files.writeString(archive, "archive");
        assertThat(cds.options("agent-run")).contains("-XX:SharedArchiveFile=" + archive);
    }

    @Test
    void aClassDirectoryOnThePathSwitchesSharingOff() throws Exception {
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        ClassSharing cds =
                ClassSharing.forClassPath(
                        classes.toString(), tmp.resolve("store"), tmp.resolve("state"));
        assertThat(cds.options("server-run")).isEmpty();
        assertThat(ClassSharing.off().options("server-run")).isEmpty();
    }

    @Test
    void aTrainingProcessThatLeftNoClassListStoresNoArchive() throws Exception {
        Path jar = jar("a.jar", "x");
        ClassSharing cds =
                ClassSharing.forClassPath(
                        jar.toString(), tmp.resolve("store"), tmp.resolve("state"));
        cds.options("server-run");
        assertThat(cds.commit(DemoCommand.javaCommand(), jar.toString(), tmp)).isEmpty();
        assertThat(cds.training()).isFalse();
    }
}
