package io.mithril.hcl;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

/**
 * A recursive-descent parser for HCL 1 over the lexer's tokens.
 *
 * <pre>
 * body   := { item [","] }
 * item   := key ( "=" value | { label } "{" body "}" )
 * key    := IDENT | STRING
 * label  := STRING | IDENT
 * value  := STRING | heredoc | NUMBER | true | false | "[" [ value { "," value } [","] ] "]" | "{" body "}"
 * </pre>
 *
 * Nesting is bounded so hostile input gives an HclException, not a StackOverflowError.
 */
final class Parser {

    /** Deeper than any real configuration; keeps recursion far from the thread's stack limit. */
    static final int MAX_DEPTH = 200;

    private final List<Lexer.Token> tokens;
    private final String source;
    private int i;
    private int depth;

    Parser(List<Lexer.Token> tokens, String source) {
        this.tokens = tokens;
        this.source = source;
    }

    HclObject parseDocument() throws HclException {
        List<HclEntry> entries = body(Lexer.Kind.EOF);
        return new HclObject(entries, new Position(source, 1, 1));
    }

    private Lexer.Token peek() {
        return tokens.get(i);
    }

    private Lexer.Token take() {
        Lexer.Token t = tokens.get(i);
        if (t.kind() != Lexer.Kind.EOF) {
            i++;
        }
        return t;
    }

    /** Items until {@code end} (a '}' or the end of file), which is consumed. */
    private List<HclEntry> body(Lexer.Kind end) throws HclException {
        List<HclEntry> entries = new ArrayList<>();
        while (true) {
            Lexer.Token t = peek();
            if (t.kind() == end) {
                take();
                return entries;
            }
            if (t.kind() == Lexer.Kind.EOF) {
                throw new HclException(
                        t.position(), "expected '}' to close the block, found end of file");
            }
            if (t.kind() != Lexer.Kind.IDENT && t.kind() != Lexer.Kind.STRING) {
                throw new HclException(
                        t.position(),
                        "expected a key"
                                + (end == Lexer.Kind.RBRACE ? " or '}'" : "")
                                + ", found "
                                + t.describe());
            }
            entries.add(item());
            if (peek().kind() == Lexer.Kind.COMMA) {
                take();
            }
        }
    }

    private HclEntry item() throws HclException {
        Lexer.Token key = take();
        List<String> labels = new ArrayList<>();
        while (true) {
            Lexer.Token t = peek();
            switch (t.kind()) {
                case EQUALS -> {
                    if (!labels.isEmpty()) {
                        throw new HclException(
                                t.position(),
                                "expected '{' after the labels of "
                                        + key.describe()
                                        + ", found '='");
                    }
                    take();
                    HclValue value = value("the value of " + Quote.quote(key.text()));
                    return new HclEntry(key.text(), List.of(), value, key.position());
                }
                case LBRACE -> {
                    HclValue block = object();
                    return new HclEntry(key.text(), labels, block, key.position());
                }
                case STRING, IDENT -> {
                    take();
                    labels.add(t.text());
                }
                default ->
                        throw new HclException(
                                t.position(),
                                "expected '=' or '{' after key "
                                        + Quote.quote(key.text())
                                        + ", found "
                                        + t.describe());
            }
        }
    }

    private HclObject object() throws HclException {
        Lexer.Token open = take(); // '{'
        enter(open);
        List<HclEntry> entries = body(Lexer.Kind.RBRACE);
        depth--;
        return new HclObject(entries, open.position());
    }

    private HclValue value(String what) throws HclException {
        Lexer.Token t = peek();
        switch (t.kind()) {
            case STRING -> {
                take();
                return new HclString(t.text(), t.position());
            }
            case NUMBER -> {
                take();
                BigDecimal v = HclNumber.parseLiteral(t.text());
                if (v == null) {
                    throw new HclException(t.position(), "invalid number " + Quote.quote(t.text()));
                }
                return new HclNumber(v, t.text(), t.position());
            }
            case IDENT -> {
                if (t.text().equals("true") || t.text().equals("false")) {
                    take();
                    return new HclBool(t.text().equals("true"), t.position());
                }
                throw new HclException(
                        t.position(),
                        "expected "
                                + what
                                + " (a string, number, true/false, [list] or"
                                + " { object }), found "
                                + t.describe()
                                + "; quote text: \""
                                + t.text()
                                + "\"");
            }
            case LBRACKET -> {
                return list();
            }
            case LBRACE -> {
                return object();
            }
            default ->
                    throw new HclException(
                            t.position(),
                            "expected "
                                    + what
                                    + " (a string, number, true/false, [list] or { object }), found "
                                    + t.describe());
        }
    }

    private HclList list() throws HclException {
        Lexer.Token open = take(); // '['
        enter(open);
        List<HclValue> elements = new ArrayList<>();
        while (true) {
            if (peek().kind() == Lexer.Kind.RBRACKET) {
                take();
                break;
            }
            if (peek().kind() == Lexer.Kind.EOF) {
                throw new HclException(
                        peek().position(),
                        "expected ']' to close the list opened at "
                                + open.position()
                                + ", found end of file");
            }
            elements.add(value("a list element"));
            Lexer.Token sep = peek();
            if (sep.kind() == Lexer.Kind.COMMA) {
                take();
            } else if (sep.kind() != Lexer.Kind.RBRACKET) {
                throw new HclException(
                        sep.position(),
                        "expected ',' or ']' in the list opened at "
                                + open.position()
                                + ", found "
                                + sep.describe());
            }
        }
        depth--;
        return new HclList(elements, open.position());
    }

    private void enter(Lexer.Token open) throws HclException {
        if (++depth > MAX_DEPTH) {
            throw new HclException(
                    open.position(), "nesting is deeper than " + MAX_DEPTH + " levels");
        }
    }
}
