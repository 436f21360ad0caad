package io.mithril.samples.bookinfo;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The HTTP proxy outbound calls go through, if any: an explicit {@code -proxy} option, or else the
 * {@code http_proxy}/{@code HTTP_PROXY} environment variable, with {@code no_proxy} hosts going
 * direct, as curl does. Through a proxy, requests use the absolute form ({@code GET
 * http://details:9080/details/0 HTTP/1.1} plus {@code Host: details:9080}); the sidecar's outbound
 * listener is such a proxy.
 */
public record OutboundProxy(String host, int port, List<String> noProxy) {

    public OutboundProxy {
        noProxy = List.copyOf(noProxy);
    }

    /** No proxy: every call goes direct. */
    public static Optional<OutboundProxy> none() {
        return Optional.empty();
    }

    /**
     * Resolves the proxy: {@code explicit} (from {@code -proxy}) wins; otherwise the environment.
     *
     * @throws IllegalArgumentException quoting a proxy URL that is not {@code http://host[:port]}
     */
    public static Optional<OutboundProxy> resolve(String explicit, Map<String, String> env) {
        String noProxy = firstNonBlank(env.get("no_proxy"), env.get("NO_PROXY"));
        List<String> exempt = new ArrayList<>();
        if (noProxy != null) {
            for (String h : noProxy.split(",")) {
                if (!h.isBlank()) {
                    exempt.add(h.trim().toLowerCase(Locale.ROOT));
                }
            }
        }
        if (explicit != null && !explicit.isBlank()) {
            return Optional.of(parse(explicit, "-proxy", List.of()));
        }
        String fromEnv = firstNonBlank(env.get("http_proxy"), env.get("HTTP_PROXY"));
        return fromEnv == null
                ? Optional.empty()
                : Optional.of(parse(fromEnv, "http_proxy", exempt));
    }

    static OutboundProxy parse(String value, String where, List<String> noProxy) {
        String v = value.trim();
        String withScheme = v.contains("://") ? v : "http://" + v;
        URI uri;
        try {
            uri = new URI(withScheme);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(
                    where + " " + quote(value) + " is not a URL; write http://host:port");
        }
        if (!"http".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException(
                    where
                            + " "
                            + quote(value)
                            + " is not an HTTP proxy URL; write http://host:port");
        }
        // curl's default proxy port
        return new OutboundProxy(uri.getHost(), uri.getPort() < 0 ? 1080 : uri.getPort(), noProxy);
    }

    /** True when calls to {@code host} bypass the proxy ({@code no_proxy}: exact, suffix, or *). */
    public boolean bypasses(String host) {
        String h = host == null ? "" : host.toLowerCase(Locale.ROOT);
        for (String n : noProxy) {
            if (n.equals("*") || h.equals(n) || h.endsWith(n.startsWith(".") ? n : "." + n)) {
                return true;
            }
        }
        return false;
    }

    /** A ProxySelector for java.net.http.HttpClient. */
    ProxySelector selector() {
        Proxy proxy = new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved(host, port));
        return new ProxySelector() {
            @Override
            public List<Proxy> select(URI uri) {
                return bypasses(uri.getHost()) ? List.of(Proxy.NO_PROXY) : List.of(proxy);
            }

            @Override
            public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {
                // nothing to remember: the call itself reports the failure
            }
        };
    }

    @Override
    public String toString() {
        return "http://" + host + ":" + port;
    }

    private static String firstNonBlank(String a, String b) {
        if (a != null && !a.isBlank()) {
            return a;
        }
        return b != null && !b.isBlank() ? b : null;
    }

    private static String quote(String s) {
        return "\"" + s + "\"";
    }
}
