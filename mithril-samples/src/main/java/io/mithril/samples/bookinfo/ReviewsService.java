package io.mithril.samples.bookinfo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bookinfo's reviews service. {@code GET /reviews/<id>} gives two reviews of the book; v1 shows no
 * stars, v2 black stars and v3 red stars, and v2/v3 ask the ratings service for them (a ratings
 * failure gives {@code "rating":{"error":"Ratings service is currently unavailable"}}). The JSON is
 * Istio's: {@code {"id":"0","podname":..,"clustername":"null","reviews":[..]}}.
 */
public final class ReviewsService extends SampleServer {

    private static final Logger log = LoggerFactory.getLogger(ReviewsService.class);

    /** The three versions of Istio's sample. */
    public enum Version {
        V1(false, null),
        V2(true, "black"),
        V3(true, "red");

        final boolean ratingsEnabled;
        final String starColor;

        Version(boolean ratingsEnabled, String starColor) {
            this.ratingsEnabled = ratingsEnabled;
            this.starColor = starColor;
        }

        /** "v1", "v2" or "v3". */
        public static Version parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "v1" -> V1;
                case "v2" -> V2;
                case "v3" -> V3;
                default ->
                        throw new IllegalArgumentException(
                                "reviews version \"" + s + "\" is not v1, v2 or v3");
            };
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    static final String REVIEWER1_TEXT =
            "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!";
    static final String REVIEWER2_TEXT =
            "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.";

    private final Version version;
    private final Backend ratings;
    private final String podName;
    private final String clusterName;

    /**
     * @param ratingsUrl base URL of ratings, e.g. {@code http://ratings:9080} (unused by v1)
     */
    public ReviewsService(
            InetSocketAddress listen,
            Version version,
            URI ratingsUrl,
            Optional<OutboundProxy> proxy)
            throws IOException {
        super("reviews-" + version, listen);
        this.version = version;
        // Istio's sample waits 10s for ratings with black stars and 2.5s with red ones.
        this.ratings =
                new Backend(
                        "ratings",
                        ratingsUrl,
                        proxy,
                        version == Version.V3 ? Duration.ofMillis(2500) : Duration.ofSeconds(10));
        this.podName =
                System.getenv("HOSTNAME") != null ? System.getenv("HOSTNAME") : localHostName();
        // Istio's reviews prints the CLUSTER_NAME variable, which is "null" when unset.
        this.clusterName = String.valueOf(System.getenv("CLUSTER_NAME"));
    }

    public Version version() {
        return version;
    }

    @Override
    protected Reply handle(Request request) throws InterruptedException {
        String path = request.path();
        if (path.equals("/health")) {
            return isRead(request)
                    ? Reply.json(200, Json.object().put("status", "Reviews is healthy"))
                    : Reply.methodNotAllowed("GET, HEAD");
        }
        if (path.startsWith("/reviews/") && path.indexOf('/', "/reviews/".length()) < 0) {
            if (!isRead(request)) {
                return Reply.methodNotAllowed("GET, HEAD");
            }
            String idText = path.substring("/reviews/".length());
            int id;
            try {
                id = Integer.parseInt(idText); // a JAX-RS int path parameter: anything else is 404
            } catch (NumberFormatException e) {
                return Reply.notFound();
            }
            return Reply.json(200, reviews(id, request));
        }
        return Reply.notFound();
    }

    private ObjectNode reviews(int productId, Request request) throws InterruptedException {
        int stars1 = -1;
        int stars2 = -1;
        if (version.ratingsEnabled) {
            JsonNode r = fetchRatings(productId, request);
            if (r != null && r.path("ratings").isObject()) {
                JsonNode ratingsNode = r.path("ratings");
                if (ratingsNode.path("Reviewer1").canConvertToInt()) {
                    stars1 = ratingsNode.path("Reviewer1").asInt();
                }
                if (ratingsNode.path("Reviewer2").canConvertToInt()) {
                    stars2 = ratingsNode.path("Reviewer2").asInt();
                }
            }
        }
        ObjectNode out = Json.object();
        out.put("id", Integer.toString(productId));
        out.put("podname", podName);
        out.put("clustername", clusterName);
        ArrayNode list = out.putArray("reviews");
        list.add(review("Reviewer1", REVIEWER1_TEXT, stars1));
        list.add(review("Reviewer2", REVIEWER2_TEXT, stars2));
        return out;
    }

    private ObjectNode review(String reviewer, String text, int stars) {
        ObjectNode r = Json.object();
        r.put("reviewer", reviewer);
        r.put("text", text);
        if (version.ratingsEnabled) {
            ObjectNode rating = r.putObject("rating");
            if (stars != -1) {
                rating.put("stars", stars);
                rating.put("color", version.starColor);
            } else {
                rating.put("error", "Ratings service is currently unavailable");
            }
        }
        return r;
    }

    /** The ratings JSON, or null when ratings cannot be reached or does not answer 200. */
    private JsonNode fetchRatings(int productId, Request request) throws InterruptedException {
        try {
            Backend.Response res = ratings.get("/ratings/" + productId, TraceHeaders.from(request));
            if (res.status() != 200) {
                log.warn(
                        "reviews: {} answered {} for product {}", ratings, res.status(), productId);
                return null;
            }
            return Json.parseOrNull(res.body());
        } catch (IOException e) {
            log.warn("reviews: cannot reach {}: {}", ratings, e.toString());
            return null;
        }
    }

    private static String localHostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}
