package io.mithril.controlplane;

import io.mithril.api.workload.client.WorkloadApiAddress;
import io.mithril.hcl.Hcl;
import io.mithril.hcl.HclException;
import io.mithril.hcl.HclObject;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.Set;

/**
 * The control plane's configuration file, HCL like SPIRE's:
 *
 * <pre>
 * control_plane {
 *   bind_address  = "0.0.0.0"          # where proxies connect (default 0.0.0.0)
 *   bind_port     = "15012"            # istiod's secure XDS port (default 15012)
 *   admin_address = "127.0.0.1"        # status endpoint, loopback only (default 127.0.0.1)
 *   admin_port    = "15014"            # (default 15014)
 *   socket_path   = "/tmp/mithril/agent/public/api.sock"   # Workload API: a path, unix:///path or tcp://ip:port
 *   config_dir    = "/etc/mithril/mesh"                    # Istio YAML, watched (required)
 *   trust_domain  = "example.org"      # proxies must present an SVID of this trust domain (required)
 *   trust_domain_aliases = ["domain.test"]   # Istio's meshConfig.trustDomainAliases: sidecars also accept
 *                                            # peers of these (federated) trust domains (default none)
 *   spiffe_id     = "spiffe://example.org/ns/istio-system/sa/istiod"   # optional: refuse to start with another identity
 *   log_level     = "INFO"
 * }
 * </pre>
 *
 * Relative paths are resolved against the configuration file's directory.
 */
public record ControlPlaneConfig(
        InetSocketAddress listen,
        InetSocketAddress admin,
        WorkloadApiAddress workloadApi,
        Path configDir,
        TrustDomain trustDomain,
        SpiffeId spiffeId,
        String logLevel,
        java.util.List<TrustDomain> trustDomainAliases) {

    public ControlPlaneConfig {
        trustDomainAliases = java.util.List.copyOf(trustDomainAliases);
    }

    public static final int DEFAULT_PORT = 15012;
    public static final int DEFAULT_ADMIN_PORT = 15014;

    private static final Set<String> KEYS =
            Set.of(
                    "bind_address",
                    "bind_port",
                    "admin_address",
                    "admin_port",
                    "socket_path",
                    "config_dir",
                    "trust_domain",
                    "trust_domain_aliases",
                    "spiffe_id",
                    "log_level");

    /**
     * Reads and checks {@code file}.
     *
     * @throws ControlPlaneConfigException naming the file, line and key of the first problem
     */
    public static ControlPlaneConfig load(Path file) {
        return load(file, null);
    }

    /**
     * Reads and checks {@code file} after expanding {@code $VAR}/{@code ${VAR}} from {@code env}
     * (null: no expansion), as {@code spire-server run -expandEnv} does.
     *
     * @throws ControlPlaneConfigException naming the file, line and key of the first problem
     */
    public static ControlPlaneConfig load(Path file, java.util.Map<String, String> env) {
        HclObject root;
        try {
            root = Hcl.parseFile(file, env);
        } catch (HclException e) {
            throw new ControlPlaneConfigException(e.getMessage(), e);
        }
        try {
            root.requireOnly(Set.of("control_plane"), "control plane configuration " + file);
            HclObject cp =
                    root.object("control_plane")
                            .orElseThrow(
                                    () ->
                                            new ControlPlaneConfigException(
                                                    file
                                                            + ": no control_plane { ... } block; see docs/controlplane.md"));
            cp.requireOnly(KEYS, "control_plane block");
            Path base = file.toAbsolutePath().getParent();
            InetSocketAddress listen =
                    address(
                            file,
                            "bind_address",
                            cp.string("bind_address", "0.0.0.0"),
                            port(file, "bind_port", cp.number("bind_port", DEFAULT_PORT)));
            InetSocketAddress admin =
                    address(
                            file,
                            "admin_address",
                            cp.string("admin_address", "127.0.0.1"),
                            port(file, "admin_port", cp.number("admin_port", DEFAULT_ADMIN_PORT)));
            if (!admin.getAddress().isLoopbackAddress()) {
                throw new ControlPlaneConfigException(
                        file
                                + ": admin_address \""
                                + admin.getAddress().getHostAddress()
                                + "\" is not a loopback address; the admin endpoint has no authentication, use 127.0.0.1");
            }
            String socket = cp.string("socket_path", WorkloadApiAddress.DEFAULT_SOCKET_PATH);
            WorkloadApiAddress workloadApi;
            try {
                workloadApi =
                        WorkloadApiAddress.parse(
                                socket.contains("://") || socket.startsWith("/")
                                        ? socket
                                        : base.resolve(socket).toString());
            } catch (IllegalArgumentException e) {
                throw new ControlPlaneConfigException(file + ": socket_path: " + e.getMessage(), e);
            }
            String dir =
                    cp.string("config_dir")
                            .orElseThrow(
                                    () ->
                                            new ControlPlaneConfigException(
                                                    file
                                                            + ": control_plane.config_dir is required (the directory of Istio YAML to serve)"));
            String td =
                    cp.string("trust_domain")
                            .orElseThrow(
                                    () ->
                                            new ControlPlaneConfigException(
                                                    file
                                                            + ": control_plane.trust_domain is required (e.g. trust_domain = \"example.org\")"));
            TrustDomain trustDomain;
            try {
                trustDomain = TrustDomain.parse(td);
            } catch (RuntimeException e) {
                throw new ControlPlaneConfigException(
                        file + ": trust_domain \"" + td + "\": " + e.getMessage(), e);
            }
            java.util.List<TrustDomain> aliases = new java.util.ArrayList<>();
            for (String alias : cp.strings("trust_domain_aliases")) {
                try {
                    TrustDomain parsed = TrustDomain.parse(alias);
                    if (!parsed.name().equals(alias)) {
                        throw new IllegalArgumentException(
                                "write the trust domain's name only, as Istio's trustDomainAliases: \""
                                        + parsed.name()
                                        + "\"");
                    }
                    aliases.add(parsed);
                } catch (RuntimeException e) {
                    throw new ControlPlaneConfigException(
                            file + ": trust_domain_aliases \"" + alias + "\": " + e.getMessage(),
                            e);
                }
            }
            SpiffeId spiffeId = null;
            String id = cp.string("spiffe_id", "");
            if (!id.isEmpty()) {
                try {
                    spiffeId = SpiffeId.parse(id);
                } catch (RuntimeException e) {
                    throw new ControlPlaneConfigException(
                            file + ": spiffe_id \"" + id + "\": " + e.getMessage(), e);
                }
            }
            return new ControlPlaneConfig(
                    listen,
                    admin,
                    workloadApi,
                    base.resolve(dir).normalize(),
                    trustDomain,
                    spiffeId,
                    cp.string("log_level", "INFO"),
                    aliases);
        } catch (HclException e) {
            throw new ControlPlaneConfigException(e.getMessage(), e);
        }
    }

    private static int port(Path file, String key, long value) {
        if (value < 0 || value > 65535) {
            throw new ControlPlaneConfigException(
                    file + ": " + key + " " + value + " is not a port (0-65535)");
        }
        return (int) value;
    }

    private static InetSocketAddress address(Path file, String key, String host, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new ControlPlaneConfigException(
                    file + ": " + key + " \"" + host + "\" is not an IP address or known host name",
                    e);
        }
    }
}
