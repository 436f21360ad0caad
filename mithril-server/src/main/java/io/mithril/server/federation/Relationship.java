package io.mithril.server.federation;

import io.mithril.api.types.FederationRelationship;
import io.mithril.spiffe.id.InvalidSpiffeIdException;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Objects;

/**
 * A federation relationship, as SPIRE's: the federated trust domain, the URL of its bundle endpoint
 * and how that endpoint is authenticated ({@link Profile}). For {@code https_spiffe} the endpoint
 * must present an X509-SVID for {@code endpointSpiffeId} that validates against the bundle held for
 * that ID's trust domain; for {@code https_web} a certificate for the URL's host from a public
 * (system) CA.
 *
 * @param trustDomain the federated trust domain
 * @param bundleEndpointUrl its bundle endpoint, an {@code https} URL
 * @param profile how the endpoint is authenticated
 * @param endpointSpiffeId for {@code https_spiffe}: the ID the endpoint must present; null for
 *     {@code https_web}
 */
public record Relationship(
        TrustDomain trustDomain,
        URI bundleEndpointUrl,
        Profile profile,
        SpiffeId endpointSpiffeId) {

    /** How a bundle endpoint authenticates itself. */
    public enum Profile {
        HTTPS_SPIFFE("https_spiffe"),
        HTTPS_WEB("https_web");

        private final String spelling;

        Profile(String spelling) {
            this.spelling = spelling;
        }

        /** SPIRE's spelling, {@code https_spiffe} or {@code https_web}. */
        public String spelling() {
            return spelling;
        }

        /**
         * @throws IllegalArgumentException for anything but {@code https_spiffe} or {@code
         *     https_web}
         */
        public static Profile parse(String s) {
            for (Profile p : values()) {
                if (p.spelling.equals(s == null ? "" : s.toLowerCase(Locale.ROOT))) {
                    return p;
                }
            }
            throw new IllegalArgumentException(
                    "bundle endpoint profile \"" + s + "\" is not one of https_spiffe, https_web");
        }
    }

    /**
     * @throws IllegalArgumentException naming the field that is wrong
     */
    public Relationship {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(bundleEndpointUrl, "bundleEndpointUrl");
        Objects.requireNonNull(profile, "profile");
        if (!"https".equalsIgnoreCase(bundleEndpointUrl.getScheme())
                || bundleEndpointUrl.getHost() == null) {
            throw new IllegalArgumentException(
                    "bundle_endpoint_url \""
                            + bundleEndpointUrl
                            + "\" must be an https URL with a host (bundle endpoints are served over TLS)");
        }
        if (bundleEndpointUrl.getUserInfo() != null) {
            throw new IllegalArgumentException(
                    "bundle_endpoint_url \"" + bundleEndpointUrl + "\" must not carry user info");
        }
        if (profile == Profile.HTTPS_SPIFFE && endpointSpiffeId == null) {
            throw new IllegalArgumentException(
                    "bundle endpoint profile https_spiffe needs endpoint_spiffe_id "
                            + "(the SPIFFE ID the endpoint of "
                            + trustDomain
                            + " presents, e.g. spiffe://"
                            + trustDomain
                            + "/spire/server)");
        }
        if (profile == Profile.HTTPS_WEB && endpointSpiffeId != null) {
            throw new IllegalArgumentException(
                    "endpoint_spiffe_id is only for the https_spiffe profile, not https_web");
        }
    }

    /** Parses the parts as the CLI and config spell them. */
    public static Relationship of(
            String trustDomain, String url, String profile, String endpointSpiffeId) {
        TrustDomain td;
        try {
            td = TrustDomain.parseName(trustDomain);
        } catch (InvalidSpiffeIdException e) {
            throw new IllegalArgumentException("trust domain " + e.getMessage(), e);
        }
        URI uri;
        try {
            uri = new URI(url == null ? "" : url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(
                    "bundle_endpoint_url \"" + url + "\" is not a URL: " + e.getMessage(), e);
        }
        SpiffeId id = null;
        if (endpointSpiffeId != null && !endpointSpiffeId.isEmpty()) {
            try {
                id = SpiffeId.parse(endpointSpiffeId);
            } catch (InvalidSpiffeIdException e) {
                throw new IllegalArgumentException("endpoint_spiffe_id " + e.getMessage(), e);
            }
        }
        return new Relationship(td, uri, Profile.parse(profile), id);
    }

    public static Relationship fromProto(FederationRelationship p) {
        return of(
                p.getTrustDomain(),
                p.getBundleEndpointUrl(),
                p.getBundleEndpointProfile(),
                p.getEndpointSpiffeId());
    }

    public FederationRelationship toProto() {
        FederationRelationship.Builder b =
                FederationRelationship.newBuilder()
                        .setTrustDomain(trustDomain.name())
                        .setBundleEndpointUrl(bundleEndpointUrl.toString())
                        .setBundleEndpointProfile(profile.spelling());
        if (endpointSpiffeId != null) {
            b.setEndpointSpiffeId(endpointSpiffeId.toString());
        }
        return b.build();
    }

    @Override
    public String toString() {
        return trustDomain
                + " at "
                + bundleEndpointUrl
                + " ("
                + profile.spelling()
                + (endpointSpiffeId == null ? "" : ", endpoint " + endpointSpiffeId)
                + ")";
    }
}
