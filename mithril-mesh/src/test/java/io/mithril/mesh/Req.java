package io.mithril.mesh;

import io.mithril.mesh.config.RequestAttributes;
import java.util.Map;

/** A request described by plain values, for matching tests. */
public record Req(
        String method,
        String pathWithQuery,
        String authority,
        String scheme,
        int port,
        Map<String, String> headers,
        String sourcePrincipal,
        String sourceAddress)
        implements RequestAttributes {

    public static Req get(String path) {
        return new Req("GET", path, "example.com", "https", 8080, Map.of(), null, "10.0.0.1");
    }

    public Req withMethod(String m) {
        return new Req(
                m, pathWithQuery, authority, scheme, port, headers, sourcePrincipal, sourceAddress);
    }

    public Req withAuthority(String a) {
        return new Req(
                method, pathWithQuery, a, scheme, port, headers, sourcePrincipal, sourceAddress);
    }

    public Req withHeaders(Map<String, String> h) {
        return new Req(
                method, pathWithQuery, authority, scheme, port, h, sourcePrincipal, sourceAddress);
    }

    public Req withPort(int p) {
        return new Req(
                method,
                pathWithQuery,
                authority,
                scheme,
                p,
                headers,
                sourcePrincipal,
                sourceAddress);
    }

    public Req withPrincipal(String p) {
        return new Req(method, pathWithQuery, authority, scheme, port, headers, p, sourceAddress);
    }

    @Override
    public String header(String name) {
        return headers.get(name);
    }
}
