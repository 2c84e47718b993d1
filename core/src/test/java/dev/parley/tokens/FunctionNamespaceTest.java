package dev.parley.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.FunctionDefinition;
import dev.parley.api.Json;
import java.util.List;
import org.junit.jupiter.api.Test;

class FunctionNamespaceTest {

    @Test
    void rendersTheCookbookToolAsATypeScriptNamespace() {
        var tools = Fixtures.tools(Fixtures.json("cookbook-tools.json").path("tools"));
        assertThat(FunctionNamespace.render(List.of(tools.getFirst().function())))
                .isEqualTo("""
                namespace functions {

                // Get the current weather in a given location
                type get_current_weather = (_: {
                // The city and state, e.g. San Francisco, CA
                location: string,
                // The unit of temperature to return
                unit?: "celsius" | "fahrenheit",
                }) => any;

                } // namespace functions""");
    }

    @Test
    void rendersAFunctionWithoutParametersAsTakingNone() {
        var none = new FunctionDefinition("ping", null, null, null);
        var empty = FunctionDefinition.of("pong", "", Json.tree("{\"type\":\"object\",\"properties\":{}}"));
        assertThat(FunctionNamespace.render(List.of(none, empty))).isEqualTo("""
                namespace functions {

                type ping = () => any;

                type pong = () => any;

                } // namespace functions""");
    }

    // Descriptions show only down to the first nested object, and a nested closing brace is not
    // indented: both as in openai-chat-tokens, whose rendering OpenAI's counts confirm.
    @Test
    void rendersNestedObjectsArraysUnionsAndNumbers() {
        var schema = Json.tree("""
                {"type": "object", "required": ["items"], "properties": {
                  "items": {"type": "array", "description": "what to buy", "items": {"type": "object",
                    "required": ["name"], "properties": {
                      "name": {"type": "string", "description": "shown"},
                      "size": {"type": "object", "properties": {"grams": {"type": "integer", "description": "hidden"}}}}}},
                  "count": {"type": "integer", "enum": [1, 2.0, 2.5]},
                  "when": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                  "flag": {"type": "boolean"},
                  "tags": {"type": "array"},
                  "raw": {}}}""");
        assertThat(FunctionNamespace.render(List.of(FunctionDefinition.of("shop", "Buys things", schema))))
                .isEqualTo("""
                namespace functions {

                // Buys things
                type shop = (_: {
                // what to buy
                items: {
                  name: string,
                  size?: {
                    grams?: number,
                },
                }[],
                count?: 1 | 2 | 2.5,
                when?: string | null,
                flag?: boolean,
                tags?: any[],
                raw?: any,
                }) => any;

                } // namespace functions""");
    }
}
