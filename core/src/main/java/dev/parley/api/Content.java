package dev.parley.api;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.type.CollectionType;
import java.io.IOException;
import java.util.List;
import java.util.stream.Collectors;

/** A message's {@code content}: a plain string, or an array of parts (text, images, audio). */
@JsonSerialize(using = Content.Writer.class)
@JsonDeserialize(using = Content.Reader.class)
public sealed interface Content {

    record Text(String text) implements Content {}

    record Parts(List<ContentPart> parts) implements Content {}

    static Content of(String text) {
        return new Text(text);
    }

    static Content of(List<ContentPart> parts) {
        return new Parts(List.copyOf(parts));
    }

    /** The text of the content: the string itself, or the text parts joined without a separator. */
    default String text() {
        return switch (this) {
            case Text(var text) -> text;
            case Parts(var parts) ->
                parts.stream()
                        .filter(part -> part.text() != null)
                        .map(ContentPart::text)
                        .collect(Collectors.joining());
        };
    }

    final class Writer extends JsonSerializer<Content> {
        @Override
        public void serialize(Content content, JsonGenerator out, SerializerProvider provider) throws IOException {
            switch (content) {
                case Text(var text) -> out.writeString(text);
                case Parts(var parts) -> provider.defaultSerializeValue(parts, out);
            }
        }
    }

    final class Reader extends JsonDeserializer<Content> {
        @Override
        public Content deserialize(JsonParser in, DeserializationContext context) throws IOException {
            if (in.currentToken() == JsonToken.VALUE_STRING) return new Text(in.getText());
            if (in.currentToken() == JsonToken.START_ARRAY) {
                CollectionType type = context.getTypeFactory().constructCollectionType(List.class, ContentPart.class);
                List<ContentPart> parts = context.readValue(in, type);
                return new Parts(parts);
            }
            return (Content) context.handleUnexpectedToken(Content.class, in);
        }
    }
}
