package io.mithril.samples.bookinfo;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The product page, after Istio's productpage.html: the book, its details, its reviews with stars
 * (or the error text of a failing backend), and sign-in/sign-out.
 */
final class ProductPageHtml {
    private ProductPageHtml() {}

    static String render(
            Product product,
            int detailsStatus,
            JsonNode details,
            int reviewsStatus,
            JsonNode reviews,
            String user) {
        StringBuilder h = new StringBuilder(4096);
        h.append("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n")
                .append(
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\">\n")
                .append("<title>Simple Bookstore App</title>\n")
                .append(
                        "<link rel=\"stylesheet\" href=\"static/css/bookinfo.css\">\n</head>\n<body>\n");
        h.append(
                "<nav class=\"navbar\">\n<a class=\"navbar-brand\" href=\"#\">BookInfo Sample</a>\n");
        if (user != null && !user.isEmpty()) {
            h.append("<span class=\"user\">")
                    .append(Html.escape(user))
                    .append("</span>\n")
                    .append("<a href=\"logout\" class=\"btn\" role=\"button\">sign out</a>\n");
        } else {
            h.append("<form class=\"login\" method=\"post\" action=\"login\">\n")
                    .append("<input type=\"text\" name=\"username\" placeholder=\"User Name\">\n")
                    .append("<input type=\"password\" name=\"passwd\" placeholder=\"Password\">\n")
                    .append("<button type=\"submit\" class=\"btn\">Sign in</button>\n</form>\n");
        }
        h.append("</nav>\n<div class=\"container\">\n");
        h.append("<h3 class=\"text-center text-primary\">")
                .append(Html.escape(product.title()))
                .append("</h3>\n");
        // descriptionHtml is the catalogue's own HTML, not input: it is shown as markup, as in
        // Istio.
        h.append("<p>Summary: ").append(product.descriptionHtml()).append("</p>\n");
        h.append("<div class=\"row\">\n<div class=\"col details\">\n");
        if (detailsStatus == 200) {
            h.append("<h4 class=\"text-center text-primary\">Book Details</h4>\n<dl>\n");
            detail(h, "Type", details.path("type"));
            detail(h, "Pages", details.path("pages"));
            detail(h, "Publisher", details.path("publisher"));
            detail(h, "Language", details.path("language"));
            detail(h, "ISBN-10", details.path("ISBN-10"));
            detail(h, "ISBN-13", details.path("ISBN-13"));
            h.append("</dl>\n");
        } else {
            h.append(
                    "<h4 class=\"text-center text-primary\">Error fetching product details!</h4>\n");
            h.append("<p>").append(Html.escape(details.path("error").asText())).append("</p>\n");
        }
        h.append("</div>\n<div class=\"col reviews\">\n");
        if (reviewsStatus == 200) {
            h.append("<h4 class=\"text-center text-primary\">Book Reviews</h4>\n");
            for (JsonNode review : reviews.path("reviews")) {
                h.append("<blockquote>\n<p>")
                        .append(Html.escape(review.path("text").asText()))
                        .append("</p>\n")
                        .append("<small>")
                        .append(Html.escape(review.path("reviewer").asText()))
                        .append("</small>\n");
                JsonNode rating = review.path("rating");
                if (rating.path("stars").canConvertToInt() && rating.path("stars").asInt() > 0) {
                    int stars = Math.min(5, rating.path("stars").asInt());
                    h.append("<font color=\"")
                            .append(Html.escape(rating.path("color").asText()))
                            .append("\">\n");
                    for (int i = 0; i < stars; i++) {
                        h.append("<span class=\"glyphicon glyphicon-star\">&#9733;</span>\n");
                    }
                    for (int i = stars; i < 5; i++) {
                        h.append("<span class=\"glyphicon glyphicon-star-empty\">&#9734;</span>\n");
                    }
                    h.append("</font>\n");
                } else if (rating.hasNonNull("error")) {
                    h.append("<p><i>")
                            .append(Html.escape(rating.path("error").asText()))
                            .append("</i></p>\n");
                }
                h.append("</blockquote>\n");
            }
        } else {
            h.append(
                    "<h4 class=\"text-center text-primary\">Error fetching product reviews!</h4>\n");
            h.append("<p>").append(Html.escape(reviews.path("error").asText())).append("</p>\n");
        }
        h.append("</div>\n</div>\n</div>\n</body>\n</html>\n");
        return h.toString();
    }

    private static void detail(StringBuilder h, String label, JsonNode value) {
        h.append("<dt>")
                .append(label)
                .append(":</dt>")
                .append(Html.escape(value.asText()))
                .append('\n');
    }

    static String index() {
        return """
                <!DOCTYPE html>
                <html>
                <head><meta charset="utf-8"><title>Simple Bookstore App</title>
                <link rel="stylesheet" href="static/css/bookinfo.css"></head>
                <body>
                <div class="container">
                <h3 class="text-center text-primary">Hello! This is a simple bookstore application consisting of
                three services as shown below</h3>
                <p>productpage calls details and reviews; reviews v2 and v3 call ratings.</p>
                <p><a class="btn" href="productpage?u=normal">Normal user</a>
                <a class="btn" href="productpage?u=test">Test user</a></p>
                </div>
                </body>
                </html>
                """;
    }
}
