package dev.parley.cli;

import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import picocli.CommandLine.Option;

/** The connection options every command that talks to a server shares. */
final class ClientFlags {

    @Option(names = "--base-url", paramLabel = "URL",
            description = "Server URL up to the version, e.g. http://127.0.0.1:8080/v1 (default: $OPENAI_BASE_URL, else OpenAI's).")
    String baseUrl;

    @Option(names = "--api-key", paramLabel = "KEY", description = "API key (default: $OPENAI_API_KEY).")
    String apiKey;

    @Option(names = "--max-retries", paramLabel = "N", description = "Retries of a failed request (default: ${DEFAULT-VALUE}).")
    int maxRetries = ClientOptions.DEFAULT_MAX_RETRIES;

    ParleyClient client() {
        var options = ClientOptions.builder().maxRetries(maxRetries);
        if (baseUrl != null) options.baseUrl(baseUrl);
        if (apiKey != null) options.apiKey(apiKey);
        return ParleyClient.create(options.build());
    }
}
