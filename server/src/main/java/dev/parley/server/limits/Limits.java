package dev.parley.server.limits;

import dev.parley.limits.TokenBucket;
import java.time.Duration;

/**
 * One key's budgets: requests and tokens per minute, and optionally per day (null: no daily budget).
 * Each is a {@link TokenBucket} that refills continuously over its window.
 */
public record Limits(long requestsPerMinute, long tokensPerMinute, Long requestsPerDay, Long tokensPerDay) {

    public Limits {
        positive("rpm", requestsPerMinute);
        positive("tpm", tokensPerMinute);
        if (requestsPerDay != null) positive("rpd", requestsPerDay);
        if (tokensPerDay != null) positive("tpd", tokensPerDay);
    }

    public static Limits perMinute(long requests, long tokens) {
        return new Limits(requests, tokens, null, null);
    }

    /** The limit of {@code budget}; 0 when this key has no such budget. */
    public long of(Budget budget) {
        return switch (budget) {
            case RPM -> requestsPerMinute;
            case TPM -> tokensPerMinute;
            case RPD -> requestsPerDay == null ? 0 : requestsPerDay;
            case TPD -> tokensPerDay == null ? 0 : tokensPerDay;
        };
    }

    /** The bucket of {@code budget}, or null when this key has no such budget. */
    TokenBucket bucket(Budget budget) {
        long limit = of(budget);
        return limit == 0 ? null : new TokenBucket(limit, budget.window());
    }

    private static void positive(String name, long value) {
        if (value < 1) throw new IllegalArgumentException(name + " must be at least 1, got " + value);
    }

    @Override
    public String toString() {
        return "rpm=%d tpm=%d rpd=%s tpd=%s"
                .formatted(
                        requestsPerMinute,
                        tokensPerMinute,
                        requestsPerDay == null ? "-" : requestsPerDay,
                        tokensPerDay == null ? "-" : tokensPerDay);
    }

    /** The four budgets, in the order the Redis script keeps them; the minute ones are the ones in headers. */
    public enum Budget {
        RPM("requests", "requests per min (RPM)", Duration.ofMinutes(1)),
        TPM("tokens", "tokens per min (TPM)", Duration.ofMinutes(1)),
        RPD("requests", "requests per day (RPD)", Duration.ofDays(1)),
        TPD("tokens", "tokens per day (TPD)", Duration.ofDays(1));

        private final String type;
        private final String wording;
        private final Duration window;

        Budget(String type, String wording, Duration window) {
            this.type = type;
            this.wording = wording;
            this.window = window;
        }

        /** The error {@code type} of a 429 from this budget: {@code requests} or {@code tokens}. */
        public String type() {
            return type;
        }

        /** As OpenAI names it in a 429's message, e.g. {@code tokens per min (TPM)}. */
        public String wording() {
            return wording;
        }

        public Duration window() {
            return window;
        }

        boolean countsRequests() {
            return this == RPM || this == RPD;
        }
    }
}
