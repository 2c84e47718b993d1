package dev.parley.server.limits;

import dev.parley.limits.TokenBucket;
import dev.parley.server.limits.Limits.Budget;
import java.time.Duration;

/**
 * The admission rules over one key's four buckets, already refilled to now. {@code limiter.lua} is the
 * same rules for Redis, line for line; change both together.
 *
 * <ol>
 *   <li>Every request budget needs one token; if one lacks it the request is {@link Decision.Limited} by the
 *       budget that refills last, and nothing is taken.
 *   <li>The request token is taken: from here on a refusal still costs it, as at OpenAI.
 *   <li>An estimate larger than a token budget's whole limit is {@link Decision.TooLarge}.
 *   <li>Every token budget needs the estimate; if one lacks it, {@link Decision.Limited} by the one that
 *       refills last.
 *   <li>Otherwise the estimate is taken from every token budget: {@link Decision.Admitted}.
 * </ol>
 *
 * Settling adds back what was reserved but not used (or takes what was used beyond it), capped at the limit.
 */
final class Rules {
    static final Budget[] BUDGETS = Budget.values();
    private static final Budget[] REQUESTS = {Budget.RPM, Budget.RPD};
    private static final Budget[] TOKENS = {Budget.TPM, Budget.TPD};

    private Rules() {}

    static Decision admit(Limits limits, double[] level, long tokens) {
        Decision limited = shortest(limits, level, REQUESTS, 1);
        if (limited != null) return limited;
        for (Budget b : REQUESTS) if (limits.of(b) > 0) level[b.ordinal()] -= 1;
        for (Budget b : TOKENS) {
            if (limits.of(b) > 0 && tokens > limits.of(b))
                return new Decision.TooLarge(b, tokens, levels(limits, level));
        }
        limited = shortest(limits, level, TOKENS, tokens);
        if (limited != null) return limited;
        for (Budget b : TOKENS) if (limits.of(b) > 0) level[b.ordinal()] -= tokens;
        return new Decision.Admitted(levels(limits, level));
    }

    /** {@code unused} is reserved minus used: positive gives tokens back, negative takes more. */
    static Decision.Levels settle(Limits limits, double[] level, long unused) {
        for (Budget b : TOKENS) {
            if (limits.of(b) > 0) level[b.ordinal()] = Math.min(limits.of(b), level[b.ordinal()] + unused);
        }
        return levels(limits, level);
    }

    /** The budget among {@code budgets} that lacks {@code wanted} for longest, or null when all have it. */
    private static Decision shortest(Limits limits, double[] level, Budget[] budgets, long wanted) {
        Budget worst = null;
        long wait = 0;
        for (Budget b : budgets) {
            TokenBucket bucket = limits.bucket(b);
            if (bucket == null || level[b.ordinal()] >= wanted) continue;
            long micros = bucket.microsUntil(level[b.ordinal()], wanted);
            if (worst == null || micros > wait) {
                worst = b;
                wait = micros;
            }
        }
        if (worst == null) return null;
        long used = (long) Math.ceil(limits.of(worst) - level[worst.ordinal()]);
        return new Decision.Limited(worst, used, wanted, micros(wait), levels(limits, level));
    }

    static Decision.Levels levels(Limits limits, double[] level) {
        TokenBucket rpm = limits.bucket(Budget.RPM);
        TokenBucket tpm = limits.bucket(Budget.TPM);
        double requests = level[Budget.RPM.ordinal()];
        double tokens = level[Budget.TPM.ordinal()];
        return new Decision.Levels(
                rpm.remaining(requests),
                tpm.remaining(tokens),
                reset(rpm.microsUntilFull(requests)),
                reset(tpm.microsUntilFull(tokens)));
    }

    /** A reset as headers show it: rounded up to the millisecond ({@code 2.1s}, not {@code 2.100371s}). */
    static Duration reset(long micros) {
        return Duration.ofMillis((micros + 999) / 1_000);
    }

    static Duration micros(long micros) {
        return Duration.ofNanos(micros * 1_000);
    }
}
