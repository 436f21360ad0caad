package io.mithril.cli.server;

import ch.qos.logback.classic.Level;
import io.mithril.cli.Cli;
import io.mithril.hcl.Hcl;
import io.mithril.hcl.HclException;
import io.mithril.hcl.HclOverrides;
import io.mithril.server.IdentityServer;
import io.mithril.server.ServerStartException;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.config.ServerConfigParser;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mithril server run -config server.conf [flags]}: runs the server until SIGTERM/SIGINT. The
 * flags are {@code spire-server run}'s; each overrides its key in the file's {@code server} block
 * and is checked as that key is.
 */
@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        description = "Runs the identity server.",
        footer = {
            "%nEnvironment:",
            "  MITHRIL_LOG_LEVEL  root log level (libraries); log_level and -logLevel set Mithril's own",
            "  MITHRIL_DEBUG      set to print stack traces of errors",
            "  MITHRIL_JAVA_OPTS  JVM options for the mithril launcher (heap size, system properties)"
        })
public class RunCommand implements Callable<Integer> {

    @Option(
            names = {"-config", "--config"},
            paramLabel = "FILE",
            description = "Path to a SPIRE server config file (default: ${DEFAULT-VALUE}).")
    Path config = Path.of("conf/server/server.conf");

    @Option(
            names = {"-expandEnv", "--expandEnv"},
            description = "Expand environment variables ($VAR, $${VAR}) in the config file.")
    boolean expandEnv;

    @Option(
            names = {"-logLevel", "--logLevel"},
            paramLabel = "LEVEL",
            description = "Overrides log_level (DEBUG, INFO, WARN, ERROR).")
    String logLevel;

    @Option(
            names = {"-socketPath", "--socketPath"},
            paramLabel = "PATH",
            description = "Overrides socket_path.")
    String socketPath;

    @Option(
            names = {"-dataDir", "--dataDir"},
            paramLabel = "DIR",
            description = "Overrides data_dir.")
    String dataDir;

    @Option(
            names = {"-bindAddress", "--bindAddress"},
            paramLabel = "ADDRESS",
            description = "Overrides bind_address.")
    String bindAddress;

    @Option(
            names = {"-serverPort", "--serverPort"},
            paramLabel = "PORT",
            description = "Overrides bind_port.")
    Long serverPort;

    @Option(
            names = {"-trustDomain", "--trustDomain"},
            paramLabel = "TD",
            description = "Overrides trust_domain.")
    String trustDomain;

    @Option(
            names = {"-logFile", "--logFile"},
            paramLabel = "FILE",
            description = "Overrides log_file.")
    String logFile;

    @Option(
            names = {"-logFormat", "--logFormat"},
            paramLabel = "FORMAT",
            description = "text or json; overrides log_format.")
    String logFormat;

    @Option(
            names = {"-logSourceLocation", "--logSourceLocation"},
            description = "Overrides log_source_location.")
    boolean logSourceLocation;

    /** log_format, log_file and log_source_location, as {@link #loadConfig} read them. */
    io.mithril.hcl.LogSettings logSettings = io.mithril.hcl.LogSettings.DEFAULT;

    /** The file with the flags applied, checked as {@code spire-server run} checks it. */
    ServerConfig loadConfig() {
        if (!java.nio.file.Files.isRegularFile(config)) {
            throw new Cli.UserException(
                    "could not find config file " + config + ": pass -config <server.conf>");
        }
        HclOverrides flags =
                new HclOverrides()
                        .string("data_dir", "-dataDir", dataDir)
                        .string("bind_address", "-bindAddress", bindAddress)
                        .number("bind_port", "-serverPort", serverPort)
                        .string("trust_domain", "-trustDomain", trustDomain)
                        .string("socket_path", "-socketPath", socketPath)
                        .string("log_level", "-logLevel", logLevel)
                        .string("log_file", "-logFile", logFile)
                        .string("log_format", "-logFormat", logFormat)
                        .flag("log_source_location", "-logSourceLocation", logSourceLocation);
        try {
            io.mithril.hcl.HclObject doc =
                    flags.applyTo(
                            Hcl.parseFile(config, expandEnv ? System.getenv() : null), "server");
            ServerConfig cfg = ServerConfigParser.build(doc, java.time.Clock.systemUTC(), config);
            logSettings = io.mithril.hcl.LogSettings.read(doc.object("server").orElseThrow());
            return cfg;
        } catch (HclException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
    }

    @Override
    public Integer call() throws Exception {
        ServerConfig cfg = loadConfig();
        applyLogSettings(logSettings);
        setLogLevel(cfg.logLevel());
        IdentityServer server;
        try {
            server = IdentityServer.start(cfg);
        } catch (ServerStartException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    server.close();
                                    stopped.countDown();
                                },
                                "mithril-server-shutdown"));
        stopped.await();
        return 0;
    }

    /** Sends the log where log_file and log_format say; a file that cannot be opened stops run. */
    public static void applyLogSettings(io.mithril.hcl.LogSettings settings) {
        try {
            io.mithril.cli.LogConfigurator.apply(settings);
        } catch (java.io.IOException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
    }

    static void setLogLevel(String level) {
        if (LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext ctx) {
            ctx.getLogger("io.mithril").setLevel(Level.toLevel(level, Level.INFO));
        }
        quietLibraries();
    }

    /**
     * grpc-netty's loggers that dump every HTTP/2 frame, payload in hex, at DEBUG: join tokens
     * (attestation, {@code token generate}) and SVID private keys (Workload API) would be in the
     * log. They are kept at INFO whatever the log level.
     */
    public static final java.util.List<String> FRAME_LOGGERS =
            java.util.List.of(
                    "io.grpc.netty.NettyServerHandler", "io.grpc.netty.NettyClientHandler");

    /**
     * One line per event means the server's events: Flyway's migration chatter goes to WARN,
     * Netty's warning that Unix sockets have no SO_KEEPALIVE (grpc-netty sets it on every channel)
     * is dropped, and gRPC frames are never dumped ({@link #FRAME_LOGGERS}).
     */
    static void quietLibraries() {
        if (LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext ctx) {
            ctx.getLogger("org.flywaydb").setLevel(Level.WARN);
            ctx.getLogger("io.netty.bootstrap").setLevel(Level.ERROR);
            quietFrames(ctx);
        }
    }

    /** Keeps {@link #FRAME_LOGGERS} at INFO. */
    public static void quietFrames(ch.qos.logback.classic.LoggerContext ctx) {
        FRAME_LOGGERS.forEach(name -> ctx.getLogger(name).setLevel(Level.INFO));
    }
}
