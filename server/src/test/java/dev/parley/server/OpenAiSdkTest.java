package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.CompletionUsage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** OpenAI's own Java SDK (com.openai:openai-java) against the server with the demo model. */
@Timeout(120)
class OpenAiSdkTest {
    static Served served;
    static OpenAIClient openai;

    @BeforeAll
    static void start() {
        served = Served.demo(256);
        openai = served.sdk();
    }

    @AfterAll
    static void stop() {
        openai.close();
        served.close();
    }

    static ChatCompletionCreateParams.Builder onceUponATime() {
        return ChatCompletionCreateParams.builder()
                .model("demo")
                .addUserMessage("Once upon a time")
                .temperature(0.0)
                .maxCompletionTokens(20);
    }

    @Test
    void theSdksChatCallGetsACompletion() {
        ChatCompletion completion =
                openai.chat().completions().create(onceUponATime().build());

        assertThat(completion.id()).startsWith("chatcmpl-");
        assertThat(completion.model()).isEqualTo("demo");
        assertThat(completion.choices()).hasSize(1);
        ChatCompletion.Choice choice = completion.choices().getFirst();
        assertThat(choice.message().content())
                .hasValueSatisfying(text -> assertThat(text).isNotBlank());
        assertThat(choice.finishReason().asString()).isIn("stop", "length");
        CompletionUsage usage = completion.usage().orElseThrow();
        assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + usage.completionTokens());
    }

    @Test
    void theSdksStreamingCallGetsTheSameText() {
        String whole = openai.chat()
                .completions()
                .create(onceUponATime().build())
                .choices()
                .getFirst()
                .message()
                .content()
                .orElseThrow();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = openai.chat()
                .completions()
                .createStreaming(onceUponATime()
                        .streamOptions(com.openai.models.chat.completions.ChatCompletionStreamOptions.builder()
                                .includeUsage(true)
                                .build())
                        .build())) {
            stream.stream().forEach(chunks::add);
        }
        StringBuilder text = new StringBuilder();
        for (ChatCompletionChunk chunk : chunks) {
            for (ChatCompletionChunk.Choice choice : chunk.choices())
                choice.delta().content().ifPresent(text::append);
        }
        assertThat(text.toString()).isEqualTo(whole);
        assertThat(chunks)
                .extracting(ChatCompletionChunk::id)
                .containsOnly(chunks.getFirst().id());
        assertThat(chunks.getLast().usage()).isPresent();
        assertThat(chunks.stream()
                        .flatMap(c -> c.choices().stream())
                        .filter(c -> c.finishReason().isPresent()))
                .hasSize(1);
    }
}
