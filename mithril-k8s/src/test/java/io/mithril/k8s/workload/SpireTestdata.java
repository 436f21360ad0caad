package io.mithril.k8s.workload;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/** SPIRE's k8s workload attestor test data (src/test/resources/spire-k8s-testdata). */
public final class SpireTestdata {

    private SpireTestdata() {}

    public static String read(String name) throws IOException {
        try (InputStream in =
                SpireTestdata.class.getResourceAsStream("/spire-k8s-testdata/" + name)) {
            if (in == null) {
                throw new IOException("no test data " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /**
     * Checks a locator's answer against a SPIRE test row: no container ID means "not found"; an
     * empty or absent pod UID means found without one.
     */
    public static void assertContainer(
            Optional<PodCgroups.Container> got, String podUid, String containerId) {
        if (containerId == null) {
            assertThat(got).isEmpty();
        } else {
            assertThat(got)
                    .contains(new PodCgroups.Container(podUid == null ? "" : podUid, containerId));
        }
    }
}
