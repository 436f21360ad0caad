package io.mithril.samples.bookinfo;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetSocketAddress;

/**
 * Bookinfo's details service: {@code GET /details/<id>} gives the book's details (the same book for
 * every numeric id, as in Istio's sample), a non-numeric id gives 400 {@code {"error":"please
 * provide numeric product id"}}; {@code GET /health}.
 */
public final class DetailsService extends SampleServer {

    public DetailsService(InetSocketAddress listen) throws IOException {
        super("details", listen);
    }

    @Override
    protected Reply handle(Request request) {
        String path = request.path();
        if (path.equals("/health")) {
            return isRead(request)
                    ? Reply.json(200, Json.object().put("status", "Details is healthy"))
                    : Reply.methodNotAllowed("GET, HEAD");
        }
        if (path.equals("/details") || path.startsWith("/details/")) {
            if (!isRead(request)) {
                return Reply.methodNotAllowed("GET, HEAD");
            }
            String[] parts = path.split("/");
            String last = parts[parts.length - 1];
            if (!last.matches("[+-]?[0-9]+")) {
                return Reply.json(400, Json.error("please provide numeric product id"));
            }
            return Reply.json(
                    200, details(new BigInteger(last.startsWith("+") ? last.substring(1) : last)));
        }
        return Reply.notFound();
    }

    /** The book's details, fields in the order Istio's sample writes them. */
    static ObjectNode details(BigInteger id) {
        ObjectNode d = Json.object();
        d.put("id", id);
        d.put("author", "William Shakespeare");
        d.put("year", 1595);
        d.put("type", "paperback");
        d.put("pages", 200);
        d.put("publisher", "PublisherA");
        d.put("language", "English");
        d.put("ISBN-10", "1234567890");
        d.put("ISBN-13", "123-1234567890");
        return d;
    }
}
