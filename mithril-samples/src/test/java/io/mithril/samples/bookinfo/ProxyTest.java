package io.mithril.samples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpResponse;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Outbound calls through an HTTP proxy, as a sidecar's outbound listener receives them: the
 * services use Istio's default names (http://details:9080, which do not resolve here) and only the
 * proxy knows where they live.
 */
class ProxyTest {

    private DetailsService details;
    private RatingsService ratings;
    private ReviewsService reviews;
    private ProductPageService productPage;
    private RecordingProxy proxy;

    @BeforeEach
    void start() throws Exception {
        proxy = new RecordingProxy();
        Optional<OutboundProxy> viaProxy = OutboundProxy.resolve(proxy.url(), java.util.Map.of());
        details = new DetailsService(TestHttp.ephemeral());
        details.start();
        ratings = new RatingsService(TestHttp.ephemeral());
        ratings.start();
        reviews =
                new ReviewsService(
                        TestHttp.ephemeral(),
                        ReviewsService.Version.V2,
                        URI.create("http://ratings:9080"),
                        viaProxy);
        reviews.start();
        productPage =
                new ProductPageService(
                        TestHttp.ephemeral(),
                        URI.create("http://details:9080"),
                        URI.create("http://reviews:9080"),
                        URI.create("http://ratings:9080"),
                        viaProxy);
        productPage.start();
        proxy.route("details:9080", details.port())
                .route("reviews:9080", reviews.port())
                .route("ratings:9080", ratings.port());
    }

    @AfterEach
    void stop() {
        productPage.close();
        reviews.close();
        ratings.close();
        details.close();
        proxy.close();
    }

    @Test
    void callsGoThroughTheProxyInAbsoluteFormWithHostHeader() throws Exception {
        HttpResponse<String> page = TestHttp.get(productPage, "/productpage");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body())
                .contains("PublisherA", "<font color=\"black\">")
                .doesNotContain("Sorry,");
        assertThat(proxy.requests)
                .extracting(RecordingProxy.Recorded::requestTarget)
                .containsExactlyInAnyOrder(
                        "http://details:9080/details/0",
                        "http://reviews:9080/reviews/0",
                        "http://ratings:9080/ratings/0");
        assertThat(proxy.requests)
                .allSatisfy(
                        r -> {
                            assertThat(r.method()).isEqualTo("GET");
                            assertThat(r.host())
                                    .isEqualTo(URI.create(r.requestTarget()).getAuthority());
                        });
    }

    @Test
    void tracingHeadersAndEndUserArePropagatedToEveryHop() throws Exception {
        HttpResponse<String> login =
                TestHttp.post(
                        productPage,
                        "/login",
                        "application/x-www-form-urlencoded",
                        "username=jason");
        String cookie = login.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
        String traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        TestHttp.get(
                productPage,
                "/productpage",
                "Cookie",
                cookie,
                "x-request-id",
                "req-123",
                "x-b3-traceid",
                "80f198ee56343ba864fe8b2a57d3eff7",
                "x-b3-spanid",
                "e457b5a2e4d86bd1",
                "x-b3-sampled",
                "1",
                "traceparent",
                traceparent,
                "end-user",
                "mallory");
        assertThat(proxy.requests).hasSize(3);
        assertThat(proxy.requests)
                .allSatisfy(
                        r -> {
                            assertThat(r.header("x-request-id")).isEqualTo("req-123");
                            assertThat(r.header("x-b3-traceid"))
                                    .isEqualTo("80f198ee56343ba864fe8b2a57d3eff7");
                            assertThat(r.header("x-b3-spanid")).isEqualTo("e457b5a2e4d86bd1");
                            assertThat(r.header("x-b3-sampled")).isEqualTo("1");
                            assertThat(r.header("traceparent")).isEqualTo(traceparent);
                            // productpage says who the user is from its session, not from what the
                            // client sent
                            assertThat(r.header("end-user")).isEqualTo("jason");
                        });
    }

    @Test
    void unreachableServiceBehindTheProxyShowsTheErrorText() throws Exception {
        proxy.route("details:9080", TestHttp.deadUrl().getPort());
        HttpResponse<String> page = TestHttp.get(productPage, "/productpage");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body())
                .contains("Sorry, product details are currently unavailable for this book.");
        assertThat(proxy.requests)
                .extracting(RecordingProxy.Recorded::requestTarget)
                .contains("http://details:9080/details/0");
    }

    @Test
    void withoutAProxyTheDefaultNamesDoNotResolveAndThePageStillRenders() throws Exception {
        try (ProductPageService direct =
                new ProductPageService(
                        TestHttp.ephemeral(),
                        URI.create("http://details.invalid:9080"),
                        URI.create("http://reviews.invalid:9080"),
                        URI.create("http://ratings.invalid:9080"),
                        OutboundProxy.none())) {
            direct.start();
            String page = TestHttp.get(direct, "/productpage").body();
            assertThat(page)
                    .contains(
                            "Sorry, product details are currently unavailable for this book.",
                            "Sorry, product reviews are currently unavailable for this book.");
        }
        assertThat(proxy.requests).isEmpty();
    }
}
