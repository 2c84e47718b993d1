package dev.parley.server.engine.grammar;

import java.util.List;
import java.util.Map;

/**
 * The fixed rules every JSON grammar draws on, added to a grammar only when used. Their names never start with
 * {@code root} or {@code def-}, the prefixes of rules made from a schema, so the two cannot collide.
 *
 * <p>Each is exact JSON (RFC 8259) but may be narrower than JSON: numbers have at most 16 integer and 16
 * fraction digits and a two-digit exponent, and a {@code \\u} escape never spells half of a surrogate pair, so
 * a string's code point count is its {@code char} count (as {@code minLength} and {@code maxLength} need).
 */
final class Primitives {
    private Primitives() {}

    /**
     * Whitespace between tokens: nothing, one space, or one line break followed by up to 20 spaces or tabs of
     * indentation. Models that pretty-print keep their habit for ten levels of two-space indentation, and a
     * model can never spend its tokens on a run of blank space, which unbounded whitespace allows.
     */
    static final String SPACE = "space";

    /** Whitespace in compact JSON, as tool-call arguments are written: nothing or one space. */
    static final String COMPACT_SPACE = "| \" \"";

    private record Rule(String body, List<String> uses) {}

    private static final String HEX = "[0-9a-fA-F]";
    private static final String DAY31 = "( \"0\" [1-9] | [12] [0-9] | \"3\" [01] )";
    private static final String DAY30 = "( \"0\" [1-9] | [12] [0-9] | \"30\" )";
    private static final String DAY28 = "( \"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8] )";
    private static final String HOUR = "( [01] [0-9] | \"2\" [0-3] )";
    private static final String OFFSET = "( ( \"0\" [0-9] | \"1\" [0-7] ) \":\" [0-5] [0-9] | \"18:00\" )";

    private static final Map<String, Rule> RULES = Map.ofEntries(
            Map.entry(SPACE, new Rule("| \" \" | \"\\n\" [ \\t]{0,20}", List.of())),
            Map.entry(
                    "char",
                    new Rule(
                            "[^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" ( [0-9a-cA-CefEF] " + HEX
                                    + "{3} | [dD] [0-7] " + HEX + "{2} ) )",
                            List.of())),
            Map.entry("string", new Rule("\"\\\"\" char* \"\\\"\"", List.of("char"))),
            Map.entry("integral", new Rule("\"0\" | [1-9] [0-9]{0,15}", List.of())),
            Map.entry("integer", new Rule("\"-\"? integral", List.of("integral"))),
            Map.entry(
                    "number",
                    new Rule("\"-\"? integral ( \".\" [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,2} )?", List.of("integral"))),
            Map.entry("boolean", new Rule("\"true\" | \"false\"", List.of())),
            Map.entry("null", new Rule("\"null\"", List.of())),
            Map.entry(
                    "value",
                    new Rule(
                            "object | array | string | number | boolean | null",
                            List.of("object", "array", "string", "number", "boolean", "null"))),
            Map.entry("member", new Rule("string space \":\" space value", List.of("string", SPACE, "value"))),
            Map.entry(
                    "object",
                    new Rule("\"{\" space ( member ( \",\" space member )* space )? \"}\"", List.of(SPACE, "member"))),
            Map.entry(
                    "array",
                    new Rule("\"[\" space ( value ( \",\" space value )* space )? \"]\"", List.of(SPACE, "value"))),
            // RFC 3339 full-date with each month's own length; 29 February only in leap years (divisible by 4,
            // and centuries only when divisible by 400).
            Map.entry(
                    "date",
                    new Rule(
                            "[0-9]{4} \"-\" ( ( \"0\" [13578] | \"1\" [02] ) \"-\" " + DAY31
                                    + " | ( \"0\" [469] | \"11\" ) \"-\" " + DAY30 + " | \"02-\" " + DAY28
                                    + " ) | leap-year \"-02-29\"",
                            List.of("leap-year"))),
            Map.entry(
                    "leap-year",
                    new Rule(
                            "[0-9] [0-9] ( [02468] [48] | [13579] [26] | [2468] \"0\" )"
                                    + " | ( [02468] [048] | [13579] [26] ) \"00\"",
                            List.of())),
            // RFC 3339 full-time; the offset is required, seconds stop at 59 (no leap second), and the offset is one
            // every reader takes: up to 18 hours (java.time's bound; RFC 3339 allows 23) and not -00:00 (RFC 3339's
            // "offset unknown", which some validators refuse).
            Map.entry(
                    "time",
                    new Rule(
                            HOUR + " \":\" [0-5] [0-9] \":\" [0-5] [0-9] ( \".\" [0-9]{1,9} )? ( \"Z\" | \"+\" "
                                    + OFFSET
                                    + " | \"-\" ( \"00:\" ( \"0\" [1-9] | [1-5] [0-9] ) | ( \"0\" [1-9] | \"1\" [0-7] )"
                                    + " \":\" [0-5] [0-9] | \"18:00\" ) )",
                            List.of())),
            Map.entry("date-time", new Rule("date \"T\" time", List.of("date", "time"))),
            Map.entry(
                    "uuid",
                    new Rule(
                            HEX + "{8} \"-\" " + HEX + "{4} \"-\" " + HEX + "{4} \"-\" " + HEX + "{4} \"-\" " + HEX
                                    + "{12}",
                            List.of())),
            Map.entry("ipv4", new Rule("octet \".\" octet \".\" octet \".\" octet", List.of("octet"))),
            Map.entry(
                    "octet",
                    new Rule("\"25\" [0-5] | \"2\" [0-4] [0-9] | \"1\" [0-9] [0-9] | [1-9] [0-9] | [0-9]", List.of())));

    /** The keywords of Python literals, in place of JSON's. */
    private static final Map<String, String> PYTHON = Map.of("boolean", "\"True\" | \"False\"", "null", "\"None\"");

    /** The string formats a grammar can spell exactly; the value of {@code format} is also the rule's name. */
    static final List<String> FORMATS = List.of("date", "time", "date-time", "uuid", "ipv4");

    /** Adds rule {@code name} and the rules it uses to {@code rules}; returns {@code name}. */
    static String use(Rules rules, String name) {
        Rule rule = RULES.get(name);
        if (rule == null) {
            throw new IllegalArgumentException("no fixed rule " + name);
        }
        if (!rules.has(name)) {
            String body = rule.body();
            if (name.equals(SPACE) && rules.compact()) body = COMPACT_SPACE;
            if (rules.python() && PYTHON.containsKey(name)) body = PYTHON.get(name);
            rules.fixed(name, body);
            rule.uses().forEach(used -> use(rules, used));
        }
        return name;
    }
}
