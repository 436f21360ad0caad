package io.mithril.proxy.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import java.util.List;
import java.util.Set;

/**
 * The checks an HTTP request passes before routing, as Envoy's codecs and connection manager make
 * them: a method Envoy's HTTP/1 parser knows (upper case), exactly one {@code Host} (or {@code
 * :authority}) made of authority characters, and a request target that {@link RequestPath} accepts.
 * What passes is the request's one path and authority.
 */
final class RequestValidation {

    /** The methods of Envoy's HTTP/1 parsers (http-parser, Balsa): RFC 9110, WebDAV and friends. */
    private static final Set<String> METHODS =
            Set.of(
                    "GET",
                    "HEAD",
                    "POST",
                    "PUT",
                    "DELETE",
                    "CONNECT",
                    "OPTIONS",
                    "TRACE",
                    "PATCH",
                    "COPY",
                    "LOCK",
                    "MKCOL",
                    "MOVE",
                    "PROPFIND",
                    "PROPPATCH",
                    "SEARCH",
                    "UNLOCK",
                    "BIND",
                    "REBIND",
                    "UNBIND",
                    "ACL",
                    "REPORT",
                    "MKACTIVITY",
                    "CHECKOUT",
                    "MERGE",
                    "M-SEARCH",
                    "NOTIFY",
                    "SUBSCRIBE",
                    "UNSUBSCRIBE",
                    "PURGE",
                    "MKCALENDAR",
                    "LINK",
                    "UNLINK",
                    "SOURCE",
                    "PRI");

    /** A request that passed: its normalized path (with query) and its authority. */
    record Target(String pathWithQuery, String authority) {}

    /** A request refused with 400; the message says why and is safe to send and log. */
    static final class BadRequest extends Exception {
        BadRequest(String message) {
            super(message, null, false, false);
        }
    }

    private RequestValidation() {}

    /**
     * @throws BadRequest when the request must be answered 400
     */
    static Target check(HttpRequest req, RequestPath.Normalization normalization)
            throws BadRequest {
        String method = req.method().name();
        if (!METHODS.contains(method)) {
            throw new BadRequest("unknown method");
        }
        List<String> hosts = req.headers().getAll(HttpHeaderNames.HOST);
        if (hosts.isEmpty()) {
            throw new BadRequest("missing Host header");
        }
        if (hosts.size() > 1) {
            throw new BadRequest("more than one Host header");
        }
        String authority = hosts.get(0);
        String uri = req.uri();
        if (uri.startsWith("http://") || uri.startsWith("https://")) {
            // Absolute form, as clients send it to an HTTP proxy (sidecar outbound): its authority
            // wins.
            int start = uri.indexOf("://") + 3;
            int slash = uri.indexOf('/', start);
            authority = slash < 0 ? uri.substring(start) : uri.substring(start, slash);
            uri = slash < 0 ? "/" : uri.substring(slash);
        }
        if (!validAuthority(authority)) {
            throw new BadRequest("invalid Host header");
        }
        if (uri.equals("*") && req.method() != HttpMethod.OPTIONS) {
            throw new BadRequest("request target * is for OPTIONS only");
        }
        try {
            return new Target(RequestPath.normalize(uri, normalization), authority);
        } catch (RequestPath.InvalidPathException e) {
            throw new BadRequest(e.getMessage());
        }
    }

    /** RFC 3986 authority characters without userinfo: reg-name or IP literal, optional port. */
    static boolean validAuthority(String a) {
        if (a.isEmpty()) {
            return false;
        }
        for (int i = 0; i < a.length(); i++) {
            char c = a.charAt(i);
            boolean ok =
                    c >= 'a' && c <= 'z'
                            || c >= 'A' && c <= 'Z'
                            || c >= '0' && c <= '9'
                            || "-._~!$&'()*+,;=:[]%".indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}
