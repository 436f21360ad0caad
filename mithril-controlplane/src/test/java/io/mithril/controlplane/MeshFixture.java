package io.mithril.controlplane;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Istio YAML for the tests: the bookinfo gateway, a mesh route and policies. */
final class MeshFixture {

    private MeshFixture() {}

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * Gateways for the ingress (port {@code ingressPort}) and the egress gateway, and a
     * VirtualService bound to the ingress one.
     */
    static String gateways(int ingressPort, int egressPort, String productpagePrefix) {
        return """
                apiVersion: networking.istio.io/v1beta1
                kind: Gateway
                metadata:
                  name: bookinfo-gateway
                  namespace: istio-system
                spec:
                  selector:
                    istio: ingressgateway
                  servers:
                  - port:
                      number: %d
                      name: http
                      protocol: HTTP
                    hosts:
                    - "*"
                ---
                apiVersion: networking.istio.io/v1beta1
                kind: Gateway
                metadata:
                  name: egress-gateway
                  namespace: istio-system
                spec:
                  selector:
                    istio: egressgateway
                  servers:
                  - port:
                      number: %d
                      name: http
                      protocol: HTTP
                    hosts:
                    - "*"
                ---
                apiVersion: networking.istio.io/v1beta1
                kind: VirtualService
                metadata:
                  name: bookinfo
                  namespace: default
                spec:
                  hosts:
                  - "*"
                  gateways:
                  - istio-system/bookinfo-gateway
                  http:
                  - match:
                    - uri:
                        prefix: %s
                    route:
                    - destination:
                        host: productpage.default.svc.cluster.local
                        port:
                          number: 9080
                """
                .formatted(ingressPort, egressPort, productpagePrefix);
    }

    static final String SERVICES =
            """
            apiVersion: networking.istio.io/v1beta1
            kind: ServiceEntry
            metadata:
              name: productpage
              namespace: default
            spec:
              hosts:
              - productpage.default.svc.cluster.local
              location: MESH_INTERNAL
              ports:
              - number: 9080
                name: http
                protocol: HTTP
              resolution: STATIC
              endpoints:
              - address: 127.0.0.1
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: DestinationRule
            metadata:
              name: productpage
              namespace: default
            spec:
              host: productpage.default.svc.cluster.local
              trafficPolicy:
                tls:
                  mode: ISTIO_MUTUAL
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: VirtualService
            metadata:
              name: reviews
              namespace: default
            spec:
              hosts:
              - reviews.default.svc.cluster.local
              http:
              - route:
                - destination:
                    host: reviews.default.svc.cluster.local
            """;

    static final String POLICIES =
            """
            apiVersion: security.istio.io/v1beta1
            kind: PeerAuthentication
            metadata:
              name: default
              namespace: istio-system
            spec:
              mtls:
                mode: STRICT
            ---
            apiVersion: security.istio.io/v1beta1
            kind: AuthorizationPolicy
            metadata:
              name: productpage-viewer
              namespace: default
            spec:
              selector:
                matchLabels:
                  app: productpage
              action: ALLOW
              rules:
              - from:
                - source:
                    principals:
                    - example.org/ns/istio-system/sa/istio-ingressgateway-service-account
            ---
            apiVersion: security.istio.io/v1beta1
            kind: AuthorizationPolicy
            metadata:
              name: ratings-only
              namespace: default
            spec:
              selector:
                matchLabels:
                  app: ratings
              action: DENY
              rules:
              - to:
                - operation:
                    methods:
                    - DELETE
            """;

    /**
     * Resources of namespaces {@code a} and {@code b}: private ones ({@code exportTo: ["."]}),
     * hidden ({@code "~"}), exported to {@code a} or to {@code c} only, public ones (no {@code
     * exportTo}), WorkloadEntries chosen by a private and a public ServiceEntry, and a
     * namespace-wide AuthorizationPolicy of {@code b}.
     */
    static final String NAMESPACES_A_AND_B =
            """
            apiVersion: networking.istio.io/v1beta1
            kind: VirtualService
            metadata: {name: own-private, namespace: a}
            spec:
              hosts: [web.a.svc.cluster.local]
              exportTo: ["."]
              http: [{route: [{destination: {host: web.a.svc.cluster.local}}]}]
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: VirtualService
            metadata: {name: private, namespace: b}
            spec:
              hosts: [secret.b.svc.cluster.local]
              exportTo: ["."]
              http: [{route: [{destination: {host: secret.b.svc.cluster.local}}]}]
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: VirtualService
            metadata: {name: hidden, namespace: b}
            spec:
              hosts: [hidden.b.svc.cluster.local]
              exportTo: ["~"]
              http: [{route: [{destination: {host: hidden.b.svc.cluster.local}}]}]
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: DestinationRule
            metadata: {name: private, namespace: b}
            spec:
              host: secret.b.svc.cluster.local
              exportTo: ["."]
              trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: DestinationRule
            metadata: {name: exported-to-a, namespace: b}
            spec:
              host: shared.b.svc.cluster.local
              exportTo: [a]
              trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: DestinationRule
            metadata: {name: exported-to-c, namespace: b}
            spec:
              host: other.b.svc.cluster.local
              exportTo: [c]
              trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: ServiceEntry
            metadata: {name: private, namespace: b}
            spec:
              hosts: [secret.b.svc.cluster.local]
              exportTo: ["."]
              location: MESH_INTERNAL
              ports: [{number: 9080, name: http, protocol: HTTP}]
              resolution: STATIC
              workloadSelector: {labels: {app: secret}}
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: WorkloadEntry
            metadata: {name: private-1, namespace: b}
            spec: {address: 127.0.2.1, labels: {app: secret}, serviceAccount: secret}
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: ServiceEntry
            metadata: {name: public, namespace: b}
            spec:
              hosts: [shared.b.svc.cluster.local]
              location: MESH_INTERNAL
              ports: [{number: 9080, name: http, protocol: HTTP}]
              resolution: STATIC
              workloadSelector: {labels: {app: shared}}
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: WorkloadEntry
            metadata: {name: public-1, namespace: b}
            spec: {address: 127.0.2.2, labels: {app: shared}, serviceAccount: shared}
            ---
            apiVersion: security.istio.io/v1beta1
            kind: AuthorizationPolicy
            metadata: {name: deny-all, namespace: b}
            spec: {}
            """;

    /**
     * Writes a file atomically (temp file in the same directory, then rename), as an editor or
     * kubectl-style tool would.
     */
    static void write(Path file, String text) throws IOException {
        Path tmp = Files.createTempFile(file.getParent(), ".tmp-", ".part");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
