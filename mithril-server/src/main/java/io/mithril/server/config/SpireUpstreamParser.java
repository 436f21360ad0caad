package io.mithril.server.config;

import io.mithril.hcl.HclException;
import io.mithril.hcl.HclObject;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/**
 * {@code UpstreamAuthority "spire" { plugin_data { .. } }} with SPIRE's keys: {@code
 * server_address}, {@code server_port} and {@code workload_api_socket} (all required, as SPIRE's
 * plugin requires them on Unix), and {@code experimental { workload_api_named_pipe_name,
 * require_pq_kem }}. The named pipe is Windows-only and refused with SPIRE's message; {@code
 * require_pq_kem = true} is refused because the JDK's TLS offers no post-quantum key exchange
 * (false is accepted).
 */
final class SpireUpstreamParser {

    private SpireUpstreamParser() {}

    static ServerConfig.SpireUpstreamConfig parse(HclObject data, String what) throws HclException {
        data.requireOnly(
                Set.of("server_address", "server_port", "workload_api_socket", "experimental"),
                what);
        Optional<HclObject> experimental = data.object("experimental");
        if (experimental.isPresent()) {
            HclObject x = experimental.get();
            x.requireOnly(
                    Set.of("workload_api_named_pipe_name", "require_pq_kem"),
                    what + " experimental block");
            if (!x.string("workload_api_named_pipe_name", "").isEmpty()) {
                throw new HclException(
                        x.position("workload_api_named_pipe_name"),
                        what
                                + ": workload_api_named_pipe_name is not supported on this platform;"
                                + " please use workload_api_socket instead");
            }
            if (x.bool("require_pq_kem", false)) {
                throw new HclException(
                        x.position("require_pq_kem"),
                        what
                                + ": require_pq_kem = true is not supported: this JVM's TLS offers no"
                                + " post-quantum key exchange (X25519MLKEM768); remove it or set false");
            }
        }
        String address = data.string("server_address", "").trim();
        if (address.isEmpty()) {
            throw new HclException(
                    data.position(),
                    what + ": server_address is required (e.g. server_address = \"root-server\")");
        }
        if (!data.has("server_port")) {
            throw new HclException(
                    data.position(),
                    what + ": server_port is required (e.g. server_port = \"8081\")");
        }
        long port = data.number("server_port", 0);
        if (port < 1 || port > 65535) {
            throw new HclException(
                    data.position("server_port"),
                    what + ": server_port " + port + " is not a port number (1-65535)");
        }
        String socket = data.string("workload_api_socket", "").trim();
        if (socket.isEmpty()) {
            throw new HclException(
                    data.position(),
                    what
                            + ": workload_api_socket is required (the Workload API socket of the"
                            + " upstream server's agent, e.g. \"/tmp/spire-agent/public/api.sock\")");
        }
        if (socket.startsWith("unix://")) {
            socket = socket.substring("unix://".length());
        }
        return new ServerConfig.SpireUpstreamConfig(
                address, (int) port, Path.of(socket).toAbsolutePath());
    }
}
