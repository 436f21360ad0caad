package io.mithril.cli.inspect;

import io.mithril.cli.Cli;
import io.mithril.mesh.config.RbacPolicy;
import io.mithril.mesh.config.RequestAttributes;
import io.mithril.mesh.model.AuthorizationPolicy;
import io.mithril.mesh.model.Resource;
import io.mithril.mesh.yaml.MeshYaml;
import io.mithril.mesh.yaml.ValidationError;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code inspect -policy FILE}: whether a peer's SPIFFE ID would be let through by Istio
 * AuthorizationPolicies, decided by the mesh's own {@link RbacPolicy} (as the proxies decide), for
 * one request ({@code -method}, {@code -path}, {@code -host}, {@code -port}).
 *
 * <p>Every ALLOW and DENY policy in the files applies, whatever its namespace and selector: the
 * question is what these policies say about this peer, not which workload they select.
 */
final class PolicyCheck {

    private final List<Path> files;
    private final RbacPolicy rbac;
    private final List<String> ignored = new ArrayList<>();
    private final String method;
    private final String path;
    private final String host;
    private final int port;

    PolicyCheck(List<Path> files, String method, String path, String host, int port) {
        this.files = List.copyOf(files);
        MeshYaml.Result parsed = MeshYaml.parseFiles(files);
        if (!parsed.errors().isEmpty()) {
            throw new Cli.UserException(
                    "-policy: "
                            + String.join(
                                    "; ",
                                    parsed.errors().stream()
                                            .map(ValidationError::toString)
                                            .toList()));
        }
        List<AuthorizationPolicy> deny = new ArrayList<>();
        List<AuthorizationPolicy> allow = new ArrayList<>();
        for (Resource r : parsed.resources()) {
            if (r instanceof AuthorizationPolicy p) {
                switch (p.action()) {
                    case DENY -> deny.add(p);
                    case ALLOW -> allow.add(p);
                    default -> ignored.add(name(p) + " (action " + p.action() + ")");
                }
            }
        }
        if (deny.isEmpty() && allow.isEmpty()) {
            throw new Cli.UserException(
                    "-policy " + files + ": no AuthorizationPolicy with action ALLOW or DENY");
        }
        this.rbac = new RbacPolicy(deny, allow);
        this.method = method.toUpperCase(Locale.ROOT);
        this.path = path.startsWith("/") ? path : "/" + path;
        this.host = host;
        this.port = port;
    }

    private static String name(AuthorizationPolicy p) {
        return p.metadata().namespace() + "/" + p.metadata().name();
    }

    /**
     * Prints the decision for a request from {@code spiffeId} (null: no SPIFFE ID); true when
     * allowed.
     */
    boolean explain(PrintWriter out, String spiffeId) {
        RequestAttributes request =
                new RequestAttributes() {
                    @Override
                    public String method() {
                        return method;
                    }

                    @Override
                    public String pathWithQuery() {
                        return path;
                    }

                    @Override
                    public String authority() {
                        return host;
                    }

                    @Override
                    public String scheme() {
                        return "http";
                    }

                    @Override
                    public int port() {
                        return port;
                    }

                    @Override
                    public String header(String lowerCaseName) {
                        return lowerCaseName.equals("host") ? host : null;
                    }

                    @Override
                    public String sourcePrincipal() {
                        return spiffeId;
                    }

                    @Override
                    public String sourceAddress() {
                        return null;
                    }
                };
        RbacPolicy.Decision d = rbac.evaluate(request);
        String who = spiffeId == null ? "a peer without a SPIFFE ID" : spiffeId;
        String what =
                method
                        + " "
                        + path
                        + (host.isEmpty() ? "" : " on " + host)
                        + (port > 0 ? " port " + port : "");
        out.println(
                "policy "
                        + String.join(", ", files.stream().map(Path::toString).toList())
                        + ": "
                        + rbac.deny().size()
                        + " DENY, "
                        + rbac.allow().size()
                        + " ALLOW polic"
                        + (rbac.deny().size() + rbac.allow().size() == 1 ? "y" : "ies")
                        + " (all applied, whatever their selector)"
                        + (ignored.isEmpty() ? "" : "; ignored: " + String.join(", ", ignored)));
        if (d.allowed()) {
            out.println(
                    "policy verdict: allowed: "
                            + who
                            + " for "
                            + what
                            + (d.policy().isEmpty()
                                    ? " (no ALLOW policy: allowed unless denied)"
                                    : ": a rule of " + d.policy() + " matches"));
        } else if (d.policy().startsWith("DENY")) {
            out.println(
                    "policy verdict: denied: "
                            + who
                            + " for "
                            + what
                            + ": a rule of "
                            + d.policy()
                            + " matches");
        } else {
            out.println(
                    "policy verdict: denied: "
                            + who
                            + " for "
                            + what
                            + ": no rule of the ALLOW policies ("
                            + String.join(
                                    ", ", rbac.allow().stream().map(PolicyCheck::name).toList())
                            + ") matches; principals they allow: "
                            + principals());
        }
        return d.allowed();
    }

    private String principals() {
        List<String> out = new ArrayList<>();
        for (AuthorizationPolicy p : rbac.allow()) {
            for (AuthorizationPolicy.Rule r : p.rules()) {
                for (AuthorizationPolicy.Source s : r.from()) {
                    out.addAll(s.principals());
                    s.namespaces().forEach(n -> out.add("namespace " + n));
                }
                if (r.from().isEmpty()) {
                    out.add("any (a rule of " + name(p) + " has no from)");
                }
            }
        }
        return out.isEmpty() ? "none" : String.join(", ", out.stream().distinct().toList());
    }
}
