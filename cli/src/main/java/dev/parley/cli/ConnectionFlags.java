package dev.parley.cli;

import dev.parley.client.ClientOptions;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine;
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

    @Option(
            names = "--timeout",
            paramLabel = "SECONDS",
            converter = Seconds.class,
            description = "How long to wait for an answer to begin, and then between two events of a stream, before"
                    + " the attempt fails (and is retried as --max-retries allows); more than 0, at most 86400"
                    + " (default: 600).")
    Duration timeout;

    /** Seconds within a day, as a duration; fractions allowed. */
    static final class Seconds implements CommandLine.ITypeConverter<Duration> {
        static final double MOST = 86_400;

        @Override
        public Duration convert(String value) {
            double seconds;
            try {
                seconds = Double.parseDouble(value.strip());
            } catch (NumberFormatException e) {
                seconds = Double.NaN;
            }
            if (!(seconds > 0 && seconds <= MOST))
                throw new CommandLine.TypeConversionException(
                        "'%s' is not a number of seconds more than 0 and at most 86400".formatted(value));
            return Duration.ofNanos(Math.max(1, Math.round(seconds * 1e9)));
        }
    }

    /** Options from the environment, overridden by the flags given. */
    ClientOptions.Builder options() {
        var options = ClientOptions.builder();
        if (baseUrl != null) options.baseUrl(baseUrl);
        if (apiKey != null) options.apiKey(apiKey);
        if (timeout != null) options.timeout(timeout).streamIdleTimeout(timeout);
        String fromEnvironment = System.getenv("SSL_CERT_FILE");
        if (caCert != null) options.caCertificates(caCert);
        else if (fromEnvironment != null && !fromEnvironment.isBlank())
            options.caCertificates(Path.of(fromEnvironment));
        return options;
    }
}
