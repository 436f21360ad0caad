package io.mithril.server.api;

import io.grpc.ForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.net.SocketAddress;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SPIRE's {@code audit_log_enabled} for the admin API: one line per call when it ends, on the
 * {@code io.mithril.audit} logger, with SPIRE's audit fields: {@code type=audit}, {@code
 * request_id}, {@code method}, {@code status} ({@code success} or {@code error}), {@code
 * status_code}, {@code status_message} and {@code caller_addr} (the admin socket; only its owner
 * can connect, as the socket's directory is 0700). Request bodies are not logged: some carry join
 * tokens.
 */
public final class AuditLogInterceptor implements ServerInterceptor {

    /** The logger audit lines go to, so operators can route them apart. */
    public static final String LOGGER = "io.mithril.audit";

    private static final Logger audit = LoggerFactory.getLogger(LOGGER);

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String requestId = UUID.randomUUID().toString();
        SocketAddress caller = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        String method = call.getMethodDescriptor().getFullMethodName();
        return next.startCall(
                new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                    @Override
                    public void close(Status status, Metadata trailers) {
                        audit.info(
                                "type=audit request_id={} method={} status={} status_code={}"
                                        + " status_message=\"{}\" caller_addr={}",
                                requestId,
                                method,
                                status.isOk() ? "success" : "error",
                                status.getCode(),
                                status.getDescription() == null
                                        ? ""
                                        : status.getDescription().replace("\"", "'"),
                                caller);
                        super.close(status, trailers);
                    }
                },
                headers);
    }
}
