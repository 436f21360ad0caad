package io.mithril.pki.upstream;

import io.mithril.pki.PkiException;

/**
 * An upstream authority could not mint the server's CA. The message names the source (for the disk
 * authority, the file) and the problem, e.g. {@code upstream CA /etc/ca.pem: certificate is not a
 * CA (basicConstraints CA=false)}.
 */
public final class UpstreamAuthorityException extends PkiException {
    private static final long serialVersionUID = 1L;

    public UpstreamAuthorityException(String message) {
        super(message);
    }

    public UpstreamAuthorityException(String message, Throwable cause) {
        super(message, cause);
    }
}
