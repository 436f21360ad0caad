package io.mithril.samples.bookinfo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Bookinfo's ratings service (v1, in memory): {@code GET /ratings/<id>} gives {@code
 * {"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}}; {@code POST /ratings/<id>} with a JSON object
 * replaces that product's ratings, as Istio's sample allows; a non-numeric id gives 400 {@code
 * {"error":"please provide numeric product ID"}}; {@code GET /health}.
 */
public final class RatingsService extends SampleServer {

    // Like Node's parseInt: leading digits count, the rest is ignored.
    private static final Pattern LEADING_INT = Pattern.compile("^\\s*([+-]?[0-9]+)");
    private static final int MAX_PRODUCTS = 1000;

    private final Map<Long, ObjectNode> userAdded = new ConcurrentHashMap<>();

    public RatingsService(InetSocketAddress listen) throws IOException {
        super("ratings", listen);
    }

    @Override
    protected Reply handle(Request request) {
        String path = request.path();
        if (path.equals("/health")) {
            return isRead(request)
                    ? Reply.json(200, Json.object().put("status", "Ratings is healthy"))
                    : Reply.methodNotAllowed("GET, HEAD");
        }
        if (!path.startsWith("/ratings/")) {
            return Reply.notFound();
        }
        String last = path.substring(path.lastIndexOf('/') + 1);
        Matcher m = LEADING_INT.matcher(last);
        Long id = null;
        if (m.find()) {
            try {
                id =
                        Long.parseLong(
                                m.group(1).startsWith("+") ? m.group(1).substring(1) : m.group(1));
            } catch (NumberFormatException tooLarge) {
                id = null;
            }
        }
        if (id == null) {
            return Reply.json(400, Json.error("please provide numeric product ID"));
        }
        if (isRead(request)) {
            return Reply.json(200, ratings(id));
        }
        if (request.method().equals("POST")) {
            JsonNode body = Json.parseOrNull(request.body());
            if (body == null || !body.isObject()) {
                return Reply.json(400, Json.error("please provide valid ratings JSON"));
            }
            if (userAdded.size() >= MAX_PRODUCTS && !userAdded.containsKey(id)) {
                return Reply.json(507, Json.error("too many products with posted ratings"));
            }
            ObjectNode entry = Json.object();
            entry.put("id", id);
            entry.set("ratings", body);
            userAdded.put(id, entry);
            return Reply.json(200, entry);
        }
        return Reply.methodNotAllowed("GET, HEAD, POST");
    }

    private ObjectNode ratings(long id) {
        ObjectNode posted = userAdded.get(id);
        if (posted != null) {
            return posted;
        }
        ObjectNode r = Json.object();
        r.put("id", id);
        r.putObject("ratings").put("Reviewer1", 5).put("Reviewer2", 4);
        return r;
    }
}
