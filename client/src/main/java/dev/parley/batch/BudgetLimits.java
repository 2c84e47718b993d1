package dev.parley.batch;

import java.time.Duration;

/**
 * The limits a batch stays under: requests and tokens per minute ({@link Double#POSITIVE_INFINITY} for
 * none) and the burst, the time's worth of each limit that may be spent at once after an idle spell.
 *
 * <p>The defaults are those of OpenAI's {@code api_request_parallel_processor.py}: 1500 requests and
 * 125,000 tokens per minute.
 */
public record BudgetLimits(double requestsPerMinute, double tokensPerMinute, Duration burst) {
    public static final double DEFAULT_REQUESTS_PER_MINUTE = 1500;
    public static final double DEFAULT_TOKENS_PER_MINUTE = 125_000;
    public static final Duration DEFAULT_BURST = Duration.ofSeconds(1);

    public BudgetLimits {
        if (!(requestsPerMinute > 0))
            throw new IllegalArgumentException("requests per minute must be > 0, got " + requestsPerMinute);
        if (!(tokensPerMinute > 0))
            throw new IllegalArgumentException("tokens per minute must be > 0, got " + tokensPerMinute);
        if (burst.isNegative() || burst.isZero()) throw new IllegalArgumentException("burst must be > 0, got " + burst);
    }

    public static BudgetLimits defaults() {
        return new BudgetLimits(DEFAULT_REQUESTS_PER_MINUTE, DEFAULT_TOKENS_PER_MINUTE, DEFAULT_BURST);
    }

    public static BudgetLimits unlimited() {
        return new BudgetLimits(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, DEFAULT_BURST);
    }

    public BudgetLimits withRequestsPerMinute(double perMinute) {
        return new BudgetLimits(perMinute, tokensPerMinute, burst);
    }

    public BudgetLimits withTokensPerMinute(double perMinute) {
        return new BudgetLimits(requestsPerMinute, perMinute, burst);
    }

    public BudgetLimits withBurst(Duration burst) {
        return new BudgetLimits(requestsPerMinute, tokensPerMinute, burst);
    }
}
