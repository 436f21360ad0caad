package io.mithril.samples.bookinfo;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bookinfo's productpage: the HTML page of product 0 built from details and reviews, the JSON API
 * ({@code /api/v1/products}, {@code /api/v1/products/<id>} (details), {@code .../reviews}, {@code
 * .../ratings}), sign-in ({@code POST /login}, form field {@code username}, kept in a signed
 * session cookie) and {@code /logout}, {@code /static/...} and {@code /health}. A backend that
 * fails or times out (3s, reviews tried twice as in Istio's sample) shows Istio's error text in the
 * page, with status 200.
 */
public final class ProductPageService extends SampleServer {

    private static final Logger log = LoggerFactory.getLogger(ProductPageService.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(3);
    private static final Pattern API_PRODUCT =
            Pattern.compile("^/api/v1/products/([^/]+)(/reviews|/ratings)?$");
    private static final Pattern STATIC_NAME =
            Pattern.compile("^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*\\.[a-z0-9]+$");

    static final String DETAILS_ERROR =
            "Sorry, product details are currently unavailable for this book.";
    static final String REVIEWS_ERROR =
            "Sorry, product reviews are currently unavailable for this book.";
    static final String RATINGS_ERROR =
            "Sorry, product ratings are currently unavailable for this book.";

    private final Backend details;
    private final Backend reviews;
    private final Backend ratings;
    private final SessionCookie session = new SessionCookie();

    public ProductPageService(
            InetSocketAddress listen,
            URI detailsUrl,
            URI reviewsUrl,
            URI ratingsUrl,
            Optional<OutboundProxy> proxy)
            throws IOException {
        super("productpage", listen);
        this.details = new Backend("details", detailsUrl, proxy, TIMEOUT);
        this.reviews = new Backend("reviews", reviewsUrl, proxy, TIMEOUT);
        this.ratings = new Backend("ratings", ratingsUrl, proxy, TIMEOUT);
    }

    /** A backend's status and JSON (or Istio's error object). */
    private record Fetched(int status, JsonNode json) {}

    @Override
    protected Reply handle(Request request) throws InterruptedException {
        String path = request.path();
        switch (path) {
            case "/", "/index.html" -> {
                return isRead(request)
                        ? Reply.html(200, ProductPageHtml.index())
                        : Reply.methodNotAllowed("GET, HEAD");
            }
            case "/health" -> {
                return isRead(request)
                        ? Reply.text(200, "Product page is healthy")
                        : Reply.methodNotAllowed("GET, HEAD");
            }
            case "/login" -> {
                return request.method().equals("POST")
                        ? login(request)
                        : Reply.methodNotAllowed("POST");
            }
            case "/logout" -> {
                return isRead(request) ? logout(request) : Reply.methodNotAllowed("GET, HEAD");
            }
            case "/productpage" -> {
                return isRead(request) ? productPage(request) : Reply.methodNotAllowed("GET, HEAD");
            }
            case "/api/v1/products" -> {
                return isRead(request)
                        ? Reply.json(200, Product.CATALOGUE)
                        : Reply.methodNotAllowed("GET, HEAD");
            }
            default -> {
                if (path.startsWith("/static/")) {
                    return isRead(request)
                            ? staticFile(path.substring("/static/".length()))
                            : Reply.methodNotAllowed("GET, HEAD");
                }
                Matcher m = API_PRODUCT.matcher(path);
                if (m.matches()) {
                    if (!isRead(request)) {
                        return Reply.methodNotAllowed("GET, HEAD");
                    }
                    String id = m.group(1);
                    Map<String, String> headers = forwardHeaders(request);
                    Fetched f =
                            m.group(2) == null
                                    ? fetchDetails(id, headers)
                                    : m.group(2).equals("/reviews")
                                            ? fetchReviews(id, headers)
                                            : fetchRatings(id, headers);
                    return Reply.json(f.status(), f.json());
                }
                return Reply.notFound();
            }
        }
    }

    private Reply productPage(Request request) throws InterruptedException {
        Product product = Product.CATALOGUE.get(0);
        Map<String, String> headers = forwardHeaders(request);
        Fetched d = fetchDetails(Integer.toString(product.id()), headers);
        Fetched r = fetchReviews(Integer.toString(product.id()), headers);
        String user = user(request).orElse("");
        return Reply.html(
                200,
                ProductPageHtml.render(product, d.status(), d.json(), r.status(), r.json(), user));
    }

    private Reply login(Request request) {
        String user = request.values().getOrDefault("username", "");
        String cookie =
                SessionCookie.NAME
                        + "="
                        + session.encode(user)
                        + "; Path=/; HttpOnly; SameSite=Lax";
        log.info("productpage: user {} signed in", user);
        return Reply.redirect(back(request), List.of(cookie));
    }

    private Reply logout(Request request) {
        String cookie = SessionCookie.NAME + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax";
        return Reply.redirect(back(request), List.of(cookie));
    }

    /**
     * Flask's redirect(request.referrer): back to the page the form was on, else the product page.
     */
    private static String back(Request request) {
        return request.header("Referer").filter(r -> !r.isBlank()).orElse("/productpage");
    }

    private Optional<String> user(Request request) {
        return request.cookie(SessionCookie.NAME)
                .flatMap(session::decode)
                .filter(u -> !u.isEmpty());
    }

    /** The propagated headers, plus end-user from the session as Istio's productpage sets it. */
    private Map<String, String> forwardHeaders(Request request) {
        Map<String, String> headers = new LinkedHashMap<>(TraceHeaders.from(request));
        headers.remove("end-user");
        user(request).ifPresent(u -> headers.put("end-user", u));
        return headers;
    }

    private Fetched fetchDetails(String id, Map<String, String> headers)
            throws InterruptedException {
        return fetch(details, "/details/" + segment(id), headers, 1, DETAILS_ERROR);
    }

    private Fetched fetchReviews(String id, Map<String, String> headers)
            throws InterruptedException {
        // Istio's productpage tries reviews twice ("bug introduced explicitly" for the
        // fault-injection task).
        return fetch(reviews, "/reviews/" + segment(id), headers, 2, REVIEWS_ERROR);
    }

    private Fetched fetchRatings(String id, Map<String, String> headers)
            throws InterruptedException {
        return fetch(ratings, "/ratings/" + segment(id), headers, 1, RATINGS_ERROR);
    }

    private static Fetched fetch(
            Backend backend, String path, Map<String, String> headers, int attempts, String error)
            throws InterruptedException {
        int status = 500;
        for (int i = 0; i < attempts; i++) {
            try {
                Backend.Response res = backend.get(path, headers);
                if (res.status() == 200) {
                    JsonNode json = Json.parseOrNull(res.body());
                    if (json != null) {
                        return new Fetched(200, json);
                    }
                    log.warn(
                            "productpage: {} answered {} with a body that is not JSON",
                            backend,
                            path);
                    status = 500;
                } else {
                    log.warn("productpage: {} answered {} for {}", backend, res.status(), path);
                    status = res.status();
                }
            } catch (IOException e) {
                log.warn("productpage: cannot reach {} for {}: {}", backend, path, e.toString());
                status = 500;
            }
        }
        return new Fetched(status, Json.error(error));
    }

    private static String segment(String id) {
        return URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static Reply staticFile(String name) {
        if (!STATIC_NAME.matcher(name).matches()) {
            return Reply.notFound();
        }
        try (InputStream in = ProductPageService.class.getResourceAsStream("static/" + name)) {
            if (in == null) {
                return Reply.notFound();
            }
            String type =
                    name.endsWith(".css")
                            ? "text/css; charset=utf-8"
                            : name.endsWith(".js")
                                    ? "text/javascript; charset=utf-8"
                                    : name.endsWith(".png")
                                            ? "image/png"
                                            : "application/octet-stream";
            return new Reply(
                    200, type, Map.of("Cache-Control", List.of("max-age=3600")), in.readAllBytes());
        } catch (IOException e) {
            return Reply.text(500, "cannot read static file\n");
        }
    }
}
