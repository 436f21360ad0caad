package io.mithril.hcl;

/**
 * A value in an HCL document: a string, a number, a bool, a list or an object (a block body or
 * {@code key = { .. }}). Every value knows where it was written.
 */
public sealed interface HclValue permits HclString, HclNumber, HclBool, HclList, HclObject {

    /** Where the value starts in the source. */
    Position position();

    /** The HCL type name used in error messages: string, number, bool, list or object. */
    String typeName();

    /** A short description for error messages, quoting scalars: {@code string "abc"}. */
    default String describe() {
        return typeName();
    }
}
