package io.mithril.agent.endpoints.workload;

import java.time.Duration;

/**
 * What one local process (or all of them) may hold open on the Workload API socket, so that no
 * workload can exhaust the agent's file descriptors or memory with idle connections or streams.
 *
 * @param maxConnections connections open at once, all callers together; more are closed at once
 * @param maxConnectionsPerUid connections open at once by the processes of one uid
 * @param maxCallsPerConnection concurrent calls (streams) on one connection (HTTP/2
 *     MAX_CONCURRENT_STREAMS)
 * @param handshakeTimeout time a new connection has to send the HTTP/2 preface
 * @param maxConnectionIdle a connection with no call for this long is closed (GOAWAY)
 * @param keepAliveTime the agent pings a connection silent for this long (a stopped client holding
 *     a stream is found out)
 * @param keepAliveTimeout and closes it when the ping is not answered in this time
 * @param permitKeepAliveTime clients may ping at most this often, else the connection is closed
 */
public record WorkloadApiLimits(
        int maxConnections,
        int maxConnectionsPerUid,
        int maxCallsPerConnection,
        Duration handshakeTimeout,
        Duration maxConnectionIdle,
        Duration keepAliveTime,
        Duration keepAliveTimeout,
        Duration permitKeepAliveTime) {

    /** The agent's limits: generous for a node's workloads, bounded for a hostile one. */
    public static final WorkloadApiLimits DEFAULTS =
            new WorkloadApiLimits(
                    1024,
                    128,
                    100,
                    Duration.ofSeconds(10),
                    Duration.ofMinutes(5),
                    Duration.ofMinutes(1),
                    Duration.ofSeconds(20),
                    Duration.ofSeconds(30));
}
