package dev.parley.server.engine.proxy;

import dev.parley.server.limits.Limits;

/**
 * One server of an upstream fleet as configured: its base URL ({@code https://host/v1}), the API key it takes
 * (null: the fleet's), and the budgets Parley keeps it within (null: none of its own; its {@code x-ratelimit-*}
 * headers pace it either way).
 */
public record UpstreamReplica(String baseUrl, String apiKey, Limits limits) {

    public UpstreamReplica {
        if (baseUrl == null || !baseUrl.matches("https?://[^\\s]+"))
            throw new IllegalArgumentException("an upstream base URL is http(s)://host[:port][/path], not " + baseUrl);
    }

    /** A replica with the fleet's key and no budgets of its own. */
    public static UpstreamReplica of(String baseUrl) {
        return new UpstreamReplica(baseUrl, null, null);
    }
}
