package io.mithril.controlplane;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches a directory of Istio YAML and hands every valid state of it to a {@link ControlPlane}. On
 * a change (inotify through {@link WatchService}, and a fingerprint check every two seconds in case
 * an event is missed), the whole directory is re-read and validated as {@code mithril mesh
 * validate} does; a set with any error is rejected with one log line per error and nothing is
 * pushed, so the last good set stays in service.
 */
public final class ConfigWatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ConfigWatcher.class);

    /** Changes closer together than this are read once (an editor writes, renames, touches). */
    private static final long DEBOUNCE_MS = 100;

    private static final long POLL_MS = 2_000;

    private final Path dir;
    private final MeshValidator validator;
    private final ControlPlane controlPlane;
    private final ScheduledExecutorService scheduler;
    private final WatchService watchService;
    private final Thread watchThread;
    private ScheduledFuture<?> pending;
    private String fingerprint = "";

    private ConfigWatcher(Path dir, MeshValidator validator, ControlPlane controlPlane)
            throws IOException {
        this.dir = dir;
        this.validator = validator;
        this.controlPlane = controlPlane;
        this.scheduler =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "config-watcher");
                            t.setDaemon(true);
                            return t;
                        });
        this.watchService = dir.getFileSystem().newWatchService();
        dir.register(
                watchService,
                StandardWatchEventKinds.ENTRY_CREATE,
                StandardWatchEventKinds.ENTRY_MODIFY,
                StandardWatchEventKinds.ENTRY_DELETE);
        this.watchThread = new Thread(this::watch, "config-watch-" + dir.getFileName());
        this.watchThread.setDaemon(true);
    }

    /**
     * Loads {@code dir} once (synchronously; an invalid first set is logged and an empty set is
     * served until the files are fixed) and then watches it.
     *
     * @throws IOException if {@code dir} is not a directory or cannot be watched
     */
    public static ConfigWatcher start(Path dir, MeshValidator validator, ControlPlane controlPlane)
            throws IOException {
        Objects.requireNonNull(validator, "validator");
        Objects.requireNonNull(controlPlane, "controlPlane");
        if (!Files.isDirectory(dir)) {
            throw new IOException(
                    "configuration directory " + dir + " does not exist or is not a directory");
        }
        ConfigWatcher w = new ConfigWatcher(dir, validator, controlPlane);
        w.reloadIfChanged(); // before any thread of ours runs
        w.watchThread.start();
        w.scheduler.scheduleWithFixedDelay(
                w::reloadIfChanged, POLL_MS, POLL_MS, TimeUnit.MILLISECONDS);
        return w;
    }

    private void watch() {
        try {
            while (true) {
                WatchKey key = watchService.take();
                key.pollEvents();
                key.reset();
                scheduler.execute(this::schedule);
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closing
        }
    }

    private void schedule() {
        if (pending != null) {
            pending.cancel(false);
        }
        pending = scheduler.schedule(this::reloadIfChanged, DEBOUNCE_MS, TimeUnit.MILLISECONDS);
    }

    /** Names, sizes and modification times of the config files: what a change changes. */
    private String fingerprint(List<Path> files) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Path f : files) {
            BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
            sb.append(f.getFileName())
                    .append('|')
                    .append(a.size())
                    .append('|')
                    .append(a.lastModifiedTime().toMillis())
                    .append('|')
                    .append(a.fileKey())
                    .append('\n');
        }
        return sb.toString();
    }

    private void reloadIfChanged() {
        try {
            List<Path> files = MeshDocuments.configFiles(dir);
            String fp = fingerprint(files);
            if (fp.equals(fingerprint)) {
                return;
            }
            fingerprint = fp;
            load(files);
        } catch (IOException | RuntimeException e) {
            log.error("configuration in {} not reloaded: {}", dir, e.getMessage());
            fingerprint = ""; // try again at the next event or poll
        }
    }

    private void load(List<Path> files) throws IOException {
        Instant now = Instant.now();
        List<String> errors = new ArrayList<>(validator.validate(files));
        List<MeshDocument> docs = List.of();
        if (errors.isEmpty()) {
            try {
                docs = MeshDocuments.read(files);
            } catch (UncheckedIOException e) {
                errors.add(e.getMessage());
            }
        }
        if (!errors.isEmpty()) {
            log.error(
                    "configuration change in {} rejected ({} error{}); still serving version {}:",
                    dir,
                    errors.size(),
                    errors.size() == 1 ? "" : "s",
                    controlPlane.current().version());
            for (String e : errors) {
                log.error("  {}", e);
            }
            controlPlane.rejected(errors, now);
            return;
        }
        ConfigSet set = ConfigSet.of(docs, now);
        if (set.version().equals(controlPlane.current().version())
                && !controlPlane.current().loadedAt().equals(Instant.EPOCH)) {
            controlPlane.serve(set); // clears a previous rejection; pushes nothing new
            return;
        }
        log.info(
                "configuration version {} loaded from {} ({} files, {} resources)",
                set.version(),
                dir,
                files.size(),
                docs.size());
        controlPlane.serve(set);
    }

    @Override
    public void close() {
        try {
            watchService.close();
        } catch (IOException ignored) {
            // nothing to do
        }
        watchThread.interrupt();
        scheduler.shutdownNow();
    }
}
