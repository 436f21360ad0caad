package io.mithril.cli.agent;

import io.mithril.agent.Agent;
import io.mithril.agent.AgentStartException;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.config.AgentConfigParser;
import io.mithril.cli.Cli;
import io.mithril.hcl.HclException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code mithril agent run -config agent.conf [-joinToken T]}: runs the agent until SIGTERM/SIGINT. */
@Command(name = "run", description = "Runs the agent", mixinStandardHelpOptions = true)
public final class RunCommand implements Callable<Integer> {

    @Option(names = {"-config", "--config"}, paramLabel = "FILE", defaultValue = "conf/agent/agent.conf",
            description = "Path to an agent config file (default: ${DEFAULT-VALUE})")
    Path config;

    @Option(names = {"-joinToken", "--joinToken"}, paramLabel = "TOKEN", description = "Join token to attest with (overrides join_token in the file)")
    String joinToken;

    @Option(names = {"-socketPath", "--socketPath"}, paramLabel = "PATH", description = "Workload API socket (overrides socket_path)")
    Path socketPath;

    @Option(names = {"-expandEnv", "--expandEnv"}, description = "Expand environment variables ($VAR, ${VAR}) in the config file")
    boolean expandEnv;

    @Option(names = {"-logLevel", "--logLevel"}, paramLabel = "LEVEL", description = "DEBUG, INFO, WARN or ERROR (overrides log_level)")
    String logLevel;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(config)) {
            throw new Cli.UserException("could not find config file " + config + ": pass -config <agent.conf>");
        }
        AgentConfig cfg;
        try {
            cfg = AgentConfigParser.parseFile(config, expandEnv ? System.getenv() : null);
        } catch (HclException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
        if (joinToken != null && !joinToken.isBlank()) {
            cfg = cfg.withJoinToken(joinToken);
        }
        if (socketPath != null) {
            cfg = cfg.withSocketPath(socketPath);
        }
        setLogLevel(logLevel != null ? logLevel : cfg.logLevel());
        Agent agent;
        try {
            agent = Agent.start(cfg);
        } catch (AgentStartException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            agent.close();
            stopped.countDown();
        }, "agent-shutdown"));
        stopped.await();
        return 0;
    }

    static void setLogLevel(String level) {
        SocketOption.quietNetty();
        if (System.getenv("MITHRIL_LOG_LEVEL") != null) {
            return;
        }
        org.slf4j.Logger root = org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        if (root instanceof ch.qos.logback.classic.Logger lb) {
            lb.setLevel(ch.qos.logback.classic.Level.toLevel(level, ch.qos.logback.classic.Level.INFO));
        }
    }
}
