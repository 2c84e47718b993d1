package dev.parley.cli;

import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The connection options of the one-request commands, with their retries. */
final class ClientFlags {

    @Mixin
    ConnectionFlags connection;

    @Option(
            names = "--max-retries",
            paramLabel = "N",
            description = "Retries of a failed request (default: ${DEFAULT-VALUE}).")
    int maxRetries = ClientOptions.DEFAULT_MAX_RETRIES;

    ParleyClient client() {
        return ParleyClient.create(connection.options().maxRetries(maxRetries).build());
    }
}
