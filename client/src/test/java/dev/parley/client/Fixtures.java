package dev.parley.client;

import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.function.UnaryOperator;
import java.util.random.RandomGenerator;

/** Requests, answers and a client wired to a {@link ScriptedServer} with recorded waits. */
final class Fixtures {
    static final Instant NOW = Instant.parse("2026-11-25T20:00:00Z");
    /** nextDouble() of exactly 0.5: every backoff is half its ceiling. */
    static final RandomGenerator HALF = () -> Long.MIN_VALUE;

    static final String COMPLETION = """
            {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"logprobs":null,"finish_reason":"stop"}],
             "usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}""";

    static final String RATE_LIMITED = """
            {"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}""";

    static final String NO_QUOTA = """
            {"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}""";

    static final String SERVER_ERROR = """
            {"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}""";

    static final String OVERLOADED = """
            {"error":{"message":"The engine is currently overloaded","type":"server_error","param":null,"code":null}}""";

    private Fixtures() {}

    static ChatCompletionRequest hello() {
        return ChatCompletionRequest.builder("gpt-4o-mini")
                .messages(ChatMessage.user("Hi"))
                .build();
    }

    /** A data line of one content chunk. */
    static String chunk(String content) {
        return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"},\"finish_reason\":null}]}\n\n";
    }

    static ParleyClient client(ScriptedServer server, Waits waits) {
        return client(server, waits, options -> options);
    }

    static ParleyClient client(ScriptedServer server, Waits waits, UnaryOperator<ClientOptions.Builder> tweak) {
        var options = ClientOptions.builder(name -> null)
                .baseUrl(server.baseUrl())
                .apiKey("sk-test")
                .clock(Clock.fixed(NOW, ZoneOffset.UTC))
                .sleeper(waits)
                .random(HALF);
        return ParleyClient.create(tweak.apply(options).build());
    }
}
