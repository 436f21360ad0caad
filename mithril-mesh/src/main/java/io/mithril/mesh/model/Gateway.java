package io.mithril.mesh.model;

import java.util.List;
import java.util.Map;

/**
 * {@code networking.istio.io Gateway}: the listeners of the gateways whose labels match {@code
 * selector}.
 */
public record Gateway(
        Metadata metadata, Origin origin, Map<String, String> selector, List<Server> servers)
        implements Resource {
    public Gateway {
        selector = Map.copyOf(selector);
        servers = List.copyOf(servers);
    }

    /** {@code servers[]}. */
    public record Server(Port port, String bind, List<String> hosts, ServerTls tls, String name) {
        public Server {
            hosts = List.copyOf(hosts);
        }
    }

    /** {@code port}: number, name and protocol (HTTP, HTTPS, HTTP2, GRPC, TCP, TLS, MONGO). */
    public record Port(int number, String name, String protocol) {}

    /** {@code tls.mode} of a Gateway server. */
    public enum TlsMode {
        PASSTHROUGH,
        SIMPLE,
        MUTUAL,
        AUTO_PASSTHROUGH,
        ISTIO_MUTUAL,
        OPTIONAL_MUTUAL
    }

    /** {@code servers[].tls}. */
    public record ServerTls(
            boolean httpsRedirect,
            TlsMode mode,
            String serverCertificate,
            String privateKey,
            String caCertificates,
            String credentialName,
            List<String> subjectAltNames,
            String minProtocolVersion,
            String maxProtocolVersion,
            List<String> cipherSuites) {
        public ServerTls {
            subjectAltNames = List.copyOf(subjectAltNames);
            cipherSuites = List.copyOf(cipherSuites);
        }
    }
}
