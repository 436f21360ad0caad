package io.mithril.hcl;

import java.util.Objects;

/**
 * A configuration that cannot be read, parsed or understood. The message always starts with the
 * position ({@code server.conf:14:3: unknown key "bind_prot" in server block ...}) so the operator
 * knows which file, line and column to fix; {@link #what()} is the part after it.
 */
public final class HclException extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient Position position;
    private final String what;

    public HclException(Position position, String what) {
        super(position + ": " + what);
        this.position = Objects.requireNonNull(position, "position");
        this.what = what;
    }

    public HclException(Position position, String what, Throwable cause) {
        super(position + ": " + what, cause);
        this.position = Objects.requireNonNull(position, "position");
        this.what = what;
    }

    /** Where the problem is; line 0 when it concerns the whole source (an unreadable file). */
    public Position position() {
        return position;
    }

    /** The description of the problem, without the position prefix. */
    public String what() {
        return what;
    }
}
