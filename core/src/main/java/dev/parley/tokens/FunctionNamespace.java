package dev.parley.tokens;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.FunctionDefinition;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

/**
 * Function definitions as OpenAI shows them to the model: not JSON Schema but a TypeScript namespace.
 *
 * <pre>
 * namespace functions {
 *
 * // Get the current weather in a given location
 * type get_current_weather = (_: {
 * // The city and state, e.g. San Francisco, CA
 * location: string,
 * unit?: "celsius" | "fahrenheit",
 * }) => any;
 *
 * } // namespace functions
 * </pre>
 *
 * The format is the one inferred by the openai-chat-tokens project (H. Marr) and checked there against
 * OpenAI's reported prompt_tokens; property descriptions deeper than one nested object are not shown.
 * A schema type it does not know renders as {@code any}.
 */
final class FunctionNamespace {

    private FunctionNamespace() {}

    static String render(List<FunctionDefinition> functions) {
        var lines = new ArrayList<String>(List.of("namespace functions {", ""));
        for (FunctionDefinition function : functions) {
            if (hasText(function.description())) lines.add("// " + function.description());
            JsonNode parameters = function.parameters();
            if (parameters != null && parameters.path("properties").size() > 0) {
                lines.add("type " + function.name() + " = (_: {");
                lines.add(properties(parameters, 0));
                lines.add("}) => any;");
            } else {
                lines.add("type " + function.name() + " = () => any;");
            }
            lines.add("");
        }
        lines.add("} // namespace functions");
        return String.join("\n", lines);
    }

    private static String properties(JsonNode object, int indent) {
        var lines = new ArrayList<String>();
        JsonNode required = object.path("required");
        for (Map.Entry<String, JsonNode> property : object.path("properties").properties()) {
            String name = property.getKey();
            JsonNode schema = property.getValue();
            String description = schema.path("description").asText("");
            if (!description.isEmpty() && indent < 2) lines.add("// " + description);
            boolean isRequired =
                    StreamSupport.stream(required.spliterator(), false).anyMatch(value -> name.equals(value.asText()));
            lines.add(name + (isRequired ? "" : "?") + ": " + type(schema, indent) + ",");
        }
        String pad = " ".repeat(indent);
        return lines.stream().map(line -> pad + line).collect(Collectors.joining("\n"));
    }

    private static String type(JsonNode schema, int indent) {
        if (schema.has("anyOf")) return join(schema.path("anyOf"), value -> type(value, indent));
        JsonNode values = schema.path("enum");
        return switch (schema.path("type").asText("")) {
            case "string" -> values.isArray() ? join(values, value -> "\"" + value.asText() + "\"") : "string";
            case "number", "integer" -> values.isArray() ? join(values, FunctionNamespace::number) : "number";
            case "boolean" -> "boolean";
            case "null" -> "null";
            case "object" -> "{\n" + properties(schema, indent + 2) + "\n}";
            case "array" -> schema.has("items") ? type(schema.path("items"), indent) + "[]" : "any[]";
            default -> "any";
        };
    }

    // As JavaScript prints a number: 2.0 is "2".
    private static String number(JsonNode value) {
        if (value.isNumber() && value.decimalValue().stripTrailingZeros().scale() <= 0) {
            return value.decimalValue().toBigInteger().toString();
        }
        return value.asText();
    }

    private static String join(JsonNode array, java.util.function.Function<JsonNode, String> each) {
        return StreamSupport.stream(array.spliterator(), false).map(each).collect(Collectors.joining(" | "));
    }

    private static boolean hasText(String text) {
        return text != null && !text.isEmpty();
    }
}
