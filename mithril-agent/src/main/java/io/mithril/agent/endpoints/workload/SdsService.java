package io.mithril.agent.endpoints.workload;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.mithril.agent.cache.CachedSvid;
import io.mithril.agent.cache.Identity;
import io.mithril.agent.cache.SvidCache;
import io.mithril.agent.cache.WorkloadUpdate;
import io.mithril.agent.config.AgentConfig;
import io.mithril.api.selector.Selector;
import io.mithril.pki.Pem;
import io.mithril.spiffe.bundle.SpiffeBundle;
import io.mithril.spiffe.id.TrustDomain;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Envoy's Secret Discovery Service (SDS v3) on the agent's socket, as SPIRE serves it, so that an
 * Envoy proxy (Istio's sidecars and gateways in the Mithril design) gets its certificates from the
 * agent. The caller is attested like a Workload API caller (from the kernel credentials of its
 * connection; Envoy sends no {@code workload.spiffe.io} header, so none is required here).
 *
 * <p>Resource names: {@code default} (configurable) is the caller's first X509-SVID as a {@code
 * tls_certificate}; {@code ROOTCA} the trust domain's bundle as a validation context; {@code ALL}
 * every bundle, own and federated, as Envoy's SPIFFE certificate validator (or as plain trusted CAs
 * with {@code disable_spiffe_cert_validation}); a SPIFFE ID names that SVID, a trust domain ID
 * ({@code spiffe://example.org}) that bundle; {@code file-root:system} (Istio's name, which istiod
 * puts in TLS origination without {@code caCertificates}) the operating system's CA bundle file as
 * {@code trusted_ca}. No names means every SVID and every bundle by ID. Streams answer each new set
 * of names and push again whenever the SVIDs or bundles change; ACKs and NACKs ({@code
 * error_detail}) are taken as such. Versions are content hashes, so an unchanged state is not
 * re-sent.
 */
final class SdsService extends SecretDiscoveryServiceGrpc.SecretDiscoveryServiceImplBase {

    private static final Logger log = LoggerFactory.getLogger(SdsService.class);

    static final String SECRET_TYPE =
            "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
    static final String SPIFFE_VALIDATOR = "envoy.tls.cert_validator.spiffe";

    /** Istio's SDS name for the system's trust store. */
    static final String SYSTEM_ROOTS = "file-root:system";

    /**
     * Where Linux distributions keep their CA bundle (the list Go's crypto/x509 reads, in its
     * order).
     */
    static final List<String> SYSTEM_CA_FILES =
            List.of(
                    "/etc/ssl/certs/ca-certificates.crt",
                    "/etc/pki/tls/certs/ca-bundle.crt",
                    "/etc/ssl/ca-bundle.pem",
                    "/etc/pki/tls/cacert.pem",
                    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
                    "/etc/ssl/cert.pem");

    private final SvidCache cache;
    private final AgentConfig.SdsConfig names;

    SdsService(SvidCache cache, AgentConfig.SdsConfig names) {
        this.cache = cache;
        this.names = names;
    }

    @Override
    public void fetchSecrets(DiscoveryRequest request, StreamObserver<DiscoveryResponse> observer) {
        Status bad = check(request);
        if (bad != null) {
            observer.onError(bad.asRuntimeException());
            return;
        }
        WorkloadUpdate update = cache.fetch(CallerInterceptor.SELECTORS.get());
        if (update.denied()) {
            observer.onError(
                    Status.PERMISSION_DENIED
                            .withDescription("no identity issued")
                            .asRuntimeException());
            return;
        }
        List<Secret> secrets = secrets(update, request.getResourceNamesList());
        observer.onNext(response(secrets, version(secrets)));
        observer.onCompleted();
    }

    @Override
    public StreamObserver<DiscoveryRequest> streamSecrets(
            StreamObserver<DiscoveryResponse> observer) {
        ServerCallStreamObserver<DiscoveryResponse> call =
                (ServerCallStreamObserver<DiscoveryResponse>) observer;
        Set<Selector> selectors = CallerInterceptor.SELECTORS.get();
        Stream stream = new Stream(call);
        call.setOnCancelHandler(stream::end);
        return new StreamObserver<>() {
            @Override
            public void onNext(DiscoveryRequest request) {
                stream.request(request, selectors);
            }

            @Override
            public void onError(Throwable t) {
                stream.end();
            }

            @Override
            public void onCompleted() {
                stream.complete();
            }
        };
    }

    private static Status check(DiscoveryRequest request) {
        if (!request.getTypeUrl().isEmpty() && !request.getTypeUrl().equals(SECRET_TYPE)) {
            return Status.INVALID_ARGUMENT.withDescription(
                    "type_url "
                            + request.getTypeUrl()
                            + " is not served here (want "
                            + SECRET_TYPE
                            + ")");
        }
        return null;
    }

    /** One SDS stream: the names Envoy asked for, what was sent, the cache subscription. */
    private final class Stream {
        private final ServerCallStreamObserver<DiscoveryResponse> call;
        private final AtomicReference<SvidCache.Subscription> subscription =
                new AtomicReference<>();
        private List<String> requested;
        private WorkloadUpdate latest;
        private String sentVersion;
        private String sentNonce;
        private boolean closed;

        Stream(ServerCallStreamObserver<DiscoveryResponse> call) {
            this.call = call;
        }

        void request(DiscoveryRequest request, Set<Selector> selectors) {
            boolean subscribe;
            synchronized (this) {
                if (closed) {
                    return;
                }
                Status bad = check(request);
                if (bad != null) {
                    fail(bad);
                    return;
                }
                if (request.hasErrorDetail()) {
                    log.warn(
                            "SDS: the proxy rejected secrets version {} (node {}): {}",
                            request.getVersionInfo(),
                            request.getNode().getId(),
                            request.getErrorDetail().getMessage());
                    return; // a NACK: keep what it has until the state changes
                }
                List<String> names = List.copyOf(request.getResourceNamesList());
                if (requested != null
                        && request.getResponseNonce().equals(sentNonce)
                        && names.equals(requested)) {
                    return; // an ACK of what was sent
                }
                subscribe = requested == null;
                requested = names;
                if (!subscribe && latest != null) {
                    sentVersion =
                            null; // new names: answer even if the content hash happens to match
                    send();
                }
            }
            if (subscribe) {
                if (!cache.isSynced()) {
                    synchronized (this) {
                        fail(
                                Status.UNAVAILABLE.withDescription(
                                        "agent is not ready: it has not synced with the server yet"));
                    }
                    return;
                }
                subscription.set(cache.subscribe(selectors, this::update));
                synchronized (this) {
                    if (closed) {
                        subscription.get().close();
                    }
                }
            }
        }

        private void update(WorkloadUpdate update) {
            synchronized (this) {
                if (closed || call.isCancelled()) {
                    throw new IllegalStateException("stream ended"); // closes the subscription
                }
                if (update.denied()) {
                    fail(Status.PERMISSION_DENIED.withDescription("no identity issued"));
                    throw new IllegalStateException("stream ended");
                }
                if (update.identities().isEmpty() || update.bundle() == null) {
                    return; // entries match but their SVIDs are not minted yet: wait
                }
                latest = update;
                if (requested != null) {
                    send();
                }
            }
        }

        private void send() {
            List<Secret> secrets = secrets(latest, requested);
            String version = version(secrets);
            if (version.equals(sentVersion)) {
                return;
            }
            DiscoveryResponse r = response(secrets, version);
            call.onNext(r);
            sentVersion = version;
            sentNonce = r.getNonce();
            log.debug(
                    "SDS: sent version {} ({} secrets: {})",
                    version,
                    secrets.size(),
                    secrets.stream().map(Secret::getName).toList());
        }

        private void fail(Status status) {
            if (!closed) {
                closed = true;
                call.onError(status.asRuntimeException());
            }
        }

        /** The proxy closed its side: close ours too (unless the stream already failed). */
        void complete() {
            synchronized (this) {
                if (!closed) {
                    closed = true;
                    call.onCompleted();
                }
            }
            end();
        }

        void end() {
            synchronized (this) {
                closed = true;
            }
            SvidCache.Subscription s = subscription.get();
            if (s != null) {
                s.close();
            }
        }
    }

    private static DiscoveryResponse response(List<Secret> secrets, String version) {
        DiscoveryResponse.Builder r =
                DiscoveryResponse.newBuilder()
                        .setVersionInfo(version)
                        .setTypeUrl(SECRET_TYPE)
                        .setNonce(UUID.randomUUID().toString());
        for (Secret s : secrets) {
            r.addResources(Any.pack(s));
        }
        return r.build();
    }

    /** A hash of the secrets: equal content, equal version. */
    private static String version(List<Secret> secrets) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (Secret s : secrets) {
                d.update(s.toByteArray());
            }
            return HexFormat.of().formatHex(d.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The secrets for {@code requested} names (all SVIDs and bundles by ID when none). */
    List<Secret> secrets(WorkloadUpdate update, List<String> requested) {
        Map<String, SpiffeBundle> bundles = new LinkedHashMap<>();
        bundles.put(update.bundle().trustDomain().idString(), update.bundle());
        update.federatedBundles().forEach((td, b) -> bundles.put(td.idString(), b));
        List<Secret> out = new ArrayList<>();
        if (requested.isEmpty()) {
            for (Identity i : update.identities()) {
                out.add(tls(i.svid().spiffeId().toString(), i.svid()));
            }
            bundles.forEach((id, b) -> out.add(roots(id, List.copyOf(b.x509Authorities()))));
            return out;
        }
        for (String name : requested) {
            if (name.equals(names.defaultSvidName())) {
                if (!update.identities().isEmpty()) {
                    out.add(tls(name, update.identities().get(0).svid()));
                }
            } else if (name.equals(names.defaultBundleName())) {
                out.add(roots(name, List.copyOf(update.bundle().x509Authorities())));
            } else if (name.equals(names.defaultAllBundlesName())) {
                out.add(
                        names.disableSpiffeCertValidation()
                                ? roots(name, allRoots(bundles))
                                : spiffeValidator(name, bundles));
            } else if (name.equals(SYSTEM_ROOTS)) {
                // Envoy reads the file itself (and watches it); none found: nothing, so Envoy
                // waits.
                SYSTEM_CA_FILES.stream()
                        .filter(f -> java.nio.file.Files.isReadable(java.nio.file.Path.of(f)))
                        .findFirst()
                        .ifPresent(
                                f ->
                                        out.add(
                                                Secret.newBuilder()
                                                        .setName(name)
                                                        .setValidationContext(
                                                                CertificateValidationContext
                                                                        .newBuilder()
                                                                        .setTrustedCa(
                                                                                DataSource
                                                                                        .newBuilder()
                                                                                        .setFilename(
                                                                                                f)))
                                                        .build()));
            } else if (bundles.containsKey(name)) {
                out.add(roots(name, List.copyOf(bundles.get(name).x509Authorities())));
            } else {
                update.identities().stream()
                        .filter(i -> i.svid().spiffeId().toString().equals(name))
                        .findFirst()
                        .ifPresent(i -> out.add(tls(name, i.svid())));
                // An unknown name gets nothing: Envoy keeps waiting for it, as with SPIRE.
            }
        }
        return out;
    }

    private static List<X509Certificate> allRoots(Map<String, SpiffeBundle> bundles) {
        List<X509Certificate> all = new ArrayList<>();
        bundles.values().forEach(b -> all.addAll(b.x509Authorities()));
        return all;
    }

    private static DataSource inline(String pem) {
        return DataSource.newBuilder().setInlineBytes(ByteString.copyFromUtf8(pem)).build();
    }

    private static Secret tls(String name, CachedSvid svid) {
        return Secret.newBuilder()
                .setName(name)
                .setTlsCertificate(
                        TlsCertificate.newBuilder()
                                .setCertificateChain(inline(Pem.encodeCertificates(svid.chain())))
                                .setPrivateKey(inline(Pem.encodePrivateKey(svid.privateKey()))))
                .build();
    }

    private static Secret roots(String name, List<X509Certificate> roots) {
        return Secret.newBuilder()
                .setName(name)
                .setValidationContext(
                        CertificateValidationContext.newBuilder()
                                .setTrustedCa(inline(Pem.encodeCertificates(roots))))
                .build();
    }

    private static Secret spiffeValidator(String name, Map<String, SpiffeBundle> bundles) {
        SPIFFECertValidatorConfig.Builder v = SPIFFECertValidatorConfig.newBuilder();
        for (SpiffeBundle b : bundles.values()) {
            TrustDomain td = b.trustDomain();
            v.addTrustDomains(
                    SPIFFECertValidatorConfig.TrustDomain.newBuilder()
                            .setName(td.name())
                            .setTrustBundle(
                                    inline(
                                            Pem.encodeCertificates(
                                                    List.copyOf(b.x509Authorities())))));
        }
        return Secret.newBuilder()
                .setName(name)
                .setValidationContext(
                        CertificateValidationContext.newBuilder()
                                .setCustomValidatorConfig(
                                        TypedExtensionConfig.newBuilder()
                                                .setName(SPIFFE_VALIDATOR)
                                                .setTypedConfig(Any.pack(v.build()))))
                .build();
    }
}
