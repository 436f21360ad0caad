package io.mithril.server.federation;

import io.mithril.spiffe.bundle.BundleException;
import io.mithril.spiffe.bundle.BundleSource;
import io.mithril.spiffe.bundle.SpiffeBundle;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;

/**
 * Fetches a federated trust domain's bundle from its bundle endpoint, authenticating the endpoint
 * as the relationship's profile says:
 *
 * <ul>
 *   <li>{@code https_spiffe}: the endpoint's certificate must be an X509-SVID for exactly {@code
 *       endpoint_spiffe_id} that validates against the bundle currently held for that ID's trust
 *       domain (the host name is not checked: the SPIFFE ID is the identity, as in SPIRE);
 *   <li>{@code https_web}: ordinary HTTPS, a certificate for the URL's host from a CA of the {@code
 *       webTrust} context (the JVM's default trust store unless one is injected).
 * </ul>
 *
 * The answer must be {@code 200} with a SPIFFE bundle document of at most {@link #MAX_BODY_BYTES};
 * anything else is a {@link FetchException} saying what was wrong.
 */
public final class BundleEndpointClient {

    /** A bundle document larger than this is refused. */
    public static final int MAX_BODY_BYTES = 1 << 20;

    private final SSLContext webTrust;
    private final Duration timeout;
    private final Clock clock;

    /**
     * @param webTrust TLS context for https_web endpoints (null: the JVM's default)
     * @param timeout connect and read timeout
     */
    public BundleEndpointClient(SSLContext webTrust, Duration timeout, Clock clock) {
        this.webTrust = webTrust;
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Why a fetch failed; the message names the endpoint and the reason. */
    public static final class FetchException extends Exception {
        public FetchException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Fetches the bundle of {@code r.trustDomain()}.
     *
     * @param spiffeTrust for https_spiffe: the bundles the endpoint's SVID is checked against
     */
    public SpiffeBundle fetch(Relationship r, BundleSource<X509Bundle> spiffeTrust)
            throws FetchException {
        String where = "bundle endpoint " + r.bundleEndpointUrl() + " of " + r.trustDomain();
        HttpsURLConnection conn;
        try {
            URL url = r.bundleEndpointUrl().toURL();
            conn = (HttpsURLConnection) url.openConnection();
            if (r.profile() == Relationship.Profile.HTTPS_SPIFFE) {
                SSLContext ctx = SSLContext.getInstance("TLS");
                ctx.init(
                        null,
                        new TrustManager[] {
                            new SpiffeTrustManager(
                                    spiffeTrust,
                                    SpiffeIdAuthorizer.exactly(r.endpointSpiffeId()),
                                    clock)
                        },
                        null);
                conn.setSSLSocketFactory(ctx.getSocketFactory());
                conn.setHostnameVerifier(
                        (host, session) -> true); // the SPIFFE ID was checked in the handshake
            } else if (webTrust != null) {
                conn.setSSLSocketFactory(webTrust.getSocketFactory());
            }
        } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
            throw new FetchException(where + ": " + e.getMessage(), e);
        }
        conn.setConnectTimeout((int) timeout.toMillis());
        conn.setReadTimeout((int) timeout.toMillis());
        conn.setInstanceFollowRedirects(false);
        conn.setUseCaches(false);
        conn.setRequestProperty("Accept", "application/json");
        try {
            int status = conn.getResponseCode();
            if (status != HttpURLConnection.HTTP_OK) {
                throw new FetchException(
                        where + ": answered HTTP " + status + " (expected 200 with the bundle)",
                        null);
            }
            byte[] body;
            try (InputStream in = conn.getInputStream()) {
                body = in.readNBytes(MAX_BODY_BYTES + 1);
            }
            if (body.length > MAX_BODY_BYTES) {
                throw new FetchException(
                        where + ": the answer is larger than " + MAX_BODY_BYTES + " bytes; refused",
                        null);
            }
            return SpiffeBundle.parse(r.trustDomain(), body);
        } catch (BundleException e) {
            throw new FetchException(where + ": served an invalid bundle: " + e.getMessage(), e);
        } catch (SSLException e) {
            throw new FetchException(
                    where
                            + ": TLS handshake failed ("
                            + r.profile().spelling()
                            + (r.endpointSpiffeId() == null
                                    ? ""
                                    : ", expecting " + r.endpointSpiffeId())
                            + "): "
                            + rootMessage(e),
                    e);
        } catch (IOException e) {
            throw new FetchException(where + ": cannot fetch: " + rootMessage(e), e);
        } finally {
            conn.disconnect();
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String root =
                t.getMessage() == null || t.getMessage().isBlank()
                        ? t.getClass().getSimpleName()
                        : t.getMessage().strip();
        String top = e.getMessage() == null ? "" : e.getMessage().strip();
        return t == e || top.isEmpty() || top.contains(root)
                ? (top.isEmpty() ? root : top)
                : top + ": " + root;
    }
}
