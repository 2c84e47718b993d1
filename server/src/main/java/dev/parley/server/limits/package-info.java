/**
 * The limits stage: per-key token buckets for requests and tokens per minute (and optionally per day),
 * admitted before the engine runs and settled against real usage after, with OpenAI's 429s and
 * {@code x-ratelimit-*} headers ({@link dev.parley.server.limits.RateLimits}).
 *
 * <p>The buckets live in memory or in Redis ({@link dev.parley.server.limits.Limiter}). The Redis limiter
 * is one Lua script ({@code limiter.lua}) rather than Bucket4j's Lettuce integration (not benchmarked against it):
 * one script decides all four buckets of a key atomically in one round trip (Bucket4j takes one
 * compare-and-swap per bucket, so a request-then-tokens decision is two), settles by adding back in the
 * same script, and reports each bucket's time-to-full, which the reset headers need and Bucket4j's probes
 * do not give. The rules are {@link dev.parley.server.limits.Rules}, mirrored line for line by the script,
 * and one test runs against both.
 */
package dev.parley.server.limits;
