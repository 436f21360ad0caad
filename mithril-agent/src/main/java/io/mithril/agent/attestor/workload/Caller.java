package io.mithril.agent.attestor.workload;

/**
 * A Workload API caller as the kernel describes it ({@code SO_PEERCRED} of its connection), with
 * the start time of its process when the connection was accepted (from {@code /proc/<pid>/stat}),
 * so a later look-up can tell if the pid now names another process.
 *
 * @param pid the caller's process id
 * @param uid the caller's effective user id
 * @param gid the caller's effective group id
 * @param startTime the process start time in clock ticks since boot, or -1 if unknown
 */
public record Caller(int pid, int uid, int gid, long startTime) {}
