package dev.parley.server.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What a grammar cannot honour is refused with a SchemaException naming the keyword's JSON pointer, never ignored. */
class SchemaRefusalTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            {"type":"object","properties":{"x":{"not":{"type":"string"}}}}                  | /properties/x/not                 | Unsupported JSON Schema keyword 'not' at /properties/x/not
            {"properties":{"a/b~c":{"not":{}}}}                                              | /properties/a~1b~0c/not           | at /properties/a~1b~0c/not
            {"type":"string","pattern":"^[]a]$"}                                             | /pattern                          | empty character class
            {"properties":{"d":{"oneOf":[{"type":"string"},{"type":"string","format":"date"}]}}} | /properties/d/oneOf             | branches 0 and 1 may both match
            {"oneOf":[{"type":"number"},{"type":"integer"}]}                                  | /oneOf                            | branches 0 and 1 may both match
            {"oneOf":[{"properties":{"url":{}},"required":["url"],"additionalProperties":false},{"properties":{"path":{}}}]} | /oneOf | branches 0 and 1 may both match
            {"if":{"type":"string"},"then":{"minLength":1}}                                  | /if                               | keyword 'if'
            {"type":"object","patternProperties":{"^a":{}}}                                  | /patternProperties                | keyword 'patternProperties'
            {"type":"object","minProperties":1}                                              | /minProperties                    | keyword 'minProperties'
            {"type":"array","items":{"type":"integer"},"uniqueItems":true}                   | /uniqueItems                      | keyword 'uniqueItems'
            {"type":"array","contains":{"type":"integer"}}                                   | /contains                         | keyword 'contains'
            {"type":"number","multipleOf":0.5}                                               | /multipleOf                       | keyword 'multipleOf'
            {"type":"string","format":"email"}                                               | /format                           | format "email" cannot be enforced
            {"type":"string","pattern":"^(?=a)b$"}                                           | /pattern                          | lookaround
            {"type":"string","pattern":"^(a)\\\\1$"}                                         | /pattern                          | backreference
            {"type":"string","pattern":"\\\\bword"}                                          | /pattern                          | word boundary
            {"type":"string","pattern":"\\\\p{L}+"}                                          | /pattern                          | Unicode property
            {"type":"string","pattern":"a(^b)c"}                                             | /pattern                          | '^' inside the pattern
            {"type":"string","pattern":"^[a-z]+$","maxLength":5}                             | /maxLength                        | 'maxLength' beside 'pattern'
            {"properties":{"a":{"$ref":"https://example.com/schema.json"}}}                  | /properties/a/$ref                | only local references
            {"$ref":"#/$defs/missing"}                                                       | /$ref                             | does not exist
            {"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"anyOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"} | /$defs/b/anyOf/0/$ref | recurses without consuming any input
            {"anyOf":[{"$ref":"#"},{"type":"null"}]}                                         | /anyOf/0/$ref                     | recurses without consuming any input
            {"type":"number","minimum":0.1234567890123456}                                   | /minimum                          | more than 15 fraction digits
            {"type":"integer","minimum":10,"maximum":5}                                      | ''                                | no integer lies between its bounds
            {"type":"integer","maximum":1e20}                                                | /maximum                          | more than 16 integer digits
            {"type":"array","maxItems":100001}                                               | /maxItems                         | too large for a grammar at /maxItems
            {"type":"string","minLength":500000}                                             | /minLength                        | minLength over 100000
            {"type":"string","pattern":"^a{0,500000}$"}                                      | /pattern                          | quantifier over 100000
            {"type":"array","prefixItems":[{"type":"string"}],"minItems":2}                  | /minItems                         | more items required than prefixItems
            {"allOf":[{"type":"object","properties":{"a":{"type":"string"}}},{"properties":{"a":{"type":"integer"}}}]} | /allOf/1/properties/a | different schemas
            {"allOf":[{"type":"string"},{"minLength":2}]}                                    | /allOf/0/type                     | allOf members must be of type object
            {"type":"object","properties":{"a":{"type":"string"}},"required":["b"]}          | /required/0                       | required property 'b' must be declared
            {"type":"objekt"}                                                                | /type                             | unknown type
            {"enum":[]}                                                                      | /enum                             | non-empty array
            {"type":"string","enum":[1,2]}                                                   | /enum                             | no value has the schema's type
            {"$ref":"#/$defs/a","minLength":3,"$defs":{"a":{"type":"string"}}}               | /minLength                        | 'minLength' beside '$ref'
            {"anyOf":[{"type":"string"}],"type":"string"}                                    | /type                             | 'type' beside 'anyOf'
            {"properties":{"a":false},"required":["a"]}                                      | /properties/a                     | Invalid JSON Schema at /properties/a: the schema false admits no value
            false                                                                            | ''                                | Invalid JSON Schema at /: the schema false admits no value
            {"anyOf":[false,false]}                                                          | /anyOf                            | every branch is the schema false
            """)
    void refusesWithThePointerOfTheOffendingKeyword(String schema, String pointer, String message) {
        assertThatThrownBy(() -> JsonGrammar.fromSchema(json(schema)))
                .isInstanceOfSatisfying(SchemaException.class, e -> {
                    assertThat(e.pointer()).isEqualTo(pointer);
                    assertThat(e.getMessage()).contains(message);
                });
    }

    @Test
    void refusesSchemasNestedTooDeeply() {
        String deep = "{\"type\":\"array\",\"items\":".repeat(200) + "{}" + "}".repeat(200);
        assertThatThrownBy(() -> JsonGrammar.fromSchema(json(deep)))
                .isInstanceOfSatisfying(
                        SchemaException.class, e -> assertThat(e.getMessage()).contains("nested deeper than"));
    }

    @Test
    void refusesGrammarsWithTooManyRules() {
        StringBuilder properties = new StringBuilder();
        for (int i = 0; i < 900; i++) {
            properties
                    .append(i == 0 ? "" : ",")
                    .append("\"p")
                    .append(i)
                    .append("\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"minimum\":")
                    .append(i)
                    .append("},\"b\":{\"type\":\"string\",\"maxLength\":")
                    .append(i + 1)
                    .append("}}}");
        }
        assertThatThrownBy(
                        () -> JsonGrammar.fromSchema(json("{\"type\":\"object\",\"properties\":{" + properties + "}}")))
                .isInstanceOfSatisfying(
                        SchemaException.class,
                        e -> assertThat(e.getMessage()).contains("more than 4000 grammar rules"));
    }

    @Test
    void recursionThroughAnObjectIsNotLeftRecursion() {
        JsonNode schema = json(
                "{\"$defs\":{\"list\":{\"anyOf\":[{\"type\":\"null\"},{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#/$defs/list\"}},"
                        + "\"required\":[\"next\"],\"additionalProperties\":false}]}},\"$ref\":\"#/$defs/list\"}");
        GbnfRecognizer grammar =
                GbnfRecognizer.parse(JsonGrammar.fromSchema(schema).gbnf());
        assertThat(grammar.accepts("{\"next\":{\"next\":null}}")).isTrue();
        assertThat(grammar.accepts("{\"next\":{}}")).isFalse();
    }

    @Test
    void nullableAddsNullAsOpenApiMeansIt() {
        GbnfRecognizer grammar = GbnfRecognizer.parse(
                JsonGrammar.fromSchema(json("{\"type\":\"integer\",\"nullable\":true,\"maximum\":3}"))
                        .gbnf());
        assertThat(grammar.accepts("null")).isTrue();
        assertThat(grammar.accepts("3")).isTrue();
        assertThat(grammar.accepts("4")).isFalse();
    }

    private static JsonNode json(String text) {
        try {
            return SchemaCases.STRICT.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
