/**
 * The rate-limit vocabulary both sides of the wire share: OpenAI's durations ({@code 6m0s}), the
 * {@code x-ratelimit-*} headers as a {@link dev.parley.limits.RateLimitSnapshot}, and the
 * {@code retry-after-ms} / {@code retry-after} waits of {@link dev.parley.limits.RetryAfter}.
 *
 * <p>Headers are given as a map from name to values, as {@code java.net.http.HttpHeaders#map()} has them;
 * names are matched ignoring case. Every parameter and return value is non-null unless documented
 * otherwise; a header that is absent or unreadable is a {@code null} component.
 */
package dev.parley.limits;
