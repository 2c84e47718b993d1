import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.client.RequestOptions;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Parley's client on its own: three questions at once, asynchronously, over your own HttpClient, with a
 * field the request records do not model (top_k) and a timeout of their own. Configured by
 * OPENAI_BASE_URL and OPENAI_API_KEY; the model is PARLEY_MODEL, else the server's first.
 */
public class Hello {
    public static void main(String[] args) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        try (var client = ParleyClient.create(ClientOptions.builder().build(), http)) {
            String model = System.getenv("PARLEY_MODEL") != null
                    ? System.getenv("PARLEY_MODEL")
                    : client.models().data().getFirst().id();
            var call = RequestOptions.builder()
                    .extraBody("top_k", 40)
                    .timeout(Duration.ofSeconds(30))
                    .build();
            List<CompletableFuture<ChatCompletion>> answers = List.of("Once upon a time", "Lily and Tom", "The sun").stream()
                    .map(start -> ChatCompletionRequest.builder(model)
                            .messages(ChatMessage.user(start))
                            .maxTokens(12)
                            .temperature(0.0)
                            .build())
                    .map(request -> client.chatAsync(request, call))
                    .toList();
            for (var answer : answers) System.out.println(answer.join().text().replace('\n', ' '));
        }
    }
}
