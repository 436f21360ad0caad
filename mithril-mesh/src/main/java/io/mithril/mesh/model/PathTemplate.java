package io.mithril.mesh.model;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * An AuthorizationPolicy path template: a path with Istio's operators {@code {*}} (one non-empty
 * path segment) and {@code {**}} (the rest of the path, slashes included, possibly empty).
 *
 * <p>istiod sends a template to Envoy as a {@code uri_template} RBAC permission, its operators
 * written {@code *} and {@code **} ({@code matcher.PathTemplateMatcher}); Envoy's {@code
 * uri_template} library parses it into segments and matches the request path, without its query and
 * fragment, against the regular expression it builds from them. This class is that parser and that
 * regular expression, and the one place the mesh decides template matching: the compiled policy,
 * the control plane's xDS translation and the proxy's reading of xDS all use it. Exactly what Envoy
 * matches, no more: {@code /a/{*}} matches {@code /a/x}, not {@code /a/x/} and not {@code /a/};
 * {@code /a/{**}} matches {@code /a/} and {@code /a/x/y}, not {@code /a}.
 */
public final class PathTemplate {

    /**
     * RFC 3986 pchar as Envoy's {@code uri_template_internal.cc} spells it ({@code kLiteral}): no
     * {@code *} and no {@code /}.
     */
    static final String PCHAR = "a-zA-Z0-9\\-._~%!$&'()+,;:@=";

    private static final Pattern LITERAL = Pattern.compile("[" + PCHAR + "]+");
    private static final Pattern PRINTABLE = Pattern.compile("/[\\x21-\\x7e]*");
    private static final String ONE = "[" + PCHAR + "]+";
    private static final String ANY = "[" + PCHAR + "/]*";

    private final String template;
    private final String envoyTemplate;
    private final Pattern regex;

    private PathTemplate(String template, String envoyTemplate, Pattern regex) {
        this.template = template;
        this.envoyTemplate = envoyTemplate;
        this.regex = regex;
    }

    /**
     * Whether an AuthorizationPolicy path is a template (Istio's {@code
     * security.ContainsPathTemplate}).
     */
    public static boolean isTemplate(String path) {
        return path.contains("{*}") || path.contains("{**}");
    }

    /**
     * An AuthorizationPolicy template ({@code /api/{*}/admin/{**}}).
     *
     * @throws IllegalArgumentException when Envoy's {@code uri_template} parser would refuse what
     *     istiod sends it for this path (Envoy then refuses the whole RBAC filter), with the reason
     */
    public static PathTemplate parse(String template) {
        return fromEnvoy(template.replace("{*}", "*").replace("{**}", "**"));
    }

    /**
     * A template as Envoy's {@code UriTemplateMatchConfig.path_template} writes it ({@code
     * /api/*}{@code /admin/**}).
     *
     * @throws IllegalArgumentException when Envoy would refuse it, or when it uses what an
     *     AuthorizationPolicy cannot say (named variables {@code {name}})
     */
    public static PathTemplate fromEnvoy(String envoyTemplate) {
        if (!PRINTABLE.matcher(envoyTemplate).matches()) {
            throw new IllegalArgumentException(
                    "\"" + envoyTemplate + "\" must start with '/' and hold only printable ASCII");
        }
        String rest = envoyTemplate.substring(1);
        List<String> regexes = new ArrayList<>();
        StringBuilder istio = new StringBuilder();
        String suffix = "";
        boolean textGlob = false;
        while (!rest.isEmpty()) {
            istio.append('/');
            if (rest.startsWith("*")) {
                if (textGlob) {
                    throw new IllegalArgumentException(
                            "\"" + envoyTemplate + "\": {**} must be the last operator");
                }
                boolean any = rest.startsWith("**");
                textGlob = any;
                regexes.add(any ? ANY : ONE);
                istio.append(any ? "{**}" : "{*}");
                rest = rest.substring(any ? 2 : 1);
            } else if (rest.startsWith("{")) {
                throw new IllegalArgumentException(
                        "\""
                                + envoyTemplate
                                + "\": named variables ({name}) have no AuthorizationPolicy equivalent");
            } else {
                int slash = rest.indexOf('/');
                String literal = slash < 0 ? rest : rest.substring(0, slash);
                regexes.add(literal(envoyTemplate, literal));
                istio.append(literal);
                rest = rest.substring(literal.length());
            }
            if (rest.equals("/")) {
                regexes.add(""); // one trailing '/', an empty last segment
                istio.append('/');
                break;
            } else if (rest.startsWith("/")) {
                rest = rest.substring(1);
            } else if (!rest.isEmpty()) {
                if (rest.contains("/")) {
                    throw new IllegalArgumentException(
                            "\""
                                    + envoyTemplate
                                    + "\": text after an operator must be the end of the path");
                }
                suffix = literal(envoyTemplate, rest);
                istio.append(rest);
                break;
            }
        }
        String re = "/" + String.join("/", regexes) + suffix;
        return new PathTemplate(
                istio.isEmpty() ? "/" : istio.toString(), envoyTemplate, Pattern.compile(re));
    }

    /**
     * Whether a path segment is a template literal: one or more pchar (Istio's {@code
     * security.IsValidLiteral}).
     */
    public static boolean isLiteral(String segment) {
        return LITERAL.matcher(segment).matches();
    }

    private static String literal(String template, String literal) {
        if (!isLiteral(literal)) {
            throw new IllegalArgumentException(
                    "\""
                            + template
                            + "\": segment \""
                            + literal
                            + "\" is not a path literal (empty, or a character outside RFC 3986 pchar)");
        }
        return Pattern.quote(literal);
    }

    /** As the AuthorizationPolicy writes it. */
    public String template() {
        return template;
    }

    /** As istiod sends it to Envoy ({@code UriTemplateMatchConfig.path_template}). */
    public String envoyTemplate() {
        return envoyTemplate;
    }

    /** The regular expression Envoy matches the path with. */
    public String regex() {
        return regex.pattern();
    }

    /**
     * Whether Envoy's {@code uri_template} matcher matches this request path (its query and
     * fragment are ignored).
     */
    public boolean matches(String path) {
        int end = path.length();
        int q = path.indexOf('?');
        int f = path.indexOf('#');
        if (q >= 0) {
            end = q;
        }
        if (f >= 0 && f < end) {
            end = f;
        }
        return regex.matcher(path).region(0, end).matches();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PathTemplate t && t.envoyTemplate.equals(envoyTemplate);
    }

    @Override
    public int hashCode() {
        return envoyTemplate.hashCode();
    }

    @Override
    public String toString() {
        return template;
    }
}
