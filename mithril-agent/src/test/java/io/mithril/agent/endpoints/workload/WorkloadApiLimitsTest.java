package io.mithril.agent.endpoints.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.grpc.Status;
import io.mithril.agent.attestor.workload.unix.UnixWorkloadAttestor;
import io.mithril.agent.cache.RegistrationEntry;
import io.mithril.agent.cache.SvidCache;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.testing.HoldStreamMain;
import io.mithril.agent.testing.TestCa;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Workloads that misbehave on the Workload API socket: die mid-stream, hold idle connections. */
class WorkloadApiLimitsTest {

    @TempDir Path dir;
    final TestCa ca = new TestCa("example.org");
    SvidCache cache;
    WorkloadApiServer server;
    Path socket;
    final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    final Logger mithril = (Logger) LoggerFactory.getLogger("io.mithril");
    final List<LogRecord> julRecords = new CopyOnWriteArrayList<>();
    final Handler jul =
            new Handler() {
                @Override
                public void publish(LogRecord r) {
                    julRecords.add(r);
                }

                @Override
                public void flush() {}

                @Override
                public void close() {}
            };
    final List<SocketChannel> raw = new ArrayList<>();

    @BeforeEach
    void start() {
        socket = dir.resolve("agent/api.sock");
        cache = new SvidCache(ca.trustDomain, Clock.systemUTC());
        RegistrationEntry e = TestCa.entry("spiffe://example.org/w", "unix:uid:0");
        cache.update(ca.bundle(), Map.of(), List.of(e));
        cache.putSvids(List.of(ca.svid(e, Duration.ofMinutes(10))));
        logs.start();
        mithril.addAppender(logs);
        mithril.setLevel(Level.DEBUG);
        java.util.logging.Logger.getLogger("")
                .addHandler(jul); // grpc-java logs through java.util.logging
    }

    @AfterEach
    void stop() throws Exception {
        java.util.logging.Logger.getLogger("").removeHandler(jul);
        mithril.detachAppender(logs);
        mithril.setLevel(null);
        for (SocketChannel c : raw) {
            c.close();
        }
        if (server != null) {
            server.close();
        }
        cache.close();
    }

    private void startServer(WorkloadApiLimits limits) throws Exception {
        server =
                WorkloadApiServer.start(
                        socket,
                        cache,
                        List.of(new UnixWorkloadAttestor(false, 0)),
                        (entry, audience) -> {
                            throw Status.UNAVAILABLE.asException();
                        },
                        Clock.systemUTC(),
                        null,
                        AgentConfig.SdsConfig.DEFAULTS,
                        limits);
    }

    private static WorkloadApiLimits limits(int maxPerUid, Duration handshake) {
        WorkloadApiLimits d = WorkloadApiLimits.DEFAULTS;
        return new WorkloadApiLimits(
                d.maxConnections(),
                maxPerUid,
                d.maxCallsPerConnection(),
                handshake,
                d.maxConnectionIdle(),
                d.keepAliveTime(),
                d.keepAliveTimeout(),
                d.permitKeepAliveTime());
    }

    /** A connection that sends nothing, as a greedy local process opens them. */
    private SocketChannel idleConnection() throws Exception {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.connect(UnixDomainSocketAddress.of(socket));
        raw.add(c);
        return c;
    }

    /**
     * Whether the agent serves the connection (it sends its HTTP/2 SETTINGS) or closes it (EOF).
     */
    private static boolean served(SocketChannel c) throws Exception {
        return CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                return c.read(ByteBuffer.allocate(64)) > 0;
                            } catch (java.io.IOException e) {
                                return false;
                            }
                        })
                .get(10, TimeUnit.SECONDS);
    }

    private static boolean closedWithin(SocketChannel c, Duration d) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(1024);
        c.configureBlocking(false);
        try {
            await().atMost(d)
                    .pollInterval(Duration.ofMillis(50))
                    .until(
                            () -> {
                                b.clear();
                                return c.read(b) < 0;
                            });
            return true;
        } catch (ConditionTimeoutException e) {
            return false;
        }
    }

    @Test
    void idleConnectionsOfOneUidBeyondTheLimitAreClosedAtOnceAndFreedSlotsAreReused()
            throws Exception {
        startServer(limits(3, Duration.ofMinutes(5)));
        List<SocketChannel> first = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            first.add(idleConnection());
        }
        for (SocketChannel c : first) {
            assertThat(served(c)).isTrue();
        }
        assertThat(served(idleConnection())).as("4th connection of uid 0").isFalse();
        assertThat(served(idleConnection())).as("5th connection of uid 0").isFalse();
        assertThat(logs.list)
                .filteredOn(e -> e.getFormattedMessage().contains("connection from uid 0 refused"))
                .hasSize(1);

        first.get(0).close();
        await("a slot freed by a closed connection")
                .atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> served(idleConnection()));
    }

    @Test
    void aConnectionThatNeverSendsTheHttp2PrefaceIsClosedAfterTheHandshakeTimeout()
            throws Exception {
        startServer(limits(3, Duration.ofSeconds(1)));
        SocketChannel c = idleConnection();
        assertThat(closedWithin(c, Duration.ofSeconds(10))).isTrue();
    }

    @Test
    void workloadsDyingMidStreamAreLoggedAsOneLineEachWithoutStackTrace() throws Exception {
        startServer(WorkloadApiLimits.DEFAULTS);
        int before = logs.list.size();
        // a workload killed (SIGKILL) while its FetchX509SVID stream is open
        Process p =
                new ProcessBuilder(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-cp",
                                System.getProperty(
                                        "surefire.test.class.path",
                                        System.getProperty("java.class.path")),
                                HoldStreamMain.class.getName(),
                                socket.toString())
                        .redirectErrorStream(true)
                        .start();
        BufferedReader out =
                new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        do {
            line = out.readLine();
        } while (line != null && !line.equals("GOT"));
        assertThat(line).isEqualTo("GOT");
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        // a client that gives up mid-stream (curl's timeout)
        Path msg = Files.write(dir.resolve("empty.grpc"), new byte[5]);
        Process curl =
                new ProcessBuilder(
                                "curl",
                                "-sS",
                                "--unix-socket",
                                socket.toString(),
                                "--http2-prior-knowledge",
                                "-H",
                                "content-type: application/grpc",
                                "-H",
                                "te: trailers",
                                "-H",
                                "workload.spiffe.io: true",
                                "--data-binary",
                                "@" + msg,
                                "--max-time",
                                "1",
                                "-o",
                                "/dev/null",
                                "http://localhost/SpiffeWorkloadAPI/FetchX509SVID")
                        .redirectErrorStream(true)
                        .start();
        curl.getInputStream().readAllBytes();
        assertThat(curl.waitFor()).as("curl timed out mid-stream").isEqualTo(28);
        // an update pushed after they are gone
        RegistrationEntry e = TestCa.entry("spiffe://example.org/w", "unix:uid:0");
        cache.update(ca.bundle(), Map.of(), List.of(e));
        cache.putSvids(List.of(ca.svid(e, Duration.ofMinutes(20))));
        Thread.sleep(1000);

        List<ILoggingEvent> after = List.copyOf(logs.list.subList(before, logs.list.size()));
        assertThat(after)
                .filteredOn(
                        ev ->
                                ev.getFormattedMessage()
                                        .startsWith("Workload API stream ended by the client"))
                .hasSize(2)
                .allMatch(
                        ev ->
                                ev.getLevel() == Level.DEBUG
                                        && ev.getFormattedMessage()
                                                .contains("method=FetchX509SVID"));
        assertThat(after).allMatch(ev -> ev.getThrowableProxy() == null);
        assertThat(after).noneMatch(ev -> ev.getLevel().isGreaterOrEqual(Level.WARN));
        assertThat(julRecords)
                .noneMatch(
                        r ->
                                r.getThrown() != null
                                        || r.getLevel().intValue()
                                                >= java.util.logging.Level.INFO.intValue());
    }
}
