package io.mithril.hcl;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses HCL version 1, the configuration language of SPIRE's {@code server.conf} and {@code
 * agent.conf}: {@code key = value}, blocks with and without labels ({@code NodeAttestor
 * "join_token" { .. }}), {@code key = { .. }}, lists, strings with escapes, heredocs, numbers,
 * bools and the three comment styles. Keys may repeat; the result keeps every entry in file order.
 *
 * <p>Every failure is an {@link HclException} whose message starts with {@code file:line:column}.
 */
public final class Hcl {

    private Hcl() {}

    /**
     * Parses {@code text}; {@code sourceName} names it in positions and errors (usually the file
     * name).
     *
     * @throws HclException on a syntax error, naming the position, what was expected and what was
     *     found
     */
    public static HclObject parse(String text, String sourceName) throws HclException {
        if (text == null) {
            throw new HclException(
                    Position.ofSource(String.valueOf(sourceName)), "no configuration text");
        }
        String source = sourceName == null ? "<config>" : sourceName;
        return new Parser(new Lexer(text, source).tokenize(), source).parseDocument();
    }

    /**
     * Reads and parses a UTF-8 file; positions name the file as given.
     *
     * @throws HclException if the file is missing, unreadable, not UTF-8, or not valid HCL
     */
    public static HclObject parseFile(Path path) throws HclException {
        return parseFile(path, null);
    }

    /**
     * Reads and parses a UTF-8 file after expanding {@code $VAR} and {@code ${VAR}} from {@code
     * env}, as {@code spire-server run -expandEnv} does (Go's os.ExpandEnv: an unset variable
     * expands to ""). A null {@code env} expands nothing.
     *
     * @throws HclException if the file is missing, unreadable, not UTF-8, or not valid HCL
     */
    public static HclObject parseFile(Path path, Map<String, String> env) throws HclException {
        String name = path.toString();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new HclException(Position.ofSource(name), "configuration file does not exist", e);
        } catch (IOException e) {
            throw new HclException(
                    Position.ofSource(name), "cannot read configuration file: " + e, e);
        }
        String text;
        try {
            text =
                    StandardCharsets.UTF_8
                            .newDecoder()
                            .onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT)
                            .decode(ByteBuffer.wrap(bytes))
                            .toString();
        } catch (CharacterCodingException e) {
            throw new HclException(
                    Position.ofSource(name), "configuration file is not UTF-8 text", e);
        }
        return parse(env == null ? text : expandEnv(text, env), name);
    }

    private static final Pattern ENV_VAR =
            Pattern.compile("\\$(?:\\{([^}]*)}|([A-Za-z_][A-Za-z0-9_]*))");

    /**
     * Go's os.ExpandEnv: {@code $VAR} and {@code ${VAR}} from {@code env}; unset variables expand
     * to "".
     */
    public static String expandEnv(String text, Map<String, String> env) {
        Matcher m = ENV_VAR.matcher(text);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String name = m.group(1) != null ? m.group(1) : m.group(2);
            m.appendReplacement(sb, Matcher.quoteReplacement(env.getOrDefault(name, "")));
        }
        m.appendTail(sb);
        return sb.toString();
    }
}
