package dev.parley.api;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The legacy {@code prompt}: a string, an array of strings, an array of token ids, or an array of such
 * arrays. Each element is one prompt, answered by its own {@code n} choices.
 */
@JsonSerialize(using = Prompt.Writer.class)
@JsonDeserialize(using = Prompt.Reader.class)
public sealed interface Prompt {

    /** Prompts as text; a single string reads as a list of one and is written back as a string. */
    record Texts(List<String> texts) implements Prompt {}

    /** Prompts as token ids (in the model's own vocabulary). */
    record Tokens(List<List<Integer>> tokens) implements Prompt {}

    static Prompt of(String text) {
        return new Texts(List.of(text));
    }

    static Prompt of(List<String> texts) {
        return new Texts(List.copyOf(texts));
    }

    default int size() {
        return switch (this) {
            case Texts(var texts) -> texts.size();
            case Tokens(var tokens) -> tokens.size();
        };
    }

    final class Writer extends JsonSerializer<Prompt> {
        @Override
        public void serialize(Prompt prompt, JsonGenerator out, SerializerProvider provider) throws IOException {
            switch (prompt) {
                case Texts(var texts) when texts.size() == 1 -> out.writeString(texts.getFirst());
                case Texts(var texts) -> provider.defaultSerializeValue(texts, out);
                case Tokens(var tokens)
                when tokens.size() == 1 -> provider.defaultSerializeValue(tokens.getFirst(), out);
                case Tokens(var tokens) -> provider.defaultSerializeValue(tokens, out);
            }
        }
    }

    /** Reads the four shapes; anything else (mixed arrays, numbers that are not token ids) is a type error. */
    final class Reader extends JsonDeserializer<Prompt> {
        @Override
        public Prompt deserialize(JsonParser in, DeserializationContext context) throws IOException {
            if (in.currentToken() == JsonToken.VALUE_STRING) return of(in.getText());
            if (in.currentToken() != JsonToken.START_ARRAY) {
                return (Prompt) context.handleUnexpectedToken(Prompt.class, in);
            }
            JsonNode array = context.readTree(in);
            if (array.isEmpty() || array.get(0).isTextual()) {
                List<String> texts = new ArrayList<>();
                for (JsonNode element : array) {
                    if (!element.isTextual()) return fail(context, "an array of strings");
                    texts.add(element.asText());
                }
                return new Texts(texts);
            }
            if (array.get(0).isIntegralNumber()) {
                List<Integer> ids = tokenIds(array);
                return ids == null ? fail(context, "an array of integers") : new Tokens(List.of(ids));
            }
            List<List<Integer>> lists = new ArrayList<>();
            for (JsonNode element : array) {
                List<Integer> ids = element.isArray() ? tokenIds(element) : null;
                if (ids == null) return fail(context, "an array of integer arrays");
                lists.add(ids);
            }
            return new Tokens(lists);
        }

        private static List<Integer> tokenIds(JsonNode array) {
            List<Integer> ids = new ArrayList<>();
            for (JsonNode element : array) {
                if (!element.isIntegralNumber() || !element.canConvertToInt()) return null;
                ids.add(element.intValue());
            }
            return ids;
        }

        private static Prompt fail(DeserializationContext context, String shape) throws IOException {
            return (Prompt) context.reportInputMismatch(Prompt.class, "expected %s", shape);
        }
    }
}
