package dev.parley.cli;

import dev.parley.client.ClientOptions;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where the server is and how to authenticate: shared by every command that talks to one. */
final class ConnectionFlags {

    @Option(
            names = "--base-url",
            paramLabel = "URL",
            description =
                    "Server URL up to the version, e.g. http://127.0.0.1:8080/v1 (default: $OPENAI_BASE_URL, else OpenAI's).")
    String baseUrl;

    @Option(names = "--api-key", paramLabel = "KEY", description = "API key (default: $OPENAI_API_KEY).")
    String apiKey;

    @Option(
            names = "--ca-cert",
            paramLabel = "FILE",
            description = "Trust the certificates in this PEM file (a private authority's, or a server's self-signed"
                    + " one) instead of the JDK's authorities (default: $SSL_CERT_FILE, as OpenAI's Python SDK reads"
                    + " it; else the JDK's).")
    Path caCert;

    /** Options from the environment, overridden by the flags given. */
    ClientOptions.Builder options() {
        var options = ClientOptions.builder();
        if (baseUrl != null) options.baseUrl(baseUrl);
        if (apiKey != null) options.apiKey(apiKey);
        String fromEnvironment = System.getenv("SSL_CERT_FILE");
        if (caCert != null) options.caCertificates(caCert);
        else if (fromEnvironment != null && !fromEnvironment.isBlank())
            options.caCertificates(Path.of(fromEnvironment));
        return options;
    }
}
