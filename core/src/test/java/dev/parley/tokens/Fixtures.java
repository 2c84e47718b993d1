package dev.parley.tokens;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatMessage;
import dev.parley.api.FunctionDefinition;
import dev.parley.api.Json;
import dev.parley.api.Tool;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/** Reads the JSON fixtures under {@code dev/parley/tokens/} with the shared mapper. */
final class Fixtures {

    private Fixtures() {}

    static JsonNode json(String name) {
        try (InputStream in = Fixtures.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("no fixture " + name);
            return Json.mapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<ChatMessage> messages(JsonNode array) {
        return list(array, ChatMessage.class);
    }

    static List<Tool> tools(JsonNode array) {
        return list(array, Tool.class);
    }

    static List<FunctionDefinition> functions(JsonNode array) {
        return list(array, FunctionDefinition.class);
    }

    static List<ChatMessage> seedMessages() {
        return messages(json("seed-messages.json"));
    }

    private static <T> List<T> list(JsonNode array, Class<T> type) {
        if (array == null || array.isMissingNode()) return List.of();
        var javaType = Json.mapper().getTypeFactory().constructCollectionType(List.class, type);
        return Json.mapper().convertValue(array, javaType);
    }
}
