package io.mithril.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import ch.qos.logback.core.spi.FilterReply;
import io.mithril.hcl.LogSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.slf4j.Marker;

/**
 * The services' logging, set up in code: one line per important event to stderr, the root level
 * from {@code MITHRIL_LOG_LEVEL} (default INFO; a config's {@code log_level} sets Mithril's own).
 *
 * <p>This is what logback.xml said; reading it cost every process logback's XML configurator and
 * the JDK's XML parser (some 600 classes, a tenth of a second of CPU at start), twenty times in the
 * demo. A configuration file still wins: {@code -Dlogback.configurationFile} or a {@code
 * logback-test.xml}/{@code logback.xml} on the class path (tests bring their own).
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogConfigurator extends ContextAwareBase implements Configurator {

    static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%logger{0}] %msg%n";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        ClassLoader loader = LogConfigurator.class.getClassLoader();
        if (System.getProperty("logback.configurationFile") != null
                || loader.getResource("logback-test.xml") != null
                || loader.getResource("logback.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(System.getenv("MITHRIL_LOG_LEVEL"), Level.INFO));
        root.addAppender(stderr);
        context.addTurboFilter(new UnixKeepAliveNoise());
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /**
     * Applies SPIRE's {@code log_format}, {@code log_file} and {@code log_source_location} (read by
     * {@link LogSettings#read}) to the root logger: its appenders are replaced by one that writes
     * text or JSON lines to stderr or, appending, to the file. The file is created owner-only
     * (0600), and an existing one that others can read is tightened to 0600 (logs name entries,
     * agents and callers). The default settings change nothing.
     *
     * @throws IOException when the file cannot be created or opened, naming it
     */
    public static void apply(LogSettings settings) throws IOException {
        if (org.slf4j.LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
            apply(context, settings);
        }
    }

    static void apply(LoggerContext context, LogSettings settings) throws IOException {
        if (settings.equals(LogSettings.DEFAULT)) {
            return;
        }
        ch.qos.logback.core.encoder.Encoder<ILoggingEvent> encoder;
        if (settings.json()) {
            encoder = new JsonLines(settings.sourceLocation());
        } else {
            PatternLayoutEncoder pattern = new PatternLayoutEncoder();
            pattern.setPattern(
                    settings.sourceLocation()
                            ? PATTERN.replace("%n", " (%class{0}.%method:%line)%n")
                            : PATTERN);
            encoder = pattern;
        }
        encoder.setContext(context);
        encoder.start();
        ch.qos.logback.core.OutputStreamAppender<ILoggingEvent> appender;
        if (settings.file().isPresent()) {
            Path file = settings.file().get().toAbsolutePath();
            ownerOnly(file);
            ch.qos.logback.core.FileAppender<ILoggingEvent> toFile =
                    new ch.qos.logback.core.FileAppender<>();
            toFile.setFile(file.toString());
            toFile.setAppend(true);
            appender = toFile;
        } else {
            ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
            stderr.setTarget("System.err");
            appender = stderr;
        }
        appender.setContext(context);
        appender.setName("MITHRIL");
        appender.setEncoder(encoder);
        appender.start();
        if (!appender.isStarted()) {
            throw new IOException("cannot write the log to " + settings.file().orElseThrow());
        }
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.detachAndStopAllAppenders();
        root.addAppender(appender);
    }

    private static void ownerOnly(Path file) throws IOException {
        Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rw-------");
        if (!Files.isDirectory(file.getParent())) {
            throw new IOException(
                    "log_file " + file + ": directory " + file.getParent() + " does not exist");
        }
        if (Files.notExists(file, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(ownerOnly));
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // created meanwhile: checked below
            }
        }
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("log_file " + file + " is not a regular file");
        }
        Set<PosixFilePermission> now = Files.getPosixFilePermissions(file);
        if (!ownerOnly.containsAll(now)) {
            Files.setPosixFilePermissions(file, ownerOnly);
            org.slf4j.LoggerFactory.getLogger(LogConfigurator.class)
                    .warn(
                            "log_file {} was {}; tightened to 0600",
                            file,
                            PosixFilePermissions.toString(now));
        }
    }

    /**
     * One JSON object per line with the keys SPIRE's logger (logrus) writes: {@code time}, {@code
     * level} (lower case), {@code msg}; then {@code logger}, {@code error} (a stack trace) and,
     * with source location, {@code file} and {@code func}.
     */
    static final class JsonLines extends ch.qos.logback.core.encoder.EncoderBase<ILoggingEvent> {
        private static final com.fasterxml.jackson.core.JsonFactory JSON =
                new com.fasterxml.jackson.core.JsonFactory();
        private static final java.time.format.DateTimeFormatter TIME =
                java.time.format.DateTimeFormatter.ISO_OFFSET_DATE_TIME;
        private final boolean sourceLocation;

        JsonLines(boolean sourceLocation) {
            this.sourceLocation = sourceLocation;
        }

        @Override
        public byte[] headerBytes() {
            return null;
        }

        @Override
        public byte[] footerBytes() {
            return null;
        }

        @Override
        public byte[] encode(ILoggingEvent event) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(256);
            try (com.fasterxml.jackson.core.JsonGenerator g = JSON.createGenerator(out)) {
                g.writeStartObject();
                g.writeStringField(
                        "time",
                        TIME.format(
                                java.time.OffsetDateTime.ofInstant(
                                        event.getInstant(), java.time.ZoneId.systemDefault())));
                g.writeStringField(
                        "level",
                        event.getLevel() == Level.WARN
                                ? "warning"
                                : event.getLevel().levelStr.toLowerCase(java.util.Locale.ROOT));
                g.writeStringField("msg", event.getFormattedMessage());
                g.writeStringField("logger", event.getLoggerName());
                if (event.getThrowableProxy() != null) {
                    g.writeStringField(
                            "error",
                            ch.qos.logback.classic.spi.ThrowableProxyUtil.asString(
                                    event.getThrowableProxy()));
                }
                StackTraceElement[] caller = event.getCallerData();
                if (sourceLocation && caller != null && caller.length > 0) {
                    g.writeStringField(
                            "file", caller[0].getFileName() + ":" + caller[0].getLineNumber());
                    g.writeStringField(
                            "func", caller[0].getClassName() + "." + caller[0].getMethodName());
                }
                g.writeEndObject();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            out.write('\n');
            return out.toByteArray();
        }
    }

    /**
     * Drops Netty's warning that SO_KEEPALIVE does not apply to a Unix domain socket channel:
     * grpc-netty asks for it on every channel, so every Workload API or admin-socket client
     * (doctor, the dashboard, the demo's checks) printed it once per connection. Any other
     * bootstrap warning still shows.
     */
    static final class UnixKeepAliveNoise extends TurboFilter {
        @Override
        public FilterReply decide(
                Marker marker,
                ch.qos.logback.classic.Logger logger,
                Level level,
                String format,
                Object[] params,
                Throwable t) {
            if (format == null
                    || !format.startsWith("Unknown channel option")
                    || !logger.getName().startsWith("io.netty.bootstrap")) {
                return FilterReply.NEUTRAL;
            }
            // Netty's location-aware logger hands logback the message already formatted (no
            // params).
            String text =
                    params == null
                            ? format
                            : org.slf4j.helpers.MessageFormatter.arrayFormat(format, params)
                                    .getMessage();
            return text.startsWith("Unknown channel option 'SO_KEEPALIVE'")
                            && text.contains("DomainSocketChannel")
                    ? FilterReply.DENY
                    : FilterReply.NEUTRAL;
        }
    }
}
