package io.mithril.samples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RatingsServiceTest {

    private RatingsService ratings;

    @BeforeEach
    void start() throws Exception {
        ratings = new RatingsService(TestHttp.ephemeral());
        ratings.start();
    }

    @AfterEach
    void stop() {
        ratings.close();
    }

    @Test
    void ratingsOfProductZeroIsIstiosExactJson() throws Exception {
        HttpResponse<String> r = TestHttp.get(ratings, "/ratings/0");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).contains("application/json");
        assertThat(r.body()).isEqualTo("{\"id\":0,\"ratings\":{\"Reviewer1\":5,\"Reviewer2\":4}}");
    }

    @Test
    void nonNumericIdIs400() throws Exception {
        HttpResponse<String> r = TestHttp.get(ratings, "/ratings/abc");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("{\"error\":\"please provide numeric product ID\"}");
    }

    @Test
    void postedRatingsReplaceTheDefaultsForThatProduct() throws Exception {
        HttpResponse<String> p =
                TestHttp.post(
                        ratings,
                        "/ratings/3",
                        "application/json",
                        "{\"Reviewer1\":1,\"Reviewer2\":2}");
        assertThat(p.statusCode()).isEqualTo(200);
        assertThat(TestHttp.get(ratings, "/ratings/3").body())
                .isEqualTo("{\"id\":3,\"ratings\":{\"Reviewer1\":1,\"Reviewer2\":2}}");
        assertThat(TestHttp.get(ratings, "/ratings/0").body())
                .isEqualTo("{\"id\":0,\"ratings\":{\"Reviewer1\":5,\"Reviewer2\":4}}");
    }

    @Test
    void postThatIsNotJsonIs400() throws Exception {
        HttpResponse<String> p =
                TestHttp.post(ratings, "/ratings/3", "application/json", "five stars");
        assertThat(p.statusCode()).isEqualTo(400);
        assertThat(p.body()).isEqualTo("{\"error\":\"please provide valid ratings JSON\"}");
    }

    @Test
    void healthAnswersOk() throws Exception {
        assertThat(TestHttp.get(ratings, "/health").body())
                .isEqualTo("{\"status\":\"Ratings is healthy\"}");
    }
}
