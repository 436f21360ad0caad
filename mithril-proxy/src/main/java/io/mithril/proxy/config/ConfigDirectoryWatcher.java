package io.mithril.proxy.config;

import io.mithril.mesh.model.Resource;
import io.mithril.mesh.yaml.MeshYaml;
import io.mithril.mesh.yaml.ValidationError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A directory of Istio YAML ({@code *.yaml}, {@code *.yml}) as a configuration source: read at
 * start, then polled; a change is parsed and validated as a whole and handed on only when valid. An
 * invalid change is logged with every error and the last good configuration stays. Polling (names,
 * sizes, modification times) also sees editors' rename-into-place writes.
 */
public final class ConfigDirectoryWatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ConfigDirectoryWatcher.class);

    private final Path dir;
    private final Consumer<List<Resource>> sink;
    private final ScheduledExecutorService timer;
    private String fingerprint = "";

    private ConfigDirectoryWatcher(Path dir, Consumer<List<Resource>> sink) {
        this.dir = dir;
        this.sink = sink;
        this.timer =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "config-watch " + dir);
                            t.setDaemon(true);
                            return t;
                        });
    }

    /**
     * Loads {@code dir} now and then watches it every {@code interval}.
     *
     * @return the watcher, and whether the first load succeeded via {@link #loadedOnce()}
     */
    public static ConfigDirectoryWatcher start(
            Path dir, Duration interval, Consumer<List<Resource>> sink) {
        ConfigDirectoryWatcher w = new ConfigDirectoryWatcher(dir, sink);
        w.poll();
        w.timer.scheduleWithFixedDelay(
                w::poll, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        return w;
    }

    private volatile boolean loaded;

    /** Whether a valid configuration was loaded at least once. */
    public boolean loadedOnce() {
        return loaded;
    }

    private List<Path> files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(
                            p -> {
                                String n = p.getFileName().toString();
                                return (n.endsWith(".yaml") || n.endsWith(".yml"))
                                        && !n.startsWith(".");
                            })
                    .sorted()
                    .toList();
        }
    }

    private synchronized void poll() {
        try {
            List<Path> files = files();
            StringBuilder fp = new StringBuilder();
            for (Path f : files) {
                BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
                fp.append(f)
                        .append('|')
                        .append(a.size())
                        .append('|')
                        .append(a.lastModifiedTime().toMillis())
                        .append('\n');
            }
            String now = fp.toString();
            if (now.equals(fingerprint)) {
                return;
            }
            fingerprint = now;
            MeshYaml.Result r = MeshYaml.parseFiles(files);
            if (!r.ok()) {
                log.error(
                        "configuration in {} rejected ({} errors); keeping the last good configuration:",
                        dir,
                        r.errors().size());
                for (ValidationError e : r.errors()) {
                    log.error("  {}", e);
                }
                return;
            }
            log.info(
                    "configuration read from {}: {} resources in {} files",
                    dir,
                    r.resources().size(),
                    files.size());
            sink.accept(r.resources());
            loaded = true;
        } catch (IOException | RuntimeException e) {
            log.error(
                    "cannot read configuration directory {}: {}; keeping the last good configuration",
                    dir,
                    e.toString());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
