package io.mithril.cli.server;

import ch.qos.logback.classic.Level;
import io.mithril.cli.Cli;
import io.mithril.hcl.HclException;
import io.mithril.server.IdentityServer;
import io.mithril.server.ServerStartException;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.config.ServerConfigParser;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code mithril server run -config server.conf [-expandEnv]}: runs the server until SIGTERM/SIGINT. */
@Command(name = "run", mixinStandardHelpOptions = true, description = "Runs the identity server.")
public final class RunCommand implements Callable<Integer> {

    @Option(names = {"-config", "--config"}, paramLabel = "FILE", description = "Path to a SPIRE server config file (default: ${DEFAULT-VALUE}).")
    Path config = Path.of("conf/server/server.conf");

    @Option(names = {"-expandEnv", "--expandEnv"}, description = "Expand environment variables ($VAR, ${VAR}) in the config file.")
    boolean expandEnv;

    @Option(names = {"-logLevel", "--logLevel"}, paramLabel = "LEVEL", description = "Overrides log_level (DEBUG, INFO, WARN, ERROR).")
    String logLevel;

    @Option(names = {"-socketPath", "--socketPath"}, paramLabel = "PATH", description = "Overrides socket_path.")
    Path socketPath;

    @Option(names = {"-dataDir", "--dataDir"}, paramLabel = "DIR", description = "Overrides data_dir.")
    Path dataDir;

    @Override
    public Integer call() throws Exception {
        ServerConfig cfg;
        try {
            cfg = ServerConfigParser.parseFile(config, expandEnv);
        } catch (HclException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
        ServerConfig.Builder b = cfg.toBuilder();
        if (logLevel != null) {
            b.logLevel(logLevel.toUpperCase(java.util.Locale.ROOT));
        }
        if (socketPath != null) {
            b.socketPath(socketPath);
        }
        if (dataDir != null) {
            cfg = withDataDir(cfg, dataDir);
            b = cfg.toBuilder();
        }
        cfg = b.build();
        setLogLevel(cfg.logLevel());
        IdentityServer server;
        try {
            server = IdentityServer.start(cfg);
        } catch (ServerStartException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "mithril-server-shutdown"));
        stopped.await();
        return 0;
    }

    private static ServerConfig withDataDir(ServerConfig c, Path dataDir) {
        return new ServerConfig(c.trustDomain(), c.bindAddress(), c.bindPort(), c.socketPath(), dataDir, c.logLevel(), c.caTtl(),
                c.defaultX509SvidTtl(), c.defaultJwtSvidTtl(), c.agentTtl(), c.caKeyType(), c.jwtKeyType(), c.caSubject(), c.jwtIssuer(),
                c.dataStore(), c.keyManager(), c.joinToken(), c.x509pop(), c.upstream(), c.telemetry(), c.healthChecks(),
                c.rotationCheckInterval(), c.clock(), c.source(), c.kubernetes());
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
    public static final java.util.List<String> FRAME_LOGGERS = java.util.List.of("io.grpc.netty.NettyServerHandler",
            "io.grpc.netty.NettyClientHandler");

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
