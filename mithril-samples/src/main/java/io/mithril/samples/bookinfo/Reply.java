package io.mithril.samples.bookinfo;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** What a sample service answers: status, content type, extra headers and the body. */
public record Reply(
        int status, String contentType, Map<String, List<String>> headers, byte[] body) {

    public Reply {
        headers = Map.copyOf(headers);
    }

    static Reply json(int status, Object value) {
        return new Reply(status, "application/json", Map.of(), Json.bytes(value));
    }

    static Reply text(int status, String text) {
        return new Reply(
                status,
                "text/plain; charset=utf-8",
                Map.of(),
                text.getBytes(StandardCharsets.UTF_8));
    }

    static Reply html(int status, String html) {
        return new Reply(
                status,
                "text/html; charset=utf-8",
                Map.of(),
                html.getBytes(StandardCharsets.UTF_8));
    }

    static Reply notFound() {
        return text(404, "Not Found\n");
    }

    static Reply methodNotAllowed(String allowed) {
        return new Reply(
                405,
                "text/plain; charset=utf-8",
                Map.of("Allow", List.of(allowed)),
                "Method Not Allowed\n".getBytes(StandardCharsets.UTF_8));
    }

    /** A 302 to {@code location}, with optional Set-Cookie values. */
    static Reply redirect(String location, List<String> setCookies) {
        return new Reply(
                302,
                "text/html; charset=utf-8",
                setCookies.isEmpty()
                        ? Map.of("Location", List.of(location))
                        : Map.of("Location", List.of(location), "Set-Cookie", setCookies),
                ("<a href=\"" + Html.escape(location) + "\">redirect</a>\n")
                        .getBytes(StandardCharsets.UTF_8));
    }

    /** This reply with the given header added. */
    Reply withHeader(String name, String value) {
        java.util.Map<String, List<String>> h = new java.util.LinkedHashMap<>(headers);
        h.put(name, List.of(value));
        return new Reply(status, contentType, h, body);
    }
}
