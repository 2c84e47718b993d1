package dev.parley.client;

import dev.parley.api.ApiException;
import dev.parley.api.QuotaExceededException;
import dev.parley.api.RateLimitException;
import dev.parley.limits.RetryAfter;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Which failures are worth another attempt, and how long to wait before it. */
record RetryRules(int maxRetries, Backoff backoff, Duration maxWait, Clock clock) {

    static RetryRules from(ClientOptions options) {
        return new RetryRules(options.maxRetries(), Backoff.from(options), options.maxRetryWait(), options.clock());
    }

    /**
     * 408, 409, 429 and 5xx are transient; a used-up quota is not, whatever its status. A server's
     * {@code x-should-retry} header, as OpenAI sends, overrides the status.
     */
    boolean retryable(ApiException e) {
        List<String> shouldRetry = e.headers().get("x-should-retry");
        if (shouldRetry != null && !shouldRetry.isEmpty())
            return Boolean.parseBoolean(shouldRetry.getFirst().strip());
        if (e instanceof QuotaExceededException) return false;
        int status = e.status();
        return status == 408 || status == 409 || status == 429 || status >= 500;
    }

    /** The wait before retry {@code retry} (from 1) after {@code failure}, null after a connection failure. */
    Duration wait(int retry, ApiException failure) {
        Optional<Duration> asked = switch (failure) {
            case null -> Optional.empty();
            case RateLimitException limited -> limited.retryAfter(clock.instant());
            default -> RetryAfter.parse(failure.headers(), clock.instant());
        };
        Duration wait = asked.orElseGet(() -> backoff.delay(retry));
        return wait.compareTo(maxWait) > 0 ? maxWait : wait;
    }
}
