package io.mithril.hcl;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Parses HCL version 1, the configuration language of SPIRE's {@code server.conf} and
 * {@code agent.conf}: {@code key = value}, blocks with and without labels
 * ({@code NodeAttestor "join_token" { .. }}), {@code key = { .. }}, lists, strings with escapes,
 * heredocs, numbers, bools and the three comment styles. Keys may repeat; the result keeps every
 * entry in file order.
 *
 * <p>Every failure is an {@link HclException} whose message starts with {@code file:line:column}.
 */
public final class Hcl {

    private Hcl() {
    }

    /**
     * Parses {@code text}; {@code sourceName} names it in positions and errors (usually the file name).
     *
     * @throws HclException on a syntax error, naming the position, what was expected and what was found
     */
    public static HclObject parse(String text, String sourceName) throws HclException {
        if (text == null) {
            throw new HclException(Position.ofSource(String.valueOf(sourceName)), "no configuration text");
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
        String name = path.toString();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new HclException(Position.ofSource(name), "configuration file does not exist", e);
        } catch (IOException e) {
            throw new HclException(Position.ofSource(name), "cannot read configuration file: " + e, e);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new HclException(Position.ofSource(name), "configuration file is not UTF-8 text", e);
        }
        return parse(text, name);
    }
}
