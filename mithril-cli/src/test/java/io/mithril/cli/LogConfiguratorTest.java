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

    @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir;

    /** A context as logback's start-up makes one (file appenders need its MDC adapter). */
    private static LoggerContext freshContext() {
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
        return context;
    }

    @Test
    void logFileIsOwnerOnlyAndHoldsJsonLinesWithSpireKeys() throws Exception {
        java.nio.file.Path file = dir.resolve("server.log");
        LoggerContext context = freshContext();
        LogConfigurator.apply(
                context, new io.mithril.hcl.LogSettings(true, java.util.Optional.of(file), true));
        context.getLogger("io.mithril.server.IdentityServer")
                .warn(
                        "agent {} refused",
                        "spiffe://example.org/spire/agent/x",
                        new IllegalStateException("boom"));
        context.stop();
        assertThat(
                        java.nio.file.attribute.PosixFilePermissions.toString(
                                java.nio.file.Files.getPosixFilePermissions(file)))
                .isEqualTo("rw-------");
        java.util.List<String> lines = java.nio.file.Files.readAllLines(file);
        assertThat(lines).hasSize(1);
        com.fasterxml.jackson.databind.JsonNode line =
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines.get(0));
        assertThat(line.get("level").asText()).isEqualTo("warning");
        assertThat(line.get("msg").asText())
                .isEqualTo("agent spiffe://example.org/spire/agent/x refused");
        assertThat(line.get("logger").asText()).isEqualTo("io.mithril.server.IdentityServer");
        assertThat(java.time.OffsetDateTime.parse(line.get("time").asText())).isNotNull();
        assertThat(line.get("error").asText()).contains("IllegalStateException: boom");
        assertThat(line.get("func").asText())
                .isEqualTo(
                        LogConfiguratorTest.class.getName()
                                + ".logFileIsOwnerOnlyAndHoldsJsonLinesWithSpireKeys");
        assertThat(line.get("file").asText()).startsWith("LogConfiguratorTest.java:");
    }

    @Test
    void anExistingLogFileOthersCanReadIsTightenedAndAppendedTo() throws Exception {
        java.nio.file.Path file = dir.resolve("agent.log");
        java.nio.file.Files.writeString(file, "earlier line\n");
        java.nio.file.Files.setPosixFilePermissions(
                file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        LoggerContext context = freshContext();
        LogConfigurator.apply(
                context, new io.mithril.hcl.LogSettings(false, java.util.Optional.of(file), false));
        context.getLogger("io.mithril.agent.Agent").info("started");
        context.stop();
        assertThat(
                        java.nio.file.attribute.PosixFilePermissions.toString(
                                java.nio.file.Files.getPosixFilePermissions(file)))
                .isEqualTo("rw-------");
        assertThat(java.nio.file.Files.readAllLines(file))
                .hasSize(2)
                .first()
                .isEqualTo("earlier line");
        assertThat(java.nio.file.Files.readAllLines(file).get(1)).endsWith("INFO  [Agent] started");
    }

    @Test
    void aLogFileInAMissingDirectoryIsRefusedNamingIt() {
        java.nio.file.Path file = dir.resolve("no/such/dir/x.log");
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () ->
                                LogConfigurator.apply(
                                        new LoggerContext(),
                                        new io.mithril.hcl.LogSettings(
                                                false, java.util.Optional.of(file), false)))
                .isInstanceOf(java.io.IOException.class)
                .hasMessageContaining(file.getParent().toString())
                .hasMessageContaining("does not exist");
    }

    @Test
    void aSymlinkedLogFileIsRefused() throws Exception {
        java.nio.file.Path target = dir.resolve("elsewhere");
        java.nio.file.Files.writeString(target, "");
        java.nio.file.Path link =
                java.nio.file.Files.createSymbolicLink(dir.resolve("x.log"), target);
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () ->
                                LogConfigurator.apply(
                                        new LoggerContext(),
                                        new io.mithril.hcl.LogSettings(
                                                false, java.util.Optional.of(link), false)))
                .isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("is not a regular file");
    }
}
