package io.mithril.cli.doctor;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.config.AgentConfigParser;
import io.mithril.cli.Cli;
import io.mithril.cli.dashboard.DashboardCommand;
import io.mithril.dashboard.Collector;
import io.mithril.dashboard.Sources;
import io.mithril.hcl.GoDuration;
import io.mithril.hcl.Hcl;
import io.mithril.hcl.HclException;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.config.ServerConfigParser;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mithril doctor}: checks a deployment (its config files, or {@code --dir} of a running
 * demo), one line per check, ok or what to do; exit 1 when any check fails. See docs/doctor.md.
 */
@Command(
        name = "doctor",
        mixinStandardHelpOptions = true,
        description = {
            "Check a deployment: sockets, key and datastore file modes, clock skew, bundles, CAs and SVIDs",
            "close to expiry, entries no agent can get, entries no running process matches, proxies out of sync with the control plane.",
            "",
            "One line per check: ok, or FAIL with what to do. Exits 1 when any check fails."
        })
public final class DoctorCommand implements Callable<Integer> {

    private static final Pattern AGENT_BLOCK = Pattern.compile("(?m)^\\s*agent\\s*\\{");

    @Option(
            names = {"-dir", "--dir"},
            paramLabel = "DIR",
            description = "A running `mithril demo --keep-running` with this state directory.")
    Path dir;

    @Option(
            names = {"-config", "--config"},
            paramLabel = "FILE",
            description = "A server.conf or agent.conf to check (repeatable).")
    List<Path> configs = new ArrayList<>();

    @Option(
            names = {"-expandEnv", "--expandEnv"},
            description =
                    "Expand $VAR and ${VAR} in the config files from the environment (as `run -expandEnv`); with --dir, DEMO_DIR is the demo's directory.")
    boolean expandEnv;

    @Option(
            names = "-serverSocket",
            paramLabel = "CLUSTER=SOCKET",
            description =
                    "An identity server's admin socket to read, by cluster name (repeatable; a server.conf adds its own).")
    Map<String, Path> servers = new LinkedHashMap<>();

    @Option(
            names = "-controlPlaneAdmin",
            paramLabel = "HOST:PORT",
            description = "The control plane's admin endpoint (e.g. 127.0.0.1:15014).")
    String controlPlane;

    @Option(
            names = "-proxyAdmin",
            paramLabel = "[NAME=]HOST:PORT",
            description = "A proxy's admin endpoint (repeatable).")
    List<String> proxies = new ArrayList<>();

    @Option(
            names = "-noProxyDiscovery",
            description =
                    "Read only the -proxyAdmin proxies, not every proxy the control plane lists (at its address, port 15000).")
    boolean noProxyDiscovery;

    @Option(
            names = "-expiryWithin",
            defaultValue = "30s",
            paramLabel = "DURATION",
            description =
                    "Fail for a CA or SVID with less than this left (default: ${DEFAULT-VALUE}); also for less than a sixth of its life.")
    String expiryWithin;

    @Option(
            names = "-syncWithin",
            defaultValue = "1m",
            paramLabel = "DURATION",
            description =
                    "Fail for an agent whose last sync with its server is older than this (default: ${DEFAULT-VALUE}; agents sync every 5s).")
    String syncWithin;

    @Option(
            names = "-hostWorkloads",
            description =
                    "Check that each workload entry with unix selectors matches a process running on this host"
                            + " (on with --dir or an agent's -config: their agents serve this host).")
    boolean hostWorkloads;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    Clock clock = Clock.systemUTC();

    @Override
    public Integer call() throws Exception {
        List<Path> files = new ArrayList<>(configs);
        Sources sources = null;
        if (dir != null) {
            Path d = dir.toAbsolutePath().normalize();
            try {
                sources = Sources.demo(d, 0);
            } catch (IOException e) {
                throw new Cli.UserException("--dir " + dir + ": " + e.getMessage());
            }
            for (int c : new int[] {1, 2}) {
                for (String f : new String[] {"server.conf", "agent.conf"}) {
                    Path p = d.resolve("config/cluster" + c + "/" + f);
                    if (Files.isRegularFile(p)) {
                        files.add(p);
                    }
                }
            }
        }
        if (files.isEmpty()
                && dir == null
                && servers.isEmpty()
                && controlPlane == null
                && proxies.isEmpty()) {
            throw new Cli.UserException(
                    "nothing to check: give --dir DIR of a demo, -config FILE, or -serverSocket, -controlPlaneAdmin, -proxyAdmin");
        }
        Duration within;
        try {
            within = GoDuration.parse(expiryWithin);
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException("-expiryWithin: " + e.getMessage());
        }
        Duration syncStale;
        try {
            syncStale = GoDuration.parse(syncWithin);
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException("-syncWithin: " + e.getMessage());
        }
        Doctor doctor = new Doctor(clock.instant());
        Map<String, Path> serverSockets = new LinkedHashMap<>(servers);
        Map<String, String> env = null;
        if (expandEnv || dir != null) {
            env = new LinkedHashMap<>(System.getenv());
            if (dir != null) {
                // The demo's config files use ${DEMO_DIR} (it runs its components with -expandEnv).
                env.put("DEMO_DIR", dir.toAbsolutePath().normalize().toString());
            }
        }
        for (Path f : files) {
            config(doctor, f, env, serverSockets);
        }
        if (sources == null
                && (!serverSockets.isEmpty() || controlPlane != null || !proxies.isEmpty())) {
            List<Sources.ProxyAdmin> admins = DashboardCommand.proxyAdmins(proxies);
            try {
                sources =
                        new Sources(
                                serverSockets,
                                controlPlane,
                                admins,
                                controlPlane != null && !noProxyDiscovery);
            } catch (IllegalArgumentException e) {
                throw new Cli.UserException(e.getMessage());
            }
        }
        if (sources != null) {
            try (Collector collector = new Collector(sources, clock, Duration.ofSeconds(1))) {
                collector.poll();
                com.fasterxml.jackson.databind.JsonNode state =
                        new ObjectMapper().readTree(collector.stateJson());
                doctor.state(state, within, syncStale);
                if (hostWorkloads
                        || dir != null
                        || files.stream().anyMatch(DoctorCommand::isAgentConfig)) {
                    doctor.hostWorkloads(state, HostWorkloads.snapshot());
                }
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        doctor.lines.forEach(out::println);
        long failed = doctor.lines.stream().filter(l -> !l.ok()).count();
        out.println(
                failed == 0
                        ? "all " + doctor.lines.size() + " checks ok"
                        : failed + " of " + doctor.lines.size() + " checks failed");
        out.flush();
        return failed == 0 ? 0 : 1;
    }

    private static boolean isAgentConfig(Path file) {
        try {
            return AGENT_BLOCK.matcher(Files.readString(file)).find();
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The file checks of one config file; a server's admin socket is also read (keyed by its
     * config's directory name).
     */
    private static void config(
            Doctor doctor, Path file, Map<String, String> env, Map<String, Path> serverSockets)
            throws IOException {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new Cli.UserException("-config " + file + ": " + e.getMessage());
        }
        try {
            if (AGENT_BLOCK.matcher(text).find()) {
                AgentConfig a = AgentConfigParser.parseFile(file, env);
                doctor.socket(
                        "agent (" + file + ") Workload API",
                        a.socketPath() == null ? AgentConfig.DEFAULT_SOCKET_PATH : a.socketPath());
                doctor.privateFiles("agent (" + file + ")", a.dataDir());
            } else {
                ServerConfig s =
                        ServerConfigParser.build(Hcl.parseFile(file, env), Clock.systemUTC(), file);
                Path sock =
                        s.socketPath() == null ? ServerConfig.DEFAULT_SOCKET_PATH : s.socketPath();
                doctor.socket("server (" + file + ") admin", sock);
                doctor.privateFiles("server (" + file + ")", s.dataDir());
                if (s.keyManager() != null && s.keyManager().keysPath() != null) {
                    doctor.privateFile(
                            "server (" + file + ") KeyManager keys_path",
                            s.keyManager().keysPath(),
                            s.dataDir());
                }
                if (s.dataStore() != null
                        && "sqlite3".equals(s.dataStore().databaseType())
                        && s.dataStore().connectionString() != null) {
                    doctor.privateFile(
                            "server (" + file + ") DataStore",
                            Path.of(s.dataStore().connectionString()),
                            s.dataDir());
                }
                Path parent = file.toAbsolutePath().getParent();
                String name =
                        parent == null || parent.getFileName() == null
                                ? file.toString()
                                : parent.getFileName().toString();
                if (!serverSockets.containsValue(sock) && Files.exists(sock)) {
                    serverSockets.putIfAbsent(
                            serverSockets.containsKey(name) ? file.toString() : name, sock);
                }
            }
        } catch (HclException e) {
            throw new Cli.UserException(e.getMessage());
        }
    }
}
