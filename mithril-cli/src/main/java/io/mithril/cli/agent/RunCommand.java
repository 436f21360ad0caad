package io.mithril.cli.agent;

import io.mithril.agent.Agent;
import io.mithril.agent.AgentStartException;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.config.AgentConfigParser;
import io.mithril.cli.Cli;
import io.mithril.hcl.Hcl;
import io.mithril.hcl.HclException;
import io.mithril.hcl.HclOverrides;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mithril agent run -config agent.conf [flags]}: runs the agent until SIGTERM/SIGINT. The
 * flags are {@code spire-agent run}'s; each overrides its key in the file's {@code agent} block and
 * is checked as that key is.
 */
@Command(
        name = "run",
        description = "Runs the agent",
        mixinStandardHelpOptions = true,
        footer = {
            "%nEnvironment:",
            "  MITHRIL_LOG_LEVEL  log level (DEBUG, INFO, WARN, ERROR); wins over log_level and -logLevel",
            "  MITHRIL_DEBUG      set to print stack traces of errors",
            "  MITHRIL_JAVA_OPTS  JVM options for the mithril launcher (heap size, system properties)"
        })
public class RunCommand implements Callable<Integer> {

    @Option(
            names = {"-config", "--config"},
            paramLabel = "FILE",
            defaultValue = "conf/agent/agent.conf",
            description = "Path to an agent config file (default: ${DEFAULT-VALUE})")
    Path config;

    @Option(
            names = {"-joinToken", "--joinToken"},
            paramLabel = "TOKEN",
            description = "Join token to attest with (overrides join_token in the file)")
    String joinToken;

    @Option(
            names = {"-joinTokenFile", "--joinTokenFile"},
            paramLabel = "FILE",
            description = "File holding the join token (overrides join_token)")
    Path joinTokenFile;

    @Option(
            names = {"-socketPath", "--socketPath"},
            paramLabel = "PATH",
            description = "Workload API socket (overrides socket_path)")
    Path socketPath;

    @Option(
            names = {"-expandEnv", "--expandEnv"},
            description = "Expand environment variables ($VAR, $${VAR}) in the config file")
    boolean expandEnv;

    @Option(
            names = {"-logLevel", "--logLevel"},
            paramLabel = "LEVEL",
            description = "DEBUG, INFO, WARN or ERROR (overrides log_level)")
    String logLevel;

    @Option(
            names = {"-dataDir", "--dataDir"},
            paramLabel = "DIR",
            description = "Runtime data directory (overrides data_dir)")
    String dataDir;

    @Option(
            names = {"-serverAddress", "--serverAddress"},
            paramLabel = "HOST",
            description = "Server address (overrides server_address)")
    String serverAddress;

    @Option(
            names = {"-serverPort", "--serverPort"},
            paramLabel = "PORT",
            description = "Server port (overrides server_port)")
    Long serverPort;

    @Option(
            names = {"-trustDomain", "--trustDomain"},
            paramLabel = "TD",
            description = "Trust domain (overrides trust_domain)")
    String trustDomain;

    @Option(
            names = {"-trustBundle", "--trustBundle"},
            paramLabel = "FILE",
            description = "Server CA bundle for bootstrap (overrides trust_bundle_path)")
    String trustBundle;

    @Option(
            names = {"-trustBundleUrl", "--trustBundleUrl"},
            paramLabel = "URL",
            description = "Overrides trust_bundle_url")
    String trustBundleUrl;

    @Option(
            names = {"-trustBundleFormat", "--trustBundleFormat"},
            paramLabel = "FORMAT",
            description = "pem or spiffe (overrides trust_bundle_format)")
    String trustBundleFormat;

    @Option(
            names = {"-insecureBootstrap", "--insecureBootstrap"},
            description = "Bootstrap without verifying the server (overrides insecure_bootstrap)")
    boolean insecureBootstrap;

    @Option(
            names = {"-rebootstrapMode", "--rebootstrapMode"},
            paramLabel = "MODE",
            description = "never, auto or always (overrides rebootstrap_mode)")
    String rebootstrapMode;

    @Option(
            names = {"-rebootstrapDelay", "--rebootstrapDelay"},
            paramLabel = "DURATION",
            description = "Overrides rebootstrap_delay")
    String rebootstrapDelay;

    @Option(
            names = {"-retryBootstrap", "--retryBootstrap"},
            arity = "0..1",
            paramLabel = "BOOL",
            description = "Overrides retry_bootstrap")
    Boolean retryBootstrap;

    @Option(
            names = {"-logFile", "--logFile"},
            paramLabel = "FILE",
            description = "Overrides log_file")
    String logFile;

    @Option(
            names = {"-logFormat", "--logFormat"},
            paramLabel = "FORMAT",
            description = "text or json (overrides log_format)")
    String logFormat;

    @Option(
            names = {"-logSourceLocation", "--logSourceLocation"},
            description = "Overrides log_source_location")
    boolean logSourceLocation;

    @Option(
            names = {"-allowUnauthenticatedVerifiers", "--allowUnauthenticatedVerifiers"},
            description = "Overrides allow_unauthenticated_verifiers")
    boolean allowUnauthenticatedVerifiers;

    /** The file with the flags applied, checked as {@code spire-agent run} checks it. */
    AgentConfig loadConfig() throws Exception {
        if (!Files.isRegularFile(config)) {
            throw new Cli.UserException(
                    "could not find config file " + config + ": pass -config <agent.conf>");
        }
        String token = joinToken;
        if (joinTokenFile != null) {
            if (!Files.isRegularFile(joinTokenFile)) {
                throw new Cli.UserException(
                        "-joinTokenFile " + joinTokenFile + " is not a readable file");
            }
            token = Files.readString(joinTokenFile).strip();
        }
        HclOverrides flags =
                new HclOverrides()
                        .string("data_dir", "-dataDir", dataDir)
                        .string("server_address", "-serverAddress", serverAddress)
                        .number("server_port", "-serverPort", serverPort)
                        .string("trust_domain", "-trustDomain", trustDomain)
                        .string("trust_bundle_path", "-trustBundle", trustBundle)
                        .string("trust_bundle_url", "-trustBundleUrl", trustBundleUrl)
                        .string("trust_bundle_format", "-trustBundleFormat", trustBundleFormat)
                        .flag("insecure_bootstrap", "-insecureBootstrap", insecureBootstrap)
                        .string("rebootstrap_mode", "-rebootstrapMode", rebootstrapMode)
                        .string("rebootstrap_delay", "-rebootstrapDelay", rebootstrapDelay)
                        .string(
                                "retry_bootstrap",
                                "-retryBootstrap",
                                retryBootstrap == null ? null : retryBootstrap.toString())
                        .string("log_level", "-logLevel", logLevel)
                        .string("log_file", "-logFile", logFile)
                        .string("log_format", "-logFormat", logFormat)
                        .flag("log_source_location", "-logSourceLocation", logSourceLocation)
                        .flag(
                                "allow_unauthenticated_verifiers",
                                "-allowUnauthenticatedVerifiers",
                                allowUnauthenticatedVerifiers)
                        .string(
                                "join_token",
                                "-joinToken",
                                token == null || token.isBlank() ? null : token);
        AgentConfig cfg;
        try {
            io.mithril.hcl.HclObject doc =
                    flags.applyTo(
                            Hcl.parseFile(config, expandEnv ? System.getenv() : null), "agent");
            cfg = AgentConfigParser.build(doc);
            logSettings = io.mithril.hcl.LogSettings.read(doc.object("agent").orElseThrow());
        } catch (HclException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
        if (socketPath != null) {
            cfg = cfg.withSocketPath(socketPath);
        }
        return cfg;
    }

    /** log_format, log_file and log_source_location, as {@link #loadConfig} read them. */
    io.mithril.hcl.LogSettings logSettings = io.mithril.hcl.LogSettings.DEFAULT;

    @Override
    public Integer call() throws Exception {
        AgentConfig cfg = loadConfig();
        io.mithril.cli.server.RunCommand.applyLogSettings(logSettings);
        setLogLevel(cfg.logLevel());
        Agent agent;
        try {
            agent = Agent.start(cfg);
        } catch (AgentStartException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    agent.close();
                                    stopped.countDown();
                                },
                                "agent-shutdown"));
        stopped.await();
        return 0;
    }

    static void setLogLevel(String level) {
        SocketOption.quietNetty();
        if (System.getenv("MITHRIL_LOG_LEVEL") != null) {
            return;
        }
        org.slf4j.Logger root =
                org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        if (root instanceof ch.qos.logback.classic.Logger lb) {
            lb.setLevel(
                    ch.qos.logback.classic.Level.toLevel(level, ch.qos.logback.classic.Level.INFO));
        }
    }
}
