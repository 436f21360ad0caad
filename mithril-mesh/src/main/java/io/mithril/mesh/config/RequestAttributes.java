package io.mithril.mesh.config;

/**
 * What route matching and authorization look at in a request. The proxy implements it over its HTTP
 * request; tests implement it with plain values.
 */
public interface RequestAttributes {

    /** {@code GET}, {@code POST}, ... */
    String method();

    /** The request target's path with its query string, e.g. {@code /api/v1/products?x=1}. */
    String pathWithQuery();

    /** The Host / :authority header, possibly with a port. */
    String authority();

    /** {@code http} or {@code https}. */
    String scheme();

    /** The port the request arrived on (the listener's port). */
    int port();

    /** A request header's first value (name in lower case), or null. */
    String header(String lowerCaseName);

    /**
     * The verified SPIFFE ID of the peer (with {@code spiffe://}), or null for plaintext or
     * unauthenticated peers.
     */
    String sourcePrincipal();

    /** The peer's IP address, or null. */
    String sourceAddress();

    /** The path without the query string. */
    default String path() {
        String p = pathWithQuery();
        int q = p.indexOf('?');
        return q < 0 ? p : p.substring(0, q);
    }

    /** A query parameter's first value (percent-decoded), or null when absent. */
    default String queryParam(String name) {
        String p = pathWithQuery();
        int q = p.indexOf('?');
        if (q < 0) {
            return null;
        }
        for (String pair : p.substring(q + 1).split("&")) {
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            if (decode(k).equals(name)) {
                return eq < 0 ? "" : decode(pair.substring(eq + 1));
            }
        }
        return null;
    }

    private static String decode(String s) {
        try {
            return java.net.URLDecoder.decode(s, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }
}
