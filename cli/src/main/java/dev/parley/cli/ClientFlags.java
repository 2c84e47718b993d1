package dev.parley.cli;

import dev.parley.api.ApiException;
import dev.parley.api.Model;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.client.TransportException;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The connection options of the one-request commands, with their retries. */
final class ClientFlags {

    @Mixin
    ConnectionFlags connection;

    @Option(
            names = "--max-retries",
            paramLabel = "N",
            converter = Retries.class,
            description = "Retries of a failed request, 0 to " + Retries.MOST + " (default: ${DEFAULT-VALUE}).")
    int maxRetries = ClientOptions.DEFAULT_MAX_RETRIES;

    /** A count of retries within reason: with backoff capped at seconds each, a hundred already take minutes. */
    static final class Retries implements CommandLine.ITypeConverter<Integer> {
        static final int MOST = 100;

        @Override
        public Integer convert(String value) {
            return (int) WholeNumbers.parse(value, 0, MOST);
        }
    }

    ClientOptions options() {
        return connection.options().maxRetries(maxRetries).build();
    }

    ParleyClient client() {
        return ParleyClient.create(options());
    }

    /**
     * The model to use when none is given: the server's, when it serves exactly one.
     *
     * @throws IllegalArgumentException when it serves none or several (naming them)
     */
    static String serversModel(ParleyClient client) {
        List<String> ids = client.models().data().stream().map(Model::id).toList();
        if (ids.size() == 1) return ids.getFirst();
        if (ids.isEmpty()) throw new IllegalArgumentException("the server lists no models; name one with --model");
        throw new IllegalArgumentException(
                "the server serves %d models; pick one with --model: %s".formatted(ids.size(), String.join(", ", ids)));
    }

    /**
     * A hint for a 404 that is not about a model: when the server's {@code /models} is 404 too, the base URL
     * most likely lacks its version ({@code /v1}). Empty when there is nothing to suggest.
     */
    static String notFoundHint(ParleyClient client, String baseUrl, RuntimeException e) {
        if (!(e instanceof ApiException api)
                || api.status() != 404
                || "model_not_found".equals(api.error().code())) return "";
        return missingV1(client, baseUrl).map(hint -> "; " + hint).orElse("");
    }

    /**
     * When the base URL does not end in {@code /v1} and the server has no {@code /models} there: a hint to
     * add it. Empty otherwise, and when the server cannot be reached (that is reported as it is).
     */
    static Optional<String> missingV1(ParleyClient client, String baseUrl) {
        String base = baseUrl.replaceAll("/+$", "");
        if (base.endsWith("/v1")) return Optional.empty();
        try {
            client.models();
            return Optional.empty();
        } catch (ApiException models) {
            if (models.status() != 404) return Optional.empty();
        } catch (TransportException | IllegalArgumentException unusable) {
            return Optional.empty();
        }
        return Optional.of("the server has no %s/models: is /v1 missing from the base URL? Try --base-url %s/v1"
                .formatted(base, base));
    }
}
