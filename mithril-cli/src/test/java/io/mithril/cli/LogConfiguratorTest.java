package io.mithril.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.junit.jupiter.api.Test;

/** The turbo filter drops only Netty's SO_KEEPALIVE warning for Unix domain socket channels. */
class LogConfiguratorTest {

    @Test
    void onlyTheKeepAliveWarningOfUnixSocketChannelsIsDropped() {
        LoggerContext context = new LoggerContext();
        context.addTurboFilter(new LogConfigurator.UnixKeepAliveNoise());
        ListAppender<ILoggingEvent> seen = new ListAppender<>();
        seen.setContext(context);
        seen.start();
        context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).addAppender(seen);
        org.slf4j.Logger bootstrap = context.getLogger("io.netty.bootstrap.Bootstrap");
        // As Netty's AbstractBootstrap words it.
        String format = "Unknown channel option '{}' for channel '{}' of type '{}'";
        bootstrap.warn(format, "SO_KEEPALIVE", "[id: 0x1]", EpollDomainSocketChannel.class);
        bootstrap.warn(format, "SO_KEEPALIVE", "[id: 0x2]", NioSocketChannel.class);
        bootstrap.warn(format, "TCP_NODELAY", "[id: 0x3]", EpollDomainSocketChannel.class);
        // Netty's LocationAwareSlf4JLogger formats the message itself and passes no arguments.
        ((org.slf4j.spi.LocationAwareLogger) bootstrap)
                .log(
                        null,
                        "io.netty.util.internal.logging.LocationAwareSlf4JLogger",
                        org.slf4j.spi.LocationAwareLogger.WARN_INT,
                        "Unknown channel option 'SO_KEEPALIVE' for channel '[id: 0x5]' of type '"
                                + EpollDomainSocketChannel.class
                                + "'",
                        null,
                        null);
        bootstrap.warn(
                "Failed to set channel option '{}' with value '{}' for channel '{}'",
                "SO_KEEPALIVE",
                true,
                "[id: 0x4]");
        assertThat(seen.list)
                .extracting(ILoggingEvent::getFormattedMessage)
                .containsExactly(
                        "Unknown channel option 'SO_KEEPALIVE' for channel '[id: 0x2]' of type 'class io.netty.channel.socket.nio.NioSocketChannel'",
                        "Unknown channel option 'TCP_NODELAY' for channel '[id: 0x3]' of type 'class io.netty.channel.epoll.EpollDomainSocketChannel'",
                        "Failed to set channel option 'SO_KEEPALIVE' with value 'true' for channel '[id: 0x4]'");
    }
}
