package dev.parley.server.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The oracle itself, checked on hand-written grammars before it judges generated ones. */
class GbnfRecognizerTest {
    @Test
    void matchesLiteralsClassesGroupsAndRepetitions() {
        var grammar = GbnfRecognizer.parse("""
                root ::= "a" [0-9]{2,3} ( "x" | "y" )* tail?  # comment
                tail ::= [^a-c\\n] "\\u00e9" |
                  "-"
                """);
        assertThat(grammar.accepts("a12")).isTrue();
        assertThat(grammar.accepts("a123xyx")).isTrue();
        assertThat(grammar.accepts("a12dé")).isTrue();
        assertThat(grammar.accepts("a12-")).isTrue();
        assertThat(grammar.accepts("a1")).isFalse();
        assertThat(grammar.accepts("a1234")).isFalse();
        assertThat(grammar.accepts("a12bé")).isFalse();
        assertThat(grammar.accepts("a12xz")).isFalse();
    }

    @Test
    void readsLlamaCppsOwnJsonGrammar() {
        var grammar = GbnfRecognizer.parse("""
                root   ::= object
                value  ::= object | array | string | number | ("true" | "false" | "null") ws
                object ::=
                  "{" ws (
                            string ":" ws value
                    ("," ws string ":" ws value)*
                  )? "}" ws
                array  ::=
                  "[" ws (
                            value
                    ("," ws value)*
                  )? "]" ws
                string ::=
                  "\\"" (
                    [^"\\\\\\x7F\\x00-\\x1F] |
                    "\\\\" (["\\\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
                  )* "\\"" ws
                number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
                ws ::= | " " | "\\n" [ \\t]{0,20}
                """);
        assertThat(grammar.accepts("{\"a\": [1, 2.5, \"x\\\"y\", {\"b\": null}]}"))
                .isTrue();
        assertThat(grammar.accepts("{\"a\": [1, 2.5,]}")).isFalse();
        assertThat(grammar.accepts("[1]")).isFalse();
    }

    @Test
    void refusesUndefinedRulesAndBadSyntax() {
        assertThatThrownBy(() -> GbnfRecognizer.parse("root ::= missing\n"))
                .hasMessageContaining("undefined rule missing");
        assertThatThrownBy(() -> GbnfRecognizer.parse("root ::= \"a\" )\n"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
