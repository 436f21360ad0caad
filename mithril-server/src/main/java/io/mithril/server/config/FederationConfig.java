package io.mithril.server.config;

import io.mithril.hcl.HclEntry;
import io.mithril.hcl.HclException;
import io.mithril.hcl.HclObject;
import io.mithril.server.federation.Relationship;
import io.mithril.spiffe.id.TrustDomain;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * SPIRE's {@code server { federation { bundle_endpoint { .. } federates_with "td" { .. } } }}.
 *
 * @param bundleEndpoint the bundle endpoint this server serves, or null for none
 * @param federatesWith the relationships written in the configuration
 * @param retryInterval after a failed bundle fetch, how long until the next attempt (not in SPIRE's
 *     HCL; tests shorten it)
 * @param minRefresh the shortest refresh interval a peer's {@code spiffe_refresh_hint} may ask for
 *     (not in SPIRE's HCL; tests shorten it)
 */
public record FederationConfig(
        BundleEndpoint bundleEndpoint,
        List<Relationship> federatesWith,
        Duration retryInterval,
        Duration minRefresh) {

    public static final Duration DEFAULT_RETRY_INTERVAL = Duration.ofSeconds(30);
    public static final Duration DEFAULT_MIN_REFRESH = Duration.ofSeconds(10);

    /** No bundle endpoint, no relationships. */
    public static final FederationConfig NONE = new FederationConfig(null, List.of());

    public FederationConfig {
        federatesWith = List.copyOf(federatesWith);
        Objects.requireNonNull(retryInterval, "retryInterval");
        Objects.requireNonNull(minRefresh, "minRefresh");
    }

    public FederationConfig(BundleEndpoint bundleEndpoint, List<Relationship> federatesWith) {
        this(bundleEndpoint, federatesWith, DEFAULT_RETRY_INTERVAL, DEFAULT_MIN_REFRESH);
    }

    /** This configuration with other retry and minimum refresh intervals. */
    public FederationConfig withTimings(Duration retry, Duration min) {
        return new FederationConfig(bundleEndpoint, federatesWith, retry, min);
    }

    /**
     * The bundle endpoint: where it listens, the refresh hint it publishes, and its profile: {@code
     * https_spiffe} (the server's own X509-SVID) or {@code https_web} with a certificate and key
     * from files ({@code servingCertFile}, re-read when they change).
     */
    public record BundleEndpoint(
            String address,
            int port,
            Duration refreshHint,
            Relationship.Profile profile,
            Path certFilePath,
            Path keyFilePath,
            Duration fileSyncInterval) {
        /** SPIRE's default {@code refresh_hint}. */
        public static final Duration DEFAULT_REFRESH_HINT = Duration.ofMinutes(5);

        public BundleEndpoint {
            Objects.requireNonNull(address, "address");
            Objects.requireNonNull(profile, "profile");
            Objects.requireNonNull(refreshHint, "refreshHint");
            if (profile == Relationship.Profile.HTTPS_WEB
                    && (certFilePath == null || keyFilePath == null)) {
                throw new IllegalArgumentException(
                        "https_web bundle endpoint needs serving_cert_file { cert_file_path, key_file_path }");
            }
        }

        /** An https_spiffe endpoint (tests and code). */
        public static BundleEndpoint httpsSpiffe(String address, int port, Duration refreshHint) {
            return new BundleEndpoint(
                    address,
                    port,
                    refreshHint,
                    Relationship.Profile.HTTPS_SPIFFE,
                    null,
                    null,
                    null);
        }
    }

    /** Parses {@code server.federation}; {@code server} is the server block. */
    static FederationConfig parse(HclObject server, TrustDomain own) throws HclException {
        if (!server.has("federation")) {
            return NONE;
        }
        List<HclObject> blocks = server.objects("federation");
        if (blocks.size() != 1) {
            throw new HclException(
                    server.position("federation"),
                    "server.federation: give one federation { ... } block");
        }
        HclObject fed = blocks.get(0);
        fed.requireOnly(Set.of("bundle_endpoint", "federates_with"), "federation block");
        BundleEndpoint endpoint = null;
        if (fed.has("bundle_endpoint")) {
            endpoint = bundleEndpoint(one(fed, "bundle_endpoint"));
        }
        List<Relationship> rels = new ArrayList<>();
        Set<TrustDomain> seen = new java.util.HashSet<>();
        for (HclEntry e : fed.all("federates_with")) {
            String name =
                    e.label()
                            .orElseThrow(
                                    () ->
                                            new HclException(
                                                    e.position(),
                                                    "federates_with needs the trust domain as its label, e.g. federates_with \"domain.test\" { ... }"));
            if (!(e.value() instanceof HclObject body)) {
                throw new HclException(
                        e.position(),
                        "federates_with \""
                                + name
                                + "\" must be a block { bundle_endpoint_url = ... }");
            }
            String what = "federates_with \"" + name + "\"";
            body.requireOnly(Set.of("bundle_endpoint_url", "bundle_endpoint_profile"), what);
            String url =
                    body.requiredString(
                            "bundle_endpoint_url",
                            what,
                            "bundle_endpoint_url = \"https://domain.test:8443\"");
            List<HclEntry> profiles = body.all("bundle_endpoint_profile");
            if (profiles.size() != 1) {
                throw new HclException(
                        body.position(),
                        what
                                + ": give one bundle_endpoint_profile \"https_spiffe\" { endpoint_spiffe_id = ... }"
                                + " or bundle_endpoint_profile \"https_web\" {}");
            }
            HclEntry p = profiles.get(0);
            String profile =
                    p.label()
                            .orElseThrow(
                                    () ->
                                            new HclException(
                                                    p.position(),
                                                    what
                                                            + ": bundle_endpoint_profile needs a label, \"https_spiffe\" or \"https_web\""));
            String endpointId = null;
            if (p.value() instanceof HclObject pb) {
                pb.requireOnly(
                        profile.equals("https_spiffe") ? Set.of("endpoint_spiffe_id") : Set.of(),
                        what + " bundle_endpoint_profile \"" + profile + "\"");
                endpointId = pb.string("endpoint_spiffe_id").orElse(null);
            }
            Relationship r;
            try {
                r = Relationship.of(name, url, profile, endpointId);
            } catch (IllegalArgumentException ex) {
                throw new HclException(e.position(), what + ": " + ex.getMessage());
            }
            if (r.trustDomain().equals(own)) {
                throw new HclException(
                        e.position(),
                        what + ": a server does not federate with its own trust domain");
            }
            if (!seen.add(r.trustDomain())) {
                throw new HclException(e.position(), what + ": trust domain given twice");
            }
            rels.add(r);
        }
        return new FederationConfig(endpoint, rels);
    }

    private static HclObject one(HclObject parent, String key) throws HclException {
        List<HclObject> list = parent.objects(key);
        if (list.size() != 1) {
            throw new HclException(
                    parent.position(key), key + ": give one " + key + " { ... } block");
        }
        return list.get(0);
    }

    private static BundleEndpoint bundleEndpoint(HclObject be) throws HclException {
        String what = "federation.bundle_endpoint";
        be.requireOnly(Set.of("address", "port", "refresh_hint", "profile", "acme"), what);
        if (be.has("acme")) {
            throw new HclException(
                    be.position("acme"),
                    what
                            + ": acme is not supported; use profile \"https_web\" "
                            + "{ serving_cert_file { cert_file_path = ..., key_file_path = ... } } or profile \"https_spiffe\" {}");
        }
        String address = be.string("address", "0.0.0.0");
        long port = be.number("port", 443);
        if (port < 0 || port > 65535) {
            throw new HclException(
                    be.position("port"),
                    what + ": port " + port + " is not a port number (0-65535)");
        }
        Duration hint = be.duration("refresh_hint", BundleEndpoint.DEFAULT_REFRESH_HINT);
        if (hint.isNegative() || hint.isZero() || hint.getNano() != 0) {
            throw new HclException(
                    be.position("refresh_hint"),
                    what + ": refresh_hint must be a positive whole number of seconds");
        }
        List<HclEntry> profiles = be.all("profile");
        if (profiles.isEmpty()) {
            // SPIRE before profiles: no profile block means https_spiffe.
            return new BundleEndpoint(
                    address, (int) port, hint, Relationship.Profile.HTTPS_SPIFFE, null, null, null);
        }
        if (profiles.size() != 1) {
            throw new HclException(be.position("profile"), what + ": give one profile");
        }
        HclEntry p = profiles.get(0);
        String name =
                p.label()
                        .orElseThrow(
                                () ->
                                        new HclException(
                                                p.position(),
                                                what
                                                        + ": profile needs a label, \"https_spiffe\" or \"https_web\""));
        HclObject body =
                p.value() instanceof HclObject o ? o : new HclObject(List.of(), p.position());
        switch (name) {
            case "https_spiffe" -> {
                body.requireOnly(Set.of(), what + " profile \"https_spiffe\"");
                return new BundleEndpoint(
                        address,
                        (int) port,
                        hint,
                        Relationship.Profile.HTTPS_SPIFFE,
                        null,
                        null,
                        null);
            }
            case "https_web" -> {
                body.requireOnly(
                        Set.of("serving_cert_file", "acme"), what + " profile \"https_web\"");
                if (body.has("acme")) {
                    throw new HclException(
                            body.position("acme"),
                            what
                                    + " profile \"https_web\": acme is not supported; "
                                    + "use serving_cert_file { cert_file_path = ..., key_file_path = ... }");
                }
                if (!body.has("serving_cert_file")) {
                    throw new HclException(
                            body.position(),
                            what
                                    + " profile \"https_web\": serving_cert_file "
                                    + "{ cert_file_path = ..., key_file_path = ... } is required");
                }
                HclObject f = one(body, "serving_cert_file");
                String fw = what + " profile \"https_web\" serving_cert_file";
                f.requireOnly(Set.of("cert_file_path", "key_file_path", "file_sync_interval"), fw);
                Path cert =
                        Path.of(
                                f.requiredString(
                                        "cert_file_path",
                                        fw,
                                        "cert_file_path = \"/etc/ssl/bundle.crt\""));
                Path key =
                        Path.of(
                                f.requiredString(
                                        "key_file_path",
                                        fw,
                                        "key_file_path = \"/etc/ssl/bundle.key\""));
                Duration sync = f.duration("file_sync_interval", Duration.ofMinutes(1));
                if (sync.isNegative() || sync.isZero()) {
                    throw new HclException(
                            f.position("file_sync_interval"),
                            fw + ": file_sync_interval must be positive");
                }
                return new BundleEndpoint(
                        address, (int) port, hint, Relationship.Profile.HTTPS_WEB, cert, key, sync);
            }
            default ->
                    throw new HclException(
                            p.position(),
                            what
                                    + ": profile \""
                                    + name
                                    + "\" is not one of https_spiffe, https_web");
        }
    }
}
