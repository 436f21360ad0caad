package io.mithril.samples.bookinfo;

import java.util.List;

/** A book of the store; the catalogue holds the one book of Istio's sample. */
public record Product(int id, String title, String descriptionHtml) {

    /** Istio's productpage catalogue, word for word. */
    public static final List<Product> CATALOGUE =
            List.of(
                    new Product(
                            0,
                            "The Comedy of Errors",
                            "<a href=\"https://en.wikipedia.org/wiki/The_Comedy_of_Errors\">Wikipedia Summary</a>: The Comedy of Errors"
                                    + " is one of <b>William Shakespeare's</b> early plays. It is his shortest and one of his most"
                                    + " farcical comedies, with a major part of the humour coming from slapstick and mistaken identity,"
                                    + " in addition to puns and word play."));
}
