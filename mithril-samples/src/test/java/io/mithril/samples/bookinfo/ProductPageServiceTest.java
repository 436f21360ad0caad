package io.mithril.samples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** productpage against real details, reviews and ratings on ephemeral ports. */
class ProductPageServiceTest {

    private final List<SampleServer> servers = new ArrayList<>();
    private DetailsService details;
    private RatingsService ratings;

    @BeforeEach
    void startBackends() throws Exception {
        details = started(new DetailsService(TestHttp.ephemeral()));
        ratings = started(new RatingsService(TestHttp.ephemeral()));
    }

    @AfterEach
    void stopAll() {
        servers.forEach(SampleServer::close);
    }

    private <T extends SampleServer> T started(T s) {
        servers.add(s);
        s.start();
        return s;
    }

    private ReviewsService reviews(ReviewsService.Version v) throws Exception {
        return started(
                new ReviewsService(
                        TestHttp.ephemeral(), v, TestHttp.base(ratings), OutboundProxy.none()));
    }

    private ProductPageService productPage(URI detailsUrl, URI reviewsUrl, URI ratingsUrl)
            throws Exception {
        return started(
                new ProductPageService(
                        TestHttp.ephemeral(),
                        detailsUrl,
                        reviewsUrl,
                        ratingsUrl,
                        OutboundProxy.none()));
    }

    private ProductPageService productPage(ReviewsService.Version v) throws Exception {
        return productPage(
                TestHttp.base(details), TestHttp.base(reviews(v)), TestHttp.base(ratings));
    }

    private static int count(String text, String needle) {
        Matcher m = Pattern.compile(Pattern.quote(needle)).matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    @Test
    void pageWithAllBackendsUpShowsBookDetailsAndReviews() throws Exception {
        HttpResponse<String> r =
                TestHttp.get(productPage(ReviewsService.Version.V1), "/productpage");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type"))
                .hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
        String page = r.body();
        assertThat(page)
                .contains(
                        "The Comedy of Errors",
                        "<b>William Shakespeare's</b> early plays",
                        "Book Details",
                        "paperback",
                        "PublisherA",
                        "123-1234567890",
                        "Book Reviews",
                        "Reviewer1",
                        "Reviewer2",
                        "An extremely entertaining play by Shakespeare.");
        assertThat(page).doesNotContain("glyphicon-star", "Sorry,");
    }

    @Test
    void pageWithReviewsV2ShowsBlackStars() throws Exception {
        String page = TestHttp.get(productPage(ReviewsService.Version.V2), "/productpage").body();
        assertThat(count(page, "<font color=\"black\">")).isEqualTo(2);
        assertThat(count(page, "glyphicon glyphicon-star\"")).isEqualTo(9);
        assertThat(count(page, "glyphicon-star-empty")).isEqualTo(1);
        assertThat(page).doesNotContain("color=\"red\"");
    }

    @Test
    void pageWithReviewsV3ShowsRedStars() throws Exception {
        String page = TestHttp.get(productPage(ReviewsService.Version.V3), "/productpage").body();
        assertThat(count(page, "<font color=\"red\">")).isEqualTo(2);
        assertThat(count(page, "glyphicon glyphicon-star\"")).isEqualTo(9);
        assertThat(page).doesNotContain("color=\"black\"");
    }

    @Test
    void pageWithRatingsDownShowsRatingsErrorInReviews() throws Exception {
        ReviewsService v2 =
                started(
                        new ReviewsService(
                                TestHttp.ephemeral(),
                                ReviewsService.Version.V2,
                                TestHttp.deadUrl(),
                                OutboundProxy.none()));
        String page =
                TestHttp.get(
                                productPage(
                                        TestHttp.base(details),
                                        TestHttp.base(v2),
                                        TestHttp.base(ratings)),
                                "/productpage")
                        .body();
        assertThat(count(page, "Ratings service is currently unavailable")).isEqualTo(2);
        assertThat(page).contains("Reviewer1");
    }

    @Test
    void pageWithDetailsDownShowsDetailsErrorAnd200() throws Exception {
        ProductPageService p =
                productPage(
                        TestHttp.deadUrl(),
                        TestHttp.base(reviews(ReviewsService.Version.V1)),
                        TestHttp.base(ratings));
        HttpResponse<String> r = TestHttp.get(p, "/productpage");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body())
                .contains(
                        "Error fetching product details!",
                        "Sorry, product details are currently unavailable for this book.",
                        "Reviewer1");
    }

    @Test
    void pageWithReviewsDownShowsReviewsErrorAnd200() throws Exception {
        ProductPageService p =
                productPage(TestHttp.base(details), TestHttp.deadUrl(), TestHttp.base(ratings));
        HttpResponse<String> r = TestHttp.get(p, "/productpage");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body())
                .contains(
                        "Error fetching product reviews!",
                        "Sorry, product reviews are currently unavailable for this book.",
                        "PublisherA");
    }

    @Test
    void productsApiIsIstiosCatalogue() throws Exception {
        HttpResponse<String> r =
                TestHttp.get(productPage(ReviewsService.Version.V1), "/api/v1/products");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).contains("application/json");
        assertThat(r.body())
                .isEqualTo(
                        "[{\"id\":0,\"title\":\"The Comedy of Errors\",\"descriptionHtml\":"
                                + "\"<a href=\\\"https://en.wikipedia.org/wiki/The_Comedy_of_Errors\\\">Wikipedia Summary</a>:"
                                + " The Comedy of Errors is one of <b>William Shakespeare's</b> early plays. It is his shortest and"
                                + " one of his most farcical comedies, with a major part of the humour coming from slapstick and"
                                + " mistaken identity, in addition to puns and word play.\"}]");
    }

    @Test
    void productApiGivesDetailsReviewsAndRatings() throws Exception {
        ProductPageService p = productPage(ReviewsService.Version.V3);
        HttpResponse<String> d = TestHttp.get(p, "/api/v1/products/0");
        assertThat(d.statusCode()).isEqualTo(200);
        assertThat(TestHttp.json(d).path("ISBN-10").asText()).isEqualTo("1234567890");
        JsonNode rv = TestHttp.json(TestHttp.get(p, "/api/v1/products/0/reviews"));
        assertThat(rv.path("reviews").get(0).path("rating").path("color").asText())
                .isEqualTo("red");
        HttpResponse<String> ra = TestHttp.get(p, "/api/v1/products/0/ratings");
        assertThat(ra.statusCode()).isEqualTo(200);
        assertThat(ra.body()).isEqualTo("{\"id\":0,\"ratings\":{\"Reviewer1\":5,\"Reviewer2\":4}}");
    }

    @Test
    void productApiPassesTheBackendStatusAndIstiosError() throws Exception {
        ProductPageService p = productPage(ReviewsService.Version.V1);
        HttpResponse<String> d = TestHttp.get(p, "/api/v1/products/abc");
        assertThat(d.statusCode()).isEqualTo(400);
        assertThat(d.body())
                .isEqualTo(
                        "{\"error\":\"Sorry, product details are currently unavailable for this book.\"}");
    }

    @Test
    void productApiWithRatingsDownIs500WithError() throws Exception {
        ProductPageService p =
                productPage(
                        TestHttp.base(details),
                        TestHttp.base(reviews(ReviewsService.Version.V1)),
                        TestHttp.deadUrl());
        HttpResponse<String> r = TestHttp.get(p, "/api/v1/products/0/ratings");
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(r.body())
                .isEqualTo(
                        "{\"error\":\"Sorry, product ratings are currently unavailable for this book.\"}");
    }

    @Test
    void loginSetsSessionCookieAndPageShowsTheUser() throws Exception {
        ProductPageService p = productPage(ReviewsService.Version.V1);
        HttpResponse<String> login =
                TestHttp.post(
                        p,
                        "/login",
                        "application/x-www-form-urlencoded",
                        "username=jason&passwd=x",
                        "Referer",
                        "http://bookinfo.example/productpage");
        assertThat(login.statusCode()).isEqualTo(302);
        assertThat(login.headers().firstValue("Location"))
                .contains("http://bookinfo.example/productpage");
        String setCookie = login.headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(setCookie).startsWith("session=").contains("HttpOnly");
        String cookie = setCookie.substring(0, setCookie.indexOf(';'));
        String page = TestHttp.get(p, "/productpage", "Cookie", cookie).body();
        assertThat(page).contains("<span class=\"user\">jason</span>", "sign out");
        assertThat(TestHttp.get(p, "/productpage").body())
                .doesNotContain("jason")
                .contains("Sign in");
    }

    @Test
    void logoutClearsTheCookie() throws Exception {
        ProductPageService p = productPage(ReviewsService.Version.V1);
        HttpResponse<String> out = TestHttp.get(p, "/logout", "Referer", "/productpage");
        assertThat(out.statusCode()).isEqualTo(302);
        assertThat(out.headers().firstValue("Location")).contains("/productpage");
        assertThat(out.headers().firstValue("Set-Cookie"))
                .hasValueSatisfying(
                        c -> assertThat(c).startsWith("session=;").contains("Max-Age=0"));
    }

    @Test
    void forgedSessionCookieIsIgnored() throws Exception {
        ProductPageService p = productPage(ReviewsService.Version.V1);
        String forged =
                "session="
                        + java.util.Base64.getUrlEncoder()
                                .withoutPadding()
                                .encodeToString(
                                        "admin".getBytes(java.nio.charset.StandardCharsets.UTF_8))
                        + ".AAAA";
        assertThat(TestHttp.get(p, "/productpage", "Cookie", forged).body())
                .doesNotContain("admin");
    }

    @Test
    void userNameIsEscapedInThePage() throws Exception {
        ProductPageService p = productPage(ReviewsService.Version.V1);
        HttpResponse<String> login =
                TestHttp.post(
                        p, "/login", "application/x-www-form-urlencoded", "username=%3Cscript%3E");
        String cookie = login.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
        assertThat(TestHttp.get(p, "/productpage", "Cookie", cookie).body())
                .contains("&lt;script&gt;")
                .doesNotContain("<script>");
    }

    @Test
    void staticCssHealthAndIndexAreServed() throws Exception {
        ProductPageService p = productPage(ReviewsService.Version.V1);
        HttpResponse<String> css = TestHttp.get(p, "/static/css/bookinfo.css");
        assertThat(css.statusCode()).isEqualTo(200);
        assertThat(css.headers().firstValue("Content-Type"))
                .hasValueSatisfying(t -> assertThat(t).startsWith("text/css"));
        assertThat(css.body()).contains(".glyphicon-star");
        assertThat(TestHttp.get(p, "/static/../SessionCookie.class").statusCode()).isEqualTo(404);
        assertThat(TestHttp.get(p, "/static/css/missing.css").statusCode()).isEqualTo(404);
        HttpResponse<String> health = TestHttp.get(p, "/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).isEqualTo("Product page is healthy");
        assertThat(TestHttp.get(p, "/").body()).contains("productpage?u=normal");
    }

    @Test
    void headOfProductPageIs200WithoutBody() throws Exception {
        HttpResponse<String> r =
                TestHttp.head(productPage(ReviewsService.Version.V1), "/productpage");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEmpty();
        assertThat(Integer.parseInt(r.headers().firstValue("Content-Length").orElseThrow()))
                .isPositive();
    }

    @Test
    void loginWithGetIs405() throws Exception {
        assertThat(TestHttp.get(productPage(ReviewsService.Version.V1), "/login").statusCode())
                .isEqualTo(405);
    }
}
