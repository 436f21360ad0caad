package io.mithril.hcl;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns HCL 1 text into tokens. Newlines are not tokens: in HCL 1 items are separated by whitespace
 * or commas, so the parser never needs them. Comments ({@code #}, {@code //}, {@code /* *}{@code
 * /}) are skipped. Every token records its line and column.
 */
final class Lexer {

    enum Kind {
        IDENT,
        STRING,
        NUMBER,
        LBRACE,
        RBRACE,
        LBRACKET,
        RBRACKET,
        EQUALS,
        COMMA,
        EOF
    }

    /**
     * A token; {@code text} is the resolved value for strings and heredocs, the source text
     * otherwise.
     */
    record Token(Kind kind, String text, Position position) {
        String describe() {
            return switch (kind) {
                case IDENT -> "identifier " + Quote.quote(text);
                case STRING -> "string " + Quote.quote(text);
                case NUMBER -> "number " + text;
                case EOF -> "end of file";
                default -> "'" + text + "'";
            };
        }
    }

    private final String src;
    private final String source;
    private int pos;
    private int line = 1;
    private int lineStart;

    Lexer(String text, String source) {
        // A byte order mark from Windows editors is not part of the configuration.
        this.src = text.startsWith("\uFEFF") ? text.substring(1) : text;
        this.source = source;
    }

    List<Token> tokenize() throws HclException {
        List<Token> tokens = new ArrayList<>();
        Token t;
        do {
            t = next();
            tokens.add(t);
        } while (t.kind() != Kind.EOF);
        return tokens;
    }

    private Position at(int offset, int atLine, int atLineStart) {
        return new Position(source, atLine, offset - atLineStart + 1);
    }

    private void newline() {
        line++;
        lineStart = pos; // pos is already past the '\n'
    }

    private Token next() throws HclException {
        skipSpaceAndComments();
        int start = pos;
        int startLine = line;
        int startLineStart = lineStart;
        Position p = at(start, startLine, startLineStart);
        if (pos >= src.length()) {
            return new Token(Kind.EOF, "", p);
        }
        char c = src.charAt(pos);
        switch (c) {
            case '{':
                pos++;
                return new Token(Kind.LBRACE, "{", p);
            case '}':
                pos++;
                return new Token(Kind.RBRACE, "}", p);
            case '[':
                pos++;
                return new Token(Kind.LBRACKET, "[", p);
            case ']':
                pos++;
                return new Token(Kind.RBRACKET, "]", p);
            case '=':
                pos++;
                return new Token(Kind.EQUALS, "=", p);
            case ',':
                pos++;
                return new Token(Kind.COMMA, ",", p);
            case '"':
                return new Token(Kind.STRING, string(p), p);
            case '<':
                if (src.startsWith("<<", pos)) {
                    return new Token(Kind.STRING, heredoc(p), p);
                }
                break;
            default:
                break;
        }
        if (c == '-' || c == '+' || c == '.' || isDigit(c)) {
            return number(p);
        }
        if (isIdentStart(c)) {
            while (pos < src.length() && isIdentPart(src.charAt(pos))) {
                pos++;
            }
            return new Token(Kind.IDENT, src.substring(start, pos), p);
        }
        throw new HclException(
                p,
                "unexpected character "
                        + describeChar(src.codePointAt(pos))
                        + "; expected a key, a value, '{', '}', '[', ']', '=' or ','");
    }

    private static String describeChar(int cp) {
        if (cp < 0x20 || cp == 0x7f) {
            return String.format("U+%04X", cp);
        }
        return "'" + new String(Character.toChars(cp)) + "'";
    }

    private void skipSpaceAndComments() throws HclException {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == '\n') {
                pos++;
                newline();
            } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
                pos++;
            } else if (c == '#' || src.startsWith("//", pos)) {
                while (pos < src.length() && src.charAt(pos) != '\n') {
                    pos++;
                }
            } else if (src.startsWith("/*", pos)) {
                Position p = at(pos, line, lineStart);
                pos += 2;
                while (true) {
                    if (pos >= src.length()) {
                        throw new HclException(p, "comment /* is not closed; add */");
                    }
                    if (src.startsWith("*/", pos)) {
                        pos += 2;
                        break;
                    }
                    if (src.charAt(pos++) == '\n') {
                        newline();
                    }
                }
            } else {
                return;
            }
        }
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isIdentStart(char c) {
        return Character.isLetter(c) || c == '_';
    }

    private static boolean isIdentPart(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '-' || c == '.';
    }

    private Token number(Position p) throws HclException {
        int start = pos;
        // Take the whole run of characters that could belong to a number, then judge it.
        if (src.charAt(pos) == '-' || src.charAt(pos) == '+') {
            pos++;
        }
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (isDigit(c)
                    || c == '.'
                    || c == 'x'
                    || c == 'X'
                    || (c >= 'a' && c <= 'f')
                    || (c >= 'A' && c <= 'F')) {
                pos++;
            } else if ((c == '-' || c == '+')
                    && (src.charAt(pos - 1) == 'e' || src.charAt(pos - 1) == 'E')) {
                pos++;
            } else {
                break;
            }
        }
        String text = src.substring(start, pos);
        String literal = text.startsWith("+") ? text.substring(1) : text;
        if (HclNumber.parseLiteral(literal) == null
                || literal.endsWith(".")
                || literal.startsWith(".")
                || literal.startsWith("-.")) {
            throw new HclException(
                    p,
                    "invalid number "
                            + Quote.quote(text)
                            + "; write a number like 8081, -1, 1.5 or 0x1F, or quote text");
        }
        return new Token(Kind.NUMBER, literal, p);
    }

    /**
     * A double-quoted string; {@code ${..}} interpolations are kept as written (SPIRE has none).
     */
    private String string(Position p) throws HclException {
        pos++; // opening quote
        StringBuilder b = new StringBuilder();
        int braces = 0;
        while (true) {
            if (pos >= src.length()) {
                throw new HclException(p, "string is not closed; add the closing '\"'");
            }
            char c = src.charAt(pos);
            if (c == '\n') {
                throw new HclException(
                        p,
                        "string is not closed before the end of the line; add the closing '\"'"
                                + " (use a heredoc <<EOF for text over several lines)");
            }
            if (c == '"' && braces == 0) {
                pos++;
                return b.toString();
            }
            if (c == '$' && src.startsWith("${", pos)) {
                braces++;
                b.append("${");
                pos += 2;
                continue;
            }
            if (c == '}' && braces > 0) {
                braces--;
            }
            if (c == '\\') {
                Position escape = at(pos, line, lineStart);
                pos++;
                if (pos >= src.length()) {
                    throw new HclException(p, "string is not closed; add the closing '\"'");
                }
                char e = src.charAt(pos++);
                switch (e) {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case 'r' -> b.append('\r');
                    case 'a' -> b.append('\u0007');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'v' -> b.append('\u000b');
                    case '"' -> b.append('"');
                    case '\\' -> b.append('\\');
                    case 'u' -> b.appendCodePoint(hex(4, escape));
                    case 'U' -> b.appendCodePoint(hex(8, escape));
                    default ->
                            throw new HclException(
                                    escape,
                                    "unknown escape \\"
                                            + (e < 0x20 ? "" : String.valueOf(e))
                                            + " in string; use \\\\ for a backslash, or one of \\n \\t \\r \\\" \\uXXXX");
                }
                continue;
            }
            b.append(c);
            pos++;
        }
    }

    private int hex(int digits, Position escape) throws HclException {
        if (pos + digits > src.length()) {
            throw new HclException(escape, "escape needs " + digits + " hex digits");
        }
        String h = src.substring(pos, pos + digits);
        int cp;
        try {
            if (!h.matches("[0-9a-fA-F]+")) {
                throw new NumberFormatException(h);
            }
            cp = (int) Long.parseLong(h, 16);
        } catch (NumberFormatException e) {
            throw new HclException(
                    escape, "escape needs " + digits + " hex digits, found " + Quote.quote(h));
        }
        if (!Character.isValidCodePoint(cp) || (cp >= 0xD800 && cp <= 0xDFFF && digits == 8)) {
            throw new HclException(
                    escape, "escape " + Quote.quote(h) + " is not a Unicode code point");
        }
        pos += digits;
        return cp;
    }

    /**
     * {@code <<EOF} .. {@code EOF}: the lines in between, each ending with a newline. With {@code
     * <<-EOF} the closing marker may be indented and the common indentation is removed.
     */
    private String heredoc(Position p) throws HclException {
        pos += 2;
        boolean indented = pos < src.length() && src.charAt(pos) == '-';
        if (indented) {
            pos++;
        }
        int markerStart = pos;
        while (pos < src.length()
                && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
            pos++;
        }
        String marker = src.substring(markerStart, pos);
        if (marker.isEmpty()) {
            throw new HclException(p, "heredoc needs a marker after <<, like <<EOF");
        }
        int eol = pos;
        if (eol < src.length() && src.charAt(eol) == '\r') {
            eol++;
        }
        if (eol >= src.length() || src.charAt(eol) != '\n') {
            throw new HclException(
                    p,
                    "heredoc <<"
                            + (indented ? "-" : "")
                            + marker
                            + " must be followed by a new line");
        }
        pos = eol + 1;
        newline();
        List<String> lines = new ArrayList<>();
        while (true) {
            if (pos >= src.length()) {
                throw new HclException(p, "heredoc is not closed; add a line with " + marker);
            }
            int end = src.indexOf('\n', pos);
            int next = end < 0 ? src.length() : end + 1;
            String rawLine = src.substring(pos, end < 0 ? src.length() : end);
            String text =
                    rawLine.endsWith("\r") ? rawLine.substring(0, rawLine.length() - 1) : rawLine;
            String candidate = indented ? text.strip() : text;
            pos = next;
            if (end >= 0) {
                newline();
            }
            if (candidate.equals(marker)) {
                break;
            }
            lines.add(text);
        }
        if (indented) {
            int common = Integer.MAX_VALUE;
            for (String l : lines) {
                if (!l.isBlank()) {
                    int n = 0;
                    while (n < l.length() && (l.charAt(n) == ' ' || l.charAt(n) == '\t')) {
                        n++;
                    }
                    common = Math.min(common, n);
                }
            }
            if (common != Integer.MAX_VALUE) {
                List<String> trimmed = new ArrayList<>(lines.size());
                for (String l : lines) {
                    trimmed.add(l.length() >= common ? l.substring(common) : "");
                }
                lines = trimmed;
            }
        }
        StringBuilder b = new StringBuilder();
        for (String l : lines) {
            b.append(l).append('\n');
        }
        return b.toString();
    }
}
