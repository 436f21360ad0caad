package io.mithril.api.workload.client;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;

/**
 * Where a Workload API listens, as {@code SPIFFE_ENDPOINT_SOCKET} spells it: {@code
 * unix:///absolute/path}, {@code unix:/absolute/path} or {@code tcp://<ip>:<port>}. A bare absolute
 * path (as given to {@code -socketPath}) means a Unix domain socket.
 *
 * @param unixPath the socket path, or null for TCP
 * @param tcpAddress the TCP address, or null for a Unix socket
 */
public record WorkloadApiAddress(Path unixPath, InetSocketAddress tcpAddress) {

    /** The environment variable naming the Workload API address. */
    public static final String ENDPOINT_SOCKET_ENV = "SPIFFE_ENDPOINT_SOCKET";

    /** The agent's default socket. */
    public static final String DEFAULT_SOCKET_PATH = "/tmp/mithril/agent/public/api.sock";

    /**
     * Parses an address.
     *
     * @throws IllegalArgumentException quoting the address and saying what form is expected
     */
    public static WorkloadApiAddress parse(String address) {
        if (address == null || address.isBlank()) {
            throw new IllegalArgumentException(
                    "Workload API address is empty: expected unix:///path or tcp://ip:port");
        }
        if (address.startsWith("/")) {
            return new WorkloadApiAddress(Path.of(address), null);
        }
        URI uri;
        try {
            uri = new URI(address);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(
                    "Workload API address \"" + address + "\" is not a URI: " + e.getMessage(), e);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme();
        switch (scheme) {
            case "unix" -> {
                String path = uri.getPath();
                if (uri.getAuthority() != null && !uri.getAuthority().isEmpty()) {
                    throw new IllegalArgumentException(
                            "Workload API address \""
                                    + address
                                    + "\": a unix address has no host; write unix:///absolute/path");
                }
                if (path == null || !path.startsWith("/")) {
                    throw new IllegalArgumentException(
                            "Workload API address \""
                                    + address
                                    + "\": the socket path must be absolute (unix:///absolute/path)");
                }
                if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
                    throw new IllegalArgumentException(
                            "Workload API address \""
                                    + address
                                    + "\": a unix address has no query or fragment");
                }
                return new WorkloadApiAddress(Path.of(path), null);
            }
            case "tcp" -> {
                if (uri.getHost() == null || uri.getPort() < 0) {
                    throw new IllegalArgumentException(
                            "Workload API address \"" + address + "\": expected tcp://<ip>:<port>");
                }
                if (uri.getPath() != null && !uri.getPath().isEmpty()) {
                    throw new IllegalArgumentException(
                            "Workload API address \"" + address + "\": a tcp address has no path");
                }
                return new WorkloadApiAddress(
                        null, new InetSocketAddress(uri.getHost(), uri.getPort()));
            }
            default ->
                    throw new IllegalArgumentException(
                            "Workload API address \""
                                    + address
                                    + "\": scheme must be unix or tcp (unix:///path or tcp://ip:port)");
        }
    }

    /**
     * The address from {@code SPIFFE_ENDPOINT_SOCKET}, or the agent's default socket when the
     * variable is unset.
     */
    public static WorkloadApiAddress fromEnvironment() {
        String env = System.getenv(ENDPOINT_SOCKET_ENV);
        return parse(env == null || env.isBlank() ? DEFAULT_SOCKET_PATH : env);
    }

    /** Whether this is a Unix domain socket. */
    public boolean isUnix() {
        return unixPath != null;
    }

    SocketAddress socketAddress() {
        return isUnix()
                ? new io.netty.channel.unix.DomainSocketAddress(unixPath.toString())
                : tcpAddress;
    }

    @Override
    public String toString() {
        return isUnix()
                ? "unix://" + unixPath
                : "tcp://" + tcpAddress.getHostString() + ":" + tcpAddress.getPort();
    }
}
