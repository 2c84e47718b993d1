package dev.parley.server.http;

import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;
import dev.parley.api.Json;
import dev.parley.api.TextCompletion;
import java.util.Map;

/**
 * A request of each kind the generating routes read and an answer of each kind they write, as the server's JSON
 * writes them: {@link Json#prepare prepared} in the background after a server's first answer, so that the first
 * chat or completion request does not wait for Jackson and the JDK to set up these types, and neither does that
 * first answer, often a health check, or the start. On the demo model, a second after a health check, the first
 * chat request took 78 ms instead of 134 and the first completion 59 ms instead of 141 (medians of 6-8 starts).
 */
final class WireExamples {
    private WireExamples() {}

    static final Map<Class<?>, String> EXAMPLES = Map.of(
            ChatCompletionRequest.class,
            """
            {"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],\
            "max_tokens":8,"stream":true,"stream_options":{"include_usage":true}}""",
            CompletionRequest.class,
            """
            {"model":"m","prompt":"Once upon a time","max_tokens":8}""",
            ChatCompletion.class,
            """
            {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,\
            "message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],\
            "usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}""",
            ChatCompletionChunk.class,
            """
            {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,\
            "delta":{"content":"Hello"},"finish_reason":null}]}""",
            TextCompletion.class,
            """
            {"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"text":" there",\
            "index":0,"logprobs":null,"finish_reason":"length"}],\
            "usage":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}}""");

    /** Prepares every example's type; see {@link Json#prepare}. */
    static void prepare() {
        EXAMPLES.forEach(Json::prepare);
    }
}
