package dev.parley.server.engine.grammar;

/**
 * Spelling of GBNF terminals as llama.cpp's grammar parser reads them. Everything outside printable ASCII is
 * written as an escape, so a grammar is plain ASCII and survives any transport.
 */
final class Gbnf {
    private Gbnf() {}

    /** A quoted literal matching exactly {@code text}'s code points. */
    static String literal(String text) {
        StringBuilder out = new StringBuilder("\"");
        text.codePoints().forEach(cp -> out.append(cp == '"' ? "\\\"" : escape(cp)));
        return out.append('"').toString();
    }

    /** A quoted literal of one code point. */
    static String literal(int codePoint) {
        return literal(Character.toString(codePoint));
    }

    /** One code point as it may appear inside {@code [...]} or {@code "..."}. */
    static String escape(int cp) {
        return switch (cp) {
            case '\\' -> "\\\\";
            case ']' -> "\\]";
            case '[' -> "\\[";
            case '-' -> "\\-";
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            default -> {
                if (cp >= 0x20 && cp < 0x7F && cp != '^') {
                    yield Character.toString(cp);
                }
                yield cp <= 0xFF
                        ? "\\x%02X".formatted(cp)
                        : cp <= 0xFFFF ? "\\u%04X".formatted(cp) : "\\U%08X".formatted(cp);
            }
        };
    }

    /** Whether {@code name} is a valid rule name: letters, digits and dashes. */
    static boolean isRuleName(String name) {
        return !name.isEmpty() && name.chars().allMatch(c -> c == '-' || (c < 0x80 && Character.isLetterOrDigit(c)));
    }
}
