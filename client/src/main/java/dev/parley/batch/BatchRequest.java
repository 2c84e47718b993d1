package dev.parley.batch;

import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;

/** One checked request of a batch, for one of the two endpoints. */
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
}
