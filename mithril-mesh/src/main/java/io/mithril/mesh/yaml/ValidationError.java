package io.mithril.mesh.yaml;

/**
 * One problem in a mesh configuration file, located as precisely as the input allows.
 *
 * @param file the file name as given by the user (or {@code <input>})
 * @param line 1-based line of the offending value, 0 when unknown
 * @param document 0-based index of the YAML document inside the file ({@code ---} separated), -1
 *     when unknown
 * @param resource {@code Kind namespace/name} of the resource, or empty when not yet known
 * @param field the field path, e.g. {@code spec.http[0].route[0].destination.host}, or empty
 * @param message what is wrong and what would be right
 * @param column 1-based column of the offending key, 0 when unknown
 */
public record ValidationError(
        String file,
        int line,
        int document,
        String resource,
        String field,
        String message,
        int column) {

    /** An error whose column is unknown. */
    public ValidationError(
            String file, int line, int document, String resource, String field, String message) {
        this(file, line, document, resource, field, message, 0);
    }

    /** Renders {@code file:line[:column]: [document N] Kind ns/name: field: message}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(file);
        if (line > 0) {
            sb.append(':').append(line);
            if (column > 0) {
                sb.append(':').append(column);
            }
        }
        sb.append(": ");
        if (document >= 0) {
            sb.append("document ").append(document).append(": ");
        }
        if (!resource.isEmpty()) {
            sb.append(resource).append(": ");
        }
        if (!field.isEmpty()) {
            sb.append(field).append(": ");
        }
        sb.append(message);
        return sb.toString();
    }
}
