package io.mithril.server.api;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.mithril.server.datastore.DataStoreUnavailableException;

/**
 * Answers a call that found the database unreachable with {@code UNAVAILABLE} (which clients retry)
 * instead of gRPC's bare {@code UNKNOWN}. The admin API's local caller gets the reason (which names
 * the database); the agent API's remote callers only hear that it is unavailable.
 */
public final class DataStoreUnavailableInterceptor implements ServerInterceptor {

    private final boolean detail;

    /**
     * @param detail whether the answer carries the reason (the database's host and error)
     */
    public DataStoreUnavailableInterceptor(boolean detail) {
        this.detail = detail;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        ServerCall.Listener<Q> listener;
        try {
            listener = next.startCall(call, headers);
        } catch (DataStoreUnavailableException e) {
            close(call, e);
            return new ServerCall.Listener<>() {};
        }
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
            @Override
            public void onMessage(Q message) {
                try {
                    super.onMessage(message);
                } catch (DataStoreUnavailableException e) {
                    close(call, e);
                }
            }

            @Override
            public void onHalfClose() {
                try {
                    super.onHalfClose();
                } catch (DataStoreUnavailableException e) {
                    close(call, e);
                }
            }
        };
    }

    private void close(ServerCall<?, ?> call, DataStoreUnavailableException e) {
        call.close(
                Status.UNAVAILABLE.withDescription(
                        detail ? e.getMessage() : "datastore unavailable, retry later"),
                new Metadata());
    }
}
