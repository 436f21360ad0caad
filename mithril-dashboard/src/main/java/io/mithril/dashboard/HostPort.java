package io.mithril.dashboard;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * A {@code HOST:PORT} value as the dashboard's options give them: the address to serve on ({@code
 * -address}), the control plane's and the proxies' admin endpoints. An IPv6 host is written in
 * brackets ({@code [::1]:15000}, or bare, the port after the last ':'); the brackets are not part
 * of {@link #host()}.
 *
 * @param host the host name or IP literal, without brackets
 * @param port 0-65535 (0 only where a port is to be chosen, see {@link #parse})
 */
public record HostPort(String host, int port) {

    /**
     * Parses {@code value}.
     *
     * @param what names the value in errors (an option, "control plane admin address")
     * @param portZero whether port 0 (any free port, for binding) is allowed
     * @throws IllegalArgumentException naming {@code what} and the value when it is not HOST:PORT
     */
    public static HostPort parse(String value, String what, boolean portZero) {
        int colon = value == null ? -1 : value.lastIndexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw new IllegalArgumentException(what + " must be HOST:PORT, got \"" + value + "\"");
        }
        String host = value.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains("[") || host.contains("]")) {
            throw new IllegalArgumentException(
                    what
                            + " must be HOST:PORT (an IPv6 host in brackets, [::1]:15000), got \""
                            + value
                            + "\"");
        }
        int min = portZero ? 0 : 1;
        int port;
        try {
            port = Integer.parseInt(value.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < min || port > 65535) {
            throw new IllegalArgumentException(
                    what + ": port must be " + min + "-65535, got \"" + value + "\"");
        }
        return new HostPort(host, port);
    }

    /**
     * The address, its host resolved.
     *
     * @throws IllegalArgumentException when the host does not resolve
     */
    public InetSocketAddress resolve(String what) {
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(what + " " + this + ": unknown host " + host);
        }
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
