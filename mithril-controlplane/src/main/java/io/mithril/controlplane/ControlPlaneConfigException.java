package io.mithril.controlplane;

/**
 * The control plane's configuration file is wrong; the message names the file, line and key, and
 * what to write.
 */
public final class ControlPlaneConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ControlPlaneConfigException(String message) {
        super(message);
    }

    public ControlPlaneConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
