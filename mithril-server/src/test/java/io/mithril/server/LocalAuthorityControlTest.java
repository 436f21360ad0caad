package io.mithril.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mithril.api.admin.GetBundleRequest;
import io.mithril.api.localauthority.ActivateJWTAuthorityRequest;
import io.mithril.api.localauthority.ActivateX509AuthorityRequest;
import io.mithril.api.localauthority.AuthorityState;
import io.mithril.api.localauthority.GetJWTAuthorityStateRequest;
import io.mithril.api.localauthority.GetX509AuthorityStateRequest;
import io.mithril.api.localauthority.GetX509AuthorityStateResponse;
import io.mithril.api.localauthority.LocalAuthorityServiceGrpc.LocalAuthorityServiceBlockingStub;
import io.mithril.api.localauthority.PrepareJWTAuthorityRequest;
import io.mithril.api.localauthority.PrepareX509AuthorityRequest;
import io.mithril.api.localauthority.RevokeJWTAuthorityRequest;
import io.mithril.api.localauthority.RevokeX509AuthorityRequest;
import io.mithril.api.localauthority.RevokeX509UpstreamAuthorityRequest;
import io.mithril.api.localauthority.TaintJWTAuthorityRequest;
import io.mithril.api.localauthority.TaintX509AuthorityRequest;
import io.mithril.api.localauthority.TaintX509UpstreamAuthorityRequest;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.JwtKey;
import io.mithril.pki.KeyType;
import io.mithril.pki.Pem;
import io.mithril.pki.X509Minter;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.ca.BundleTaints;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.testing.MutableClock;
import io.mithril.server.testing.ServerFixture;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The state machine of SPIRE's CA verbs (prepare, activate, taint, revoke) on a real server, its
 * datastore and admin socket, with an injected clock: what each verb does to the slots and the
 * bundle, and every refusal (status code and reason), with nothing changed by a refused call.
 */
class LocalAuthorityControlTest {

    @TempDir Path dir;

    private static Bundle bundle(AdminClient admin) {
        return admin.admin().getBundle(GetBundleRequest.getDefaultInstance());
    }

    private static List<String> x509Ids(List<ByteString> ders) {
        return ders.stream()
                .map(
                        d ->
                                BundleTaints.subjectKeyId(
                                        io.mithril.pki.Certificates.parseDer(d.toByteArray())
                                                .get(0)))
                .toList();
    }

    private static void refused(Runnable call, Status.Code code, String reason) {
        assertThatThrownBy(call::run)
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> {
                            assertThat(e.getStatus().getCode()).isEqualTo(code);
                            assertThat(e.getStatus().getDescription()).contains(reason);
                        });
    }

    @Test
    void x509PrepareActivateTaintRevokeAndEveryRefusal() throws Exception {
        MutableClock clock = MutableClock.startingNow();
        Path data = dir.resolve("s");
        IdentityServer server =
                IdentityServer.start(
                        ServerFixture.config(data, clock).caTtl(Duration.ofHours(6)).build());
        String first;
        String second;
        try (AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
            LocalAuthorityServiceBlockingStub api = admin.localAuthority();
            GetX509AuthorityStateResponse st =
                    api.getX509AuthorityState(GetX509AuthorityStateRequest.getDefaultInstance());
            first = st.getActive().getAuthorityId();
            assertThat(first).matches("[0-9a-f]{40}");
            assertThat(st.getActive().getUpstreamAuthoritySubjectKeyId()).isEmpty();
            assertThat(st.hasPrepared()).isFalse();
            assertThat(st.hasOld()).isFalse();

            // Nothing prepared: activate is refused, whatever the ID.
            refused(
                    () -> api.activateX509Authority(activate(first)),
                    Status.Code.INVALID_ARGUMENT,
                    "none is prepared");
            refused(
                    () -> api.activateX509Authority(activate("")),
                    Status.Code.INVALID_ARGUMENT,
                    "no authority ID provided");

            // prepare: a new CA in the next slot, its root in the bundle at once.
            long seq = bundle(admin).getSequenceNumber();
            AuthorityState prepared =
                    api.prepareX509Authority(PrepareX509AuthorityRequest.getDefaultInstance())
                            .getPreparedAuthority();
            second = prepared.getAuthorityId();
            assertThat(second).isNotEqualTo(first).matches("[0-9a-f]{40}");
            assertThat(x509Ids(bundle(admin).getX509AuthoritiesList()))
                    .containsExactly(first, second);
            assertThat(bundle(admin).getSequenceNumber()).isGreaterThan(seq);
            // Signing still uses the first CA.
            assertThat(BundleTaints.subjectKeyId(server.caManager().currentX509Ca().certificate()))
                    .isEqualTo(first);

            refused(
                    () -> api.activateX509Authority(activate(first)),
                    Status.Code.INVALID_ARGUMENT,
                    "only the prepared X.509 authority can be activated (prepared: " + second);
            refused(
                    () -> api.taintX509Authority(taint(second)),
                    Status.Code.INVALID_ARGUMENT,
                    "is prepared (activate it first)");
            refused(
                    () -> api.taintX509Authority(taint(first)),
                    Status.Code.INVALID_ARGUMENT,
                    "unable to taint the active X.509 authority");

            // activate: the prepared CA signs, the first becomes old.
            AuthorityState activated =
                    api.activateX509Authority(activate(second)).getActivatedAuthority();
            assertThat(activated.getAuthorityId()).isEqualTo(second);
            st = api.getX509AuthorityState(GetX509AuthorityStateRequest.getDefaultInstance());
            assertThat(st.getActive().getAuthorityId()).isEqualTo(second);
            assertThat(st.getOld().getAuthorityId()).isEqualTo(first);
            assertThat(st.hasPrepared()).isFalse();
            X509Certificate leaf =
                    server.caManager()
                            .signX509Svid(
                                    KeyType.EC_P256.generate().getPublic(),
                                    io.mithril.spiffe.id.SpiffeId.parse("spiffe://example.org/w"),
                                    List.of(),
                                    Duration.ofMinutes(5))
                            .get(0);
            assertThat(leaf.getIssuerX500Principal())
                    .isEqualTo(
                            server.caManager()
                                    .currentX509Ca()
                                    .certificate()
                                    .getSubjectX500Principal());
            leaf.verify(server.caManager().currentX509Ca().certificate().getPublicKey());

            refused(
                    () -> api.taintX509Authority(taint(second)),
                    Status.Code.INVALID_ARGUMENT,
                    "unable to taint the active X.509 authority");
            refused(
                    () -> api.taintX509Authority(taint("deadbeef")),
                    Status.Code.INVALID_ARGUMENT,
                    "unexpected authority ID deadbeef");
            // revoke needs a taint first; nothing changes on a refusal.
            Bundle before = bundle(admin);
            refused(
                    () -> api.revokeX509Authority(revoke(first)),
                    Status.Code.INVALID_ARGUMENT,
                    "is not tainted");
            assertThat(bundle(admin)).isEqualTo(before);

            // taint: still in the bundle, marked.
            AuthorityState tainted = api.taintX509Authority(taint(first)).getTaintedAuthority();
            assertThat(tainted.getAuthorityId()).isEqualTo(first);
            Bundle afterTaint = bundle(admin);
            assertThat(x509Ids(afterTaint.getX509AuthoritiesList())).containsExactly(first, second);
            assertThat(x509Ids(afterTaint.getTaintedX509AuthoritiesList())).containsExactly(first);
            assertThat(afterTaint.getSequenceNumber()).isEqualTo(before.getSequenceNumber() + 1);
            refused(
                    () -> api.taintX509Authority(taint(first)),
                    Status.Code.INVALID_ARGUMENT,
                    "already tainted");
            refused(
                    () -> api.revokeX509Authority(revoke(second)),
                    Status.Code.INVALID_ARGUMENT,
                    "unable to revoke the active X.509 authority");

            // revoke: gone from the bundle, and from the tainted marks.
            assertThat(
                            api.revokeX509Authority(revoke(first))
                                    .getRevokedAuthority()
                                    .getAuthorityId())
                    .isEqualTo(first);
            Bundle afterRevoke = bundle(admin);
            assertThat(x509Ids(afterRevoke.getX509AuthoritiesList())).containsExactly(second);
            assertThat(afterRevoke.getTaintedX509AuthoritiesList()).isEmpty();
            assertThat(
                            x509Ids(
                                    server.bundle().x509Authorities().stream()
                                            .map(LocalAuthorityControlTest::der)
                                            .toList()))
                    .containsExactly(second);
            refused(
                    () -> api.revokeX509Authority(revoke(first)),
                    Status.Code.NOT_FOUND,
                    "already revoked?");
            // Without an upstream authority, the upstream verbs do not apply.
            refused(
                    () ->
                            api.taintX509UpstreamAuthority(
                                    TaintX509UpstreamAuthorityRequest.newBuilder()
                                            .setSubjectKeyId(first)
                                            .build()),
                    Status.Code.FAILED_PRECONDITION,
                    "upstream authority is not configured");
        } finally {
            server.close();
        }

        // A restart does not bring the revoked CA back, and the schedule goes on from the
        // operator's CA: prepared at half its life, activated at a sixth.
        server =
                IdentityServer.start(
                        ServerFixture.config(data, clock).caTtl(Duration.ofHours(6)).build());
        try (AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
            assertThat(x509Ids(bundle(admin).getX509AuthoritiesList())).containsExactly(second);
            GetX509AuthorityStateResponse st =
                    admin.localAuthority()
                            .getX509AuthorityState(
                                    GetX509AuthorityStateRequest.getDefaultInstance());
            assertThat(st.getActive().getAuthorityId()).isEqualTo(second);
            assertThat(st.getOld().getAuthorityId()).isEqualTo(first);
            clock.advance(Duration.ofHours(3).plusMinutes(1));
            server.caManager().rotate();
            String third =
                    BundleTaints.subjectKeyId(
                            server.caManager().nextX509Ca().orElseThrow().certificate());
            assertThat(x509Ids(bundle(admin).getX509AuthoritiesList()))
                    .containsExactly(second, third);
            // The prepared CA took the old one's key slot: nothing old is left to taint.
            refused(
                    () -> admin.localAuthority().taintX509Authority(taint(first)),
                    Status.Code.INVALID_ARGUMENT,
                    "there is none");
        } finally {
            server.close();
        }
    }

    @Test
    void jwtPrepareActivateTaintRevoke() throws Exception {
        MutableClock clock = MutableClock.startingNow();
        try (IdentityServer server =
                        IdentityServer.start(
                                ServerFixture.config(dir.resolve("j"), clock)
                                        .caTtl(Duration.ofHours(6))
                                        .build());
                AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
            LocalAuthorityServiceBlockingStub api = admin.localAuthority();
            String first =
                    api.getJWTAuthorityState(GetJWTAuthorityStateRequest.getDefaultInstance())
                            .getActive()
                            .getAuthorityId();
            refused(
                    () ->
                            api.activateJWTAuthority(
                                    ActivateJWTAuthorityRequest.newBuilder()
                                            .setAuthorityId(first)
                                            .build()),
                    Status.Code.INVALID_ARGUMENT,
                    "none is prepared");
            String second =
                    api.prepareJWTAuthority(PrepareJWTAuthorityRequest.getDefaultInstance())
                            .getPreparedAuthority()
                            .getAuthorityId();
            assertThat(kids(bundle(admin))).containsExactly(first, second);
            refused(
                    () -> api.revokeJWTAuthority(jwtRevoke(second)),
                    Status.Code.INVALID_ARGUMENT,
                    "unable to revoke the prepared JWT authority");
            api.activateJWTAuthority(
                    ActivateJWTAuthorityRequest.newBuilder().setAuthorityId(second).build());
            assertThat(server.caManager().currentJwtKey().kid()).isEqualTo(second);
            assertThat(
                            api.getJWTAuthorityState(
                                            GetJWTAuthorityStateRequest.getDefaultInstance())
                                    .getOld()
                                    .getAuthorityId())
                    .isEqualTo(first);
            refused(
                    () -> api.taintJWTAuthority(jwtTaint(second)),
                    Status.Code.INVALID_ARGUMENT,
                    "unable to taint the active JWT authority");
            refused(
                    () -> api.revokeJWTAuthority(jwtRevoke(first)),
                    Status.Code.INVALID_ARGUMENT,
                    "is not tainted");
            refused(
                    () -> api.revokeJWTAuthority(jwtRevoke("nope")),
                    Status.Code.INVALID_ARGUMENT,
                    "no JWT authority found with authority ID nope");
            api.taintJWTAuthority(jwtTaint(first));
            assertThat(bundle(admin).getJwtAuthoritiesList())
                    .filteredOn(JwtKey::getTainted)
                    .extracting(JwtKey::getKeyId)
                    .containsExactly(first);
            refused(
                    () -> api.taintJWTAuthority(jwtTaint(first)),
                    Status.Code.INVALID_ARGUMENT,
                    "already tainted");
            api.revokeJWTAuthority(jwtRevoke(first));
            assertThat(kids(bundle(admin))).containsExactly(second);
            assertThat(server.bundle().jwtAuthorities())
                    .extracting(a -> a.keyId())
                    .containsExactly(second);
        }
    }

    /**
     * With the {@code disk} UpstreamAuthority: the operator replaces the upstream CA files,
     * prepares and activates a CA signed by the new upstream, taints the old upstream root and
     * revokes it; the old root leaves the bundle (SPIRE cannot do that last step:
     * spiffe/spire#6198).
     */
    @Test
    void diskUpstreamRootIsTaintedThenRevoked() throws Exception {
        MutableClock clock = MutableClock.startingNow();
        Path cert = dir.resolve("upstream-ca.pem");
        Path key = dir.resolve("upstream-ca.key");
        X509Certificate oldRoot = writeUpstream(cert, key, clock);
        try (IdentityServer server =
                        IdentityServer.start(
                                ServerFixture.config(dir.resolve("u"), clock)
                                        .caTtl(Duration.ofHours(6))
                                        .upstream(
                                                new ServerConfig.DiskUpstreamConfig(
                                                        cert, key, null))
                                        .build());
                AdminClient admin = AdminClient.connect(server.adminSocketPath())) {
            LocalAuthorityServiceBlockingStub api = admin.localAuthority();
            String oldSkid = BundleTaints.subjectKeyId(oldRoot);
            AuthorityState active =
                    api.getX509AuthorityState(GetX509AuthorityStateRequest.getDefaultInstance())
                            .getActive();
            assertThat(active.getUpstreamAuthoritySubjectKeyId()).isEqualTo(oldSkid);
            refused(
                    () -> api.taintX509UpstreamAuthority(upTaint(oldSkid)),
                    Status.Code.INVALID_ARGUMENT,
                    "it signs the active X.509 authority");

            X509Certificate newRoot = writeUpstream(cert, key, clock);
            String newSkid = BundleTaints.subjectKeyId(newRoot);
            String prepared =
                    api.prepareX509Authority(PrepareX509AuthorityRequest.getDefaultInstance())
                            .getPreparedAuthority()
                            .getAuthorityId();
            assertThat(x509Ids(bundle(admin).getX509AuthoritiesList()))
                    .containsExactly(oldSkid, newSkid);
            refused(
                    () -> api.taintX509UpstreamAuthority(upTaint(oldSkid)),
                    Status.Code.INVALID_ARGUMENT,
                    "it signs the active X.509 authority");
            api.activateX509Authority(activate(prepared));
            // Local verbs are refused with an upstream authority: the bundle holds its roots.
            refused(
                    () -> api.taintX509Authority(taint(active.getAuthorityId())),
                    Status.Code.FAILED_PRECONDITION,
                    "use upstreamauthority taint");
            refused(
                    () -> api.taintX509UpstreamAuthority(upTaint(newSkid)),
                    Status.Code.INVALID_ARGUMENT,
                    "it signs the active X.509 authority");
            refused(
                    () -> api.revokeX509UpstreamAuthority(upRevoke(oldSkid)),
                    Status.Code.INVALID_ARGUMENT,
                    "is not tainted");
            // Upper case as operators may paste it.
            assertThat(
                            api.taintX509UpstreamAuthority(upTaint(oldSkid.toUpperCase()))
                                    .getUpstreamAuthoritySubjectKeyId())
                    .isEqualTo(oldSkid);
            assertThat(x509Ids(bundle(admin).getTaintedX509AuthoritiesList()))
                    .containsExactly(oldSkid);
            api.revokeX509UpstreamAuthority(upRevoke(oldSkid));
            assertThat(x509Ids(bundle(admin).getX509AuthoritiesList())).containsExactly(newSkid);
            // The next scheduled rotation mints from the files again: the old root stays out.
            clock.advance(Duration.ofHours(3).plusMinutes(1));
            server.caManager().rotate();
            assertThat(server.caManager().nextX509Ca()).isPresent();
            assertThat(x509Ids(bundle(admin).getX509AuthoritiesList())).containsExactly(newSkid);
        }
    }

    private static X509Certificate writeUpstream(Path cert, Path key, java.time.Clock clock)
            throws Exception {
        KeyPair kp = KeyType.EC_P256.generate();
        X509Certificate root =
                new X509Minter(clock).selfSignedCa(kp, ServerFixture.TD, Duration.ofDays(2), null);
        Pem.writeCertificates(cert, List.of(root));
        Pem.writePrivateKey(key, kp.getPrivate());
        return root;
    }

    private static ByteString der(X509Certificate c) {
        try {
            return ByteString.copyFrom(c.getEncoded());
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> kids(Bundle b) {
        return b.getJwtAuthoritiesList().stream().map(JwtKey::getKeyId).toList();
    }

    private static ActivateX509AuthorityRequest activate(String id) {
        return ActivateX509AuthorityRequest.newBuilder().setAuthorityId(id).build();
    }

    private static TaintX509AuthorityRequest taint(String id) {
        return TaintX509AuthorityRequest.newBuilder().setAuthorityId(id).build();
    }

    private static RevokeX509AuthorityRequest revoke(String id) {
        return RevokeX509AuthorityRequest.newBuilder().setAuthorityId(id).build();
    }

    private static TaintJWTAuthorityRequest jwtTaint(String id) {
        return TaintJWTAuthorityRequest.newBuilder().setAuthorityId(id).build();
    }

    private static RevokeJWTAuthorityRequest jwtRevoke(String id) {
        return RevokeJWTAuthorityRequest.newBuilder().setAuthorityId(id).build();
    }

    private static TaintX509UpstreamAuthorityRequest upTaint(String skid) {
        return TaintX509UpstreamAuthorityRequest.newBuilder().setSubjectKeyId(skid).build();
    }

    private static RevokeX509UpstreamAuthorityRequest upRevoke(String skid) {
        return RevokeX509UpstreamAuthorityRequest.newBuilder().setSubjectKeyId(skid).build();
    }
}
