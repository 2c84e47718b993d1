package dev.parley.batch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;

/** One checked request of a batch, for one of its endpoints. */
sealed interface BatchRequest {
    String model();

    record Chat(ChatCompletionRequest request) implements BatchRequest {
        @Override
        public String model() {
            return request.model();
        }
    }

    record Completion(CompletionRequest request) implements BatchRequest {
        @Override
        public String model() {
            return request.model();
        }
    }

    /**
     * A Responses API request, sent as the line's body is: Parley's records do not model it, and the server checks
     * it. Its {@code model} is a non-empty string and its {@code input} is there.
     */
    record Responses(ObjectNode body) implements BatchRequest {
        @Override
        public String model() {
            return body.get("model").asText();
        }
    }
}
