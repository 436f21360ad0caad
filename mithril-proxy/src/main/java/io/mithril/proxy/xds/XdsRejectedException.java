package io.mithril.proxy.xds;

/**
 * An xDS resource the proxy cannot apply as Envoy would; the message (which resource, what and why)
 * becomes the NACK's {@code error_detail}.
 */
public final class XdsRejectedException extends RuntimeException {
    public XdsRejectedException(String message) {
        super(message);
    }
}
