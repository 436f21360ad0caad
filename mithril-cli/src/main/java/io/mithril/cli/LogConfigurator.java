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
