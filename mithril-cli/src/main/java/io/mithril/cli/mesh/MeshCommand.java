package io.mithril.cli.mesh;

import io.mithril.cli.Cli;
import io.mithril.mesh.yaml.MeshYaml;
import io.mithril.mesh.yaml.ValidationError;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code mithril mesh ...}: the mesh configuration verbs (like {@code istioctl}). */
@Command(
        name = "mesh",
        description =
                "Work with Istio mesh configuration (Gateway, VirtualService, DestinationRule, ...).",
        mixinStandardHelpOptions = true,
        subcommands = {MeshCommand.Validate.class, CommandLine.HelpCommand.class})
public final class MeshCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * {@code mithril mesh validate -f FILE...}: like {@code istioctl validate}, checks every file
     * (a directory means every *.json, *.yaml and *.yml file under it, recursively, as {@code
     * istioctl validate -f} walks it; {@code -} means standard input), prints every error with
     * file, line, resource and field, prints Istio's warnings, says how many resources it
     * validated, and exits 1 when there is any error.
     */
    @Command(
            name = "validate",
            mixinStandardHelpOptions = true,
            description =
                    "Validate Istio configuration files; print every error and exit non-zero if there is any.")
    public static final class Validate implements Callable<Integer> {

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Option(
                names = {"-f", "--filename", "-filename"},
                required = true,
                arity = "1..*",
                description =
                        "File(s) or directories to validate (- for standard input); a directory is walked"
                                + " recursively for *.json, *.yaml and *.yml files.")
        List<String> files;

        @Override
        public Integer call() throws IOException {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            List<ValidationError> errors = new ArrayList<>();
            int resources = 0;
            List<String> valid = new ArrayList<>();
            java.util.Map<String, List<ValidationError>> warnings = new java.util.LinkedHashMap<>();
            for (String f : expand(files)) {
                MeshYaml.Result r;
                if (f.equals("-")) {
                    r =
                            MeshYaml.parse(
                                    "<stdin>",
                                    new String(System.in.readAllBytes(), StandardCharsets.UTF_8));
                } else {
                    r = MeshYaml.parseFiles(List.of(Path.of(f)));
                }
                errors.addAll(r.errors());
                resources += r.resources().size();
                if (r.ok()) {
                    valid.add(f);
                }
                if (!r.warnings().isEmpty()) {
                    warnings.put(f, r.warnings());
                }
            }
            for (String f : valid) {
                if (!warnings.containsKey(f)) {
                    out.println("\"" + f + "\" is valid");
                }
            }
            warnings.forEach(
                    (f, ws) -> {
                        out.println("\"" + f + "\" has warnings:");
                        ws.forEach(w -> out.println("\t* " + w));
                    });
            for (ValidationError e : errors) {
                err.println(e);
            }
            out.flush();
            if (!errors.isEmpty()) {
                err.println(
                        "Error: "
                                + errors.size()
                                + (errors.size() == 1 ? " error" : " errors")
                                + " found");
                err.flush();
                return 1;
            }
            out.println(resources + (resources == 1 ? " resource" : " resources") + " validated");
            out.flush();
            return 0;
        }

        /** The extensions {@code istioctl validate} reads in a directory. */
        private static final List<String> EXTENSIONS = List.of(".json", ".yaml", ".yml");

        private static List<String> expand(List<String> names) throws IOException {
            List<String> out = new ArrayList<>();
            for (String n : names) {
                Path p = Path.of(n);
                if (!n.equals("-") && Files.isDirectory(p)) {
                    try (Stream<Path> s = Files.walk(p)) {
                        s.filter(
                                        x ->
                                                Files.isRegularFile(x)
                                                        && EXTENSIONS.stream()
                                                                .anyMatch(
                                                                        e ->
                                                                                x.toString()
                                                                                        .endsWith(
                                                                                                e)))
                                .sorted()
                                .forEach(x -> out.add(x.toString()));
                    }
                } else if (!n.equals("-") && !Files.exists(p)) {
                    throw new Cli.UserException(
                            "file "
                                    + n
                                    + " does not exist (give a YAML file or a directory with -f)");
                } else {
                    out.add(n);
                }
            }
            return out;
        }
    }
}
