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

/**
 * {@code tool_choice}: a mode ({@code none}, {@code auto}, {@code required}) or one named function
 * ({@code {"type":"function","function":{"name":…}}}). A named choice with no name reads as
 * {@code Function(null)}, which validation reports.
 */
@JsonSerialize(using = ToolChoice.Writer.class)
@JsonDeserialize(using = ToolChoice.Reader.class)
public sealed interface ToolChoice {

    record Mode(String mode) implements ToolChoice {}

    record Function(String name) implements ToolChoice {}

    ToolChoice NONE = new Mode("none");
    ToolChoice AUTO = new Mode("auto");
    ToolChoice REQUIRED = new Mode("required");

    static ToolChoice function(String name) {
        return new Function(name);
    }

    final class Writer extends JsonSerializer<ToolChoice> {
        @Override
        public void serialize(ToolChoice choice, JsonGenerator out, SerializerProvider provider) throws IOException {
            switch (choice) {
                case Mode(var mode) -> out.writeString(mode);
                case Function(var name) -> {
                    out.writeStartObject();
                    out.writeStringField("type", "function");
                    out.writeObjectFieldStart("function");
                    out.writeStringField("name", name);
                    out.writeEndObject();
                    out.writeEndObject();
                }
            }
        }
    }

    final class Reader extends JsonDeserializer<ToolChoice> {
        @Override
        public ToolChoice deserialize(JsonParser in, DeserializationContext context) throws IOException {
            if (in.currentToken() == JsonToken.VALUE_STRING) return new Mode(in.getText());
            if (in.currentToken() == JsonToken.START_OBJECT) {
                JsonNode node = context.readTree(in);
                JsonNode name = node.path("function").path("name");
                return new Function(name.isTextual() ? name.asText() : null);
            }
            return (ToolChoice) context.handleUnexpectedToken(ToolChoice.class, in);
        }
    }
}
