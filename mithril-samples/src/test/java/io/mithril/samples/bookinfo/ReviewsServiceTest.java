package io.mithril.samples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ReviewsServiceTest {

    private RatingsService ratings;
    private ReviewsService reviews;

    @BeforeEach
    void startRatings() throws Exception {
        ratings = new RatingsService(TestHttp.ephemeral());
        ratings.start();
    }

    @AfterEach
    void stop() {
        if (reviews != null) {
            reviews.close();
        }
        ratings.close();
    }

    private JsonNode reviewsOf(ReviewsService.Version v, java.net.URI ratingsUrl) throws Exception {
        reviews = new ReviewsService(TestHttp.ephemeral(), v, ratingsUrl, OutboundProxy.none());
        reviews.start();
        HttpResponse<String> r = TestHttp.get(reviews, "/reviews/0");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).contains("application/json");
        return TestHttp.json(r);
    }

    @Test
    void v1HasTwoReviewsWithoutRatings() throws Exception {
        JsonNode j = reviewsOf(ReviewsService.Version.V1, TestHttp.base(ratings));
        assertThat(j.path("id").asText()).isEqualTo("0");
        assertThat(j.path("id").isTextual()).isTrue();
        assertThat(j.path("clustername").asText())
                .isEqualTo(String.valueOf(System.getenv("CLUSTER_NAME")));
        assertThat(j.path("podname").asText()).isNotEmpty();
        assertThat(j.path("reviews")).hasSize(2);
        assertThat(j.path("reviews").get(0).path("reviewer").asText()).isEqualTo("Reviewer1");
        assertThat(j.path("reviews").get(0).path("text").asText())
                .isEqualTo(
                        "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!");
        assertThat(j.path("reviews").get(1).path("reviewer").asText()).isEqualTo("Reviewer2");
        assertThat(j.path("reviews").get(1).path("text").asText())
                .isEqualTo(
                        "Absolutely fun and entertaining."
                                + " The play lacks thematic depth when compared to other plays by Shakespeare.");
        assertThat(j.path("reviews").get(0).has("rating")).isFalse();
    }

    @Test
    void v2GivesBlackStarsFromRatings() throws Exception {
        JsonNode j = reviewsOf(ReviewsService.Version.V2, TestHttp.base(ratings));
        assertThat(j.path("reviews").get(0).path("rating").toString())
                .isEqualTo("{\"stars\":5,\"color\":\"black\"}");
        assertThat(j.path("reviews").get(1).path("rating").toString())
                .isEqualTo("{\"stars\":4,\"color\":\"black\"}");
    }

    @Test
    void v3GivesRedStarsFromRatings() throws Exception {
        JsonNode j = reviewsOf(ReviewsService.Version.V3, TestHttp.base(ratings));
        assertThat(j.path("reviews").get(0).path("rating").toString())
                .isEqualTo("{\"stars\":5,\"color\":\"red\"}");
        assertThat(j.path("reviews").get(1).path("rating").toString())
                .isEqualTo("{\"stars\":4,\"color\":\"red\"}");
    }

    @Test
    void starsFollowWhatRatingsSays() throws Exception {
        TestHttp.post(
                ratings, "/ratings/0", "application/json", "{\"Reviewer1\":2,\"Reviewer2\":3}");
        JsonNode j = reviewsOf(ReviewsService.Version.V2, TestHttp.base(ratings));
        assertThat(j.path("reviews").get(0).path("rating").path("stars").asInt()).isEqualTo(2);
        assertThat(j.path("reviews").get(1).path("rating").path("stars").asInt()).isEqualTo(3);
    }

    @Test
    void ratingsDownGivesTheUnavailableError() throws Exception {
        JsonNode j = reviewsOf(ReviewsService.Version.V2, TestHttp.deadUrl());
        assertThat(j.path("reviews").get(0).path("rating").toString())
                .isEqualTo("{\"error\":\"Ratings service is currently unavailable\"}");
        assertThat(j.path("reviews").get(1).path("rating").toString())
                .isEqualTo("{\"error\":\"Ratings service is currently unavailable\"}");
    }

    @Test
    void nonNumericIdIs404() throws Exception {
        reviews =
                new ReviewsService(
                        TestHttp.ephemeral(),
                        ReviewsService.Version.V1,
                        TestHttp.base(ratings),
                        Optional.empty());
        reviews.start();
        assertThat(TestHttp.get(reviews, "/reviews/abc").statusCode()).isEqualTo(404);
        assertThat(TestHttp.get(reviews, "/health").body())
                .isEqualTo("{\"status\":\"Reviews is healthy\"}");
    }

    @Test
    void versionParsesV1ToV3Only() {
        assertThat(ReviewsService.Version.parse("V3")).isEqualTo(ReviewsService.Version.V3);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ReviewsService.Version.parse("v4"))
                .hasMessage("reviews version \"v4\" is not v1, v2 or v3");
    }
}
