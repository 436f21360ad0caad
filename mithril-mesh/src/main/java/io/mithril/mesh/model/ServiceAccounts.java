package io.mithril.mesh.model;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * AuthorizationPolicy's {@code serviceAccounts} ({@code sa} or {@code ns/sa}), matched as istiod
 * has Envoy match them: the peer's SPIFFE ID fully matches {@code
 * spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?}, so any trust domain, segments between the namespace and
 * the service account, and segments after it all match ({@code serviceAccountRegex} in istio's
 * {@code pilot/pkg/security/authz/model/generator.go}). As there, {@code ns} and {@code sa} go into
 * the regex unquoted: Istio's validation allows only DNS-label characters and dots in them, and a
 * dot matches any character, as it does in Envoy.
 */
public final class ServiceAccounts {

    private static final Pattern ISTIO_REGEX =
            Pattern.compile(
                    "spiffe://\\.\\+/ns/([^/()|]+)/\\(\\.\\+/\\|\\)sa/([^/()|]+)\\(/\\.\\+\\)\\?");

    private static final Map<String, Pattern> COMPILED = new ConcurrentHashMap<>();

    private ServiceAccounts() {}

    /** {@code ns/sa} for a policy value: {@code sa} alone is in the policy's namespace. */
    public static String qualified(String policyNamespace, String value) {
        return value.indexOf('/') < 0 ? policyNamespace + "/" + value : value;
    }

    /** The regex istiod sends Envoy for {@code ns/sa}. */
    public static String regex(String nsSa) {
        int slash = nsSa.indexOf('/');
        return "spiffe://.+/ns/"
                + nsSa.substring(0, slash)
                + "/(.+/|)sa/"
                + nsSa.substring(slash + 1)
                + "(/.+)?";
    }

    /** The {@code ns/sa} an istiod service-account regex says, if {@code regex} is one. */
    public static Optional<String> fromRegex(String regex) {
        Matcher m = ISTIO_REGEX.matcher(regex);
        return m.matches() ? Optional.of(m.group(1) + "/" + m.group(2)) : Optional.empty();
    }

    /**
     * Whether a peer matches {@code ns/sa}; {@code principal} is its SPIFFE ID, with or without
     * {@code spiffe://}, or null for a peer without one.
     */
    public static boolean matches(String nsSa, String principal) {
        if (principal == null) {
            return false;
        }
        String id = principal.startsWith("spiffe://") ? principal : "spiffe://" + principal;
        return COMPILED.computeIfAbsent(nsSa, k -> Pattern.compile(regex(k))).matcher(id).matches();
    }
}
