package dev.parley.server.engine.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.server.engine.grammar.GrammarBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;

/** Grammar pieces the tool syntaxes that write arguments in their own markup share. */
final class ArgumentGrammar {
    private ArgumentGrammar() {}

    /**
     * An object's members in the order of {@code members}, the required ones always and the others optionally, with
     * {@code separator} between those written; each member spelled by {@code member} (its key, its schema). Empty
     * when there are none.
     */
    static String members(
            GrammarBuilder builder,
            Map<String, JsonNode> members,
            List<String> required,
            String separator,
            String hint,
            BiFunction<String, JsonNode, String> member) {
        List<String> keys = new ArrayList<>(members.keySet());
        String between = GrammarBuilder.literal(separator);
        String tail = null; // the members from the i-th on, after one is written: each after a separator
        String head = null; // the members from the i-th on, none written yet
        for (int i = keys.size() - 1; i >= 0; i--) {
            String key = keys.get(i);
            String piece = member.apply(key, members.get(key));
            String pieceOn = tail == null ? piece : piece + " " + tail;
            boolean must = required.contains(key);
            String nextTail = must
                    ? between + " " + pieceOn
                    : "( " + between + " " + piece + " )?" + (tail == null ? "" : " " + tail);
            String nextHead = must ? pieceOn : "( " + pieceOn + (head == null ? " )?" : " | " + head + " )");
            tail = builder.rule(hint + "-after-" + key, nextTail);
            head = builder.rule(hint + "-from-" + key, nextHead);
        }
        return head == null ? "" : head;
    }

    /** The keys a schema requires. */
    static List<String> required(JsonNode schema) {
        List<String> required = new ArrayList<>();
        schema.path("required").forEach(key -> required.add(key.asText()));
        return required;
    }

    /**
     * A string schema's listed values ({@code const}, {@code enum}) as a choice of literals, each as {@code spell}
     * writes it; null when it lists none.
     */
    static String choices(JsonNode schema, Function<String, String> spell) {
        List<String> choices = new ArrayList<>();
        if (schema.has("const")) choices.add(schema.get("const").asText());
        schema.path("enum").forEach(value -> choices.add(value.asText()));
        if (choices.isEmpty()) return null;
        return "( "
                + String.join(
                        " | ",
                        choices.stream()
                                .map(c -> GrammarBuilder.literal(spell.apply(c)))
                                .toList()) + " )";
    }

    /**
     * A raw string of {@code schema}'s length: {@code character} (one character or, to rule out a closing mark, a few)
     * repeated; with a {@code maxLength}, {@code plain} (a class of one character) instead, so that the bound counts
     * characters, not pieces.
     */
    static String rawText(JsonNode schema, String character, String plain) {
        return (schema.has("maxLength") ? plain : character) + length(schema);
    }

    /** A string schema's length as a repetition of characters: {@code {min,max}}, or {@code {min,}}. */
    static String length(JsonNode schema) {
        int min = schema.path("minLength").asInt(0);
        int max = schema.path("maxLength").asInt(-1);
        return max >= 0 ? "{" + min + "," + max + "}" : "{" + min + ",}";
    }
}
