package io.mithril.proxy.http;

import io.mithril.mesh.config.RequestAttributes;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;

/** A Netty request seen through {@link RequestAttributes} for routing and authorization. */
final class HttpRequestView implements RequestAttributes {

    private final HttpRequest request;
    private final ConnectionInfo conn;
    private final String path;
    private final String authority;

    HttpRequestView(HttpRequest request, ConnectionInfo conn, String path, String authority) {
        this.request = request;
        this.conn = conn;
        this.path = path;
        this.authority = authority;
    }

    @Override
    public String method() {
        return request.method().name();
    }

    @Override
    public String pathWithQuery() {
        return path;
    }

    @Override
    public String authority() {
        return authority;
    }

    @Override
    public String scheme() {
        return conn.tls() ? "https" : "http";
    }

    @Override
    public int port() {
        return conn.listenerPort();
    }

    @Override
    public String header(String name) {
        if (name.equals(":authority") || name.equals("host")) {
            return authority;
        }
        if (name.equals(":path")) {
            return path;
        }
        if (name.equals(":method")) {
            return method();
        }
        return request.headers().get(name);
    }

    @Override
    public String sourcePrincipal() {
        return conn.peerSpiffeId();
    }

    @Override
    public String sourceAddress() {
        return conn.sourceAddress();
    }

    static String hostHeader(HttpRequest r) {
        return r.headers().get(HttpHeaderNames.HOST);
    }
}
