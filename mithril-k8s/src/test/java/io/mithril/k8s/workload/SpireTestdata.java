package io.mithril.k8s.workload;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** SPIRE's k8s workload attestor test data (src/test/resources/spire-k8s-testdata). */
public final class SpireTestdata {

    private SpireTestdata() {
    }

    public static String read(String name) throws IOException {
        try (InputStream in = SpireTestdata.class.getResourceAsStream("/spire-k8s-testdata/" + name)) {
            if (in == null) {
                throw new IOException("no test data " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
