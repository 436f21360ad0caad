package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.api.admin.GetBundleRequest;
import io.mithril.api.admin.ListX509AuthoritiesRequest;
import io.mithril.api.admin.ListX509AuthoritiesResponse;
import io.mithril.api.admin.X509Authority;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.testing.MutableClock;
import io.mithril.server.testing.ServerFixture;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The read-only admin RPC the dashboard reads the CA slots from. */
class ListX509AuthoritiesTest {

    @TempDir
    Path dir;

    @Test
    void theActiveCaThenThePreparedOneWithChainsUpToABundleRoot() throws Exception {
        MutableClock clock = MutableClock.startingNow();
        try (IdentityServer server = IdentityServer.start(ServerFixture.config(dir, clock).caTtl(Duration.ofHours(6)).build());
             AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
            ListX509AuthoritiesResponse r = admin.admin().listX509Authorities(ListX509AuthoritiesRequest.getDefaultInstance());
            assertThat(r.getAuthoritiesList()).extracting(X509Authority::getSlot).containsExactly("active");
            X509Authority active = r.getAuthorities(0);
            assertThat(active.getKeyId()).isNotEmpty();
            var roots = admin.admin().getBundle(GetBundleRequest.getDefaultInstance()).getX509AuthoritiesList();
            assertThat(roots).contains(active.getCertChain(active.getCertChainCount() - 1));

            // Past half its life the next CA is prepared: both slots are listed.
            clock.advance(Duration.ofHours(3).plusMinutes(1));
            server.caManager().rotate();
            r = admin.admin().listX509Authorities(ListX509AuthoritiesRequest.getDefaultInstance());
            assertThat(r.getAuthoritiesList()).extracting(X509Authority::getSlot).containsExactly("active", "prepared");
            assertThat(r.getAuthorities(1).getCertChain(0)).isNotEqualTo(active.getCertChain(0));
        }
    }
}
