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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;

/** One input's vector in an {@link EmbeddingList}: {@code object} is {@code embedding}, {@code index} the input's. */
public record Embedding(String object, int index, Embedding.Vector embedding) {

    /** The vector of input {@code index}, as floats or, with {@code base64}, as OpenAI's base64 string. */
    public static Embedding of(int index, float[] vector, boolean base64) {
        return new Embedding("embedding", index, base64 ? Vector.Base64.of(vector) : new Vector.Floats(vector));
    }

    /** The vector as floats, whichever way it was written. */
    public float[] floats() {
        return embedding.floats();
    }

    /**
     * {@code embedding}: a JSON array of numbers, or (with {@code encoding_format} {@code base64}) a string holding
     * the base64 of the vector's little-endian float32 bytes, four per dimension.
     */
    @JsonSerialize(using = Vector.Writer.class)
    @JsonDeserialize(using = Vector.Reader.class)
    public sealed interface Vector {
        float[] floats();

        /** The numbers themselves. Compared by identity, as arrays are. */
        record Floats(float[] floats) implements Vector {}

        /** The base64 string, exactly as written. */
        record Base64(String data) implements Vector {
            static Base64 of(float[] vector) {
                ByteBuffer bytes =
                        ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                bytes.asFloatBuffer().put(vector);
                return new Base64(java.util.Base64.getEncoder().encodeToString(bytes.array()));
            }

            /**
             * @throws IllegalArgumentException when {@code data} is not base64 of whole float32 values
             */
            @Override
            public float[] floats() {
                byte[] bytes = java.util.Base64.getDecoder().decode(data);
                if (bytes.length % Float.BYTES != 0) {
                    throw new IllegalArgumentException("%d bytes are not whole float32 values".formatted(bytes.length));
                }
                float[] vector = new float[bytes.length / Float.BYTES];
                ByteBuffer.wrap(bytes)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .asFloatBuffer()
                        .get(vector);
                return vector;
            }
        }

        final class Writer extends JsonSerializer<Vector> {
            @Override
            public void serialize(Vector vector, JsonGenerator out, SerializerProvider provider) throws IOException {
                switch (vector) {
                    case Floats(var floats) -> {
                        out.writeStartArray(floats, floats.length);
                        for (float value : floats) out.writeNumber(value);
                        out.writeEndArray();
                    }
                    case Base64(var data) -> out.writeString(data);
                }
            }
        }

        final class Reader extends JsonDeserializer<Vector> {
            @Override
            public Vector deserialize(JsonParser in, DeserializationContext context) throws IOException {
                if (in.currentToken() == JsonToken.VALUE_STRING) return new Base64(in.getText());
                if (in.currentToken() != JsonToken.START_ARRAY) {
                    return (Vector) context.handleUnexpectedToken(Vector.class, in);
                }
                JsonNode array = context.readTree(in);
                float[] floats = new float[array.size()];
                for (int i = 0; i < floats.length; i++) {
                    if (!array.get(i).isNumber()) {
                        return (Vector) context.reportInputMismatch(Vector.class, "expected an array of numbers");
                    }
                    floats[i] = array.get(i).floatValue();
                }
                return new Floats(floats);
            }
        }
    }
}
