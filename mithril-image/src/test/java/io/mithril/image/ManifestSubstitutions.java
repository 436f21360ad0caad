package io.mithril.image;

import java.util.ArrayList;
import java.util.List;

/**
 * The explicit, minimal rewrites that let the rendered manifests run on one host (paths, ports,
 * addresses, the kubeconfig of the mock API server), each applied to the text it was written for. A
 * rewrite whose {@code from} is no longer in the text fails the test: a manifest changed so that
 * the substitution no longer holds must be looked at, never silently run unrewritten.
 */
final class ManifestSubstitutions {

    /** One rewrite: every occurrence of {@code from} becomes {@code to}; {@code why} says why. */
    record Rewrite(String from, String to, String why) {}

    private final String what;
    private final List<Rewrite> rewrites = new ArrayList<>();

    ManifestSubstitutions(String what) {
        this.what = what;
    }

    ManifestSubstitutions replace(String from, String to, String why) {
        rewrites.add(new Rewrite(from, to, why));
        return this;
    }

    /**
     * Inserts {@code line} after the (single) line that contains {@code anchor}, with that line's
     * indentation.
     */
    ManifestSubstitutions insertAfterLine(String anchor, String line, String why) {
        rewrites.add(new Rewrite(anchor, "\n" + line, "insert: " + why));
        return this;
    }

    List<Rewrite> rewrites() {
        return List.copyOf(rewrites);
    }

    /** The text with every rewrite applied; fails naming the rewrite when one does not apply. */
    String apply(String text) {
        String out = text;
        for (Rewrite r : rewrites) {
            if (!out.contains(r.from())) {
                throw new AssertionError(
                        what
                                + ": the substitution of \""
                                + r.from()
                                + "\" ("
                                + r.why()
                                + ") no longer applies: the rendered manifest changed; update"
                                + " KubernetesScenarioIT and docs/kubernetes.md");
            }
            if (r.why().startsWith("insert: ")) {
                // The one line (not a comment) whose text starts with the anchor.
                String[] lines = out.split("\n", -1);
                int found = -1;
                for (int i = 0; i < lines.length; i++) {
                    if (lines[i].strip().startsWith(r.from())) {
                        if (found >= 0) {
                            throw new AssertionError(
                                    what + ": more than one line starts with \"" + r.from() + "\"");
                        }
                        found = i;
                    }
                }
                if (found < 0) {
                    throw new AssertionError(
                            what
                                    + ": no line starts with \""
                                    + r.from()
                                    + "\" ("
                                    + r.why()
                                    + "): the rendered manifest changed");
                }
                String indent =
                        lines[found].substring(
                                0, lines[found].length() - lines[found].stripLeading().length());
                List<String> all = new ArrayList<>(List.of(lines));
                all.add(found + 1, indent + r.to().substring(1));
                out = String.join("\n", all);
            } else {
                out = out.replace(r.from(), r.to());
            }
        }
        return out;
    }

    /** Each argument with every rewrite applied; a rewrite that matches no argument fails. */
    List<String> apply(List<String> argv) {
        return List.of(apply(String.join("\u0000", argv)).split("\u0000", -1));
    }

    /**
     * Each argument with the rewrites that apply to it (the rewrites of a pod, for containers that
     * do not all use every one: an app has no socket).
     */
    List<String> applyWherePresent(List<String> argv) {
        ManifestSubstitutions present = new ManifestSubstitutions(what);
        String joined = String.join("\u0000", argv);
        rewrites.stream().filter(r -> joined.contains(r.from())).forEach(present.rewrites::add);
        return present.apply(argv);
    }
}
