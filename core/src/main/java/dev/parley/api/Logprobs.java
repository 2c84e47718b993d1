package dev.parley.api;

import java.util.List;

/** {@code choices[i].logprobs} of a chat answer: one entry per generated token. */
public record Logprobs(List<TokenLogprob> content, List<TokenLogprob> refusal) {

    public static Logprobs of(List<TokenLogprob> content) {
        return new Logprobs(content, null);
    }

    /**
     * One token with its log-probability, its UTF-8 bytes (a token may hold part of a character), and the
     * most likely alternatives at its position ({@code top_logprobs}, empty when none were asked for).
     */
    public record TokenLogprob(String token, double logprob, List<Integer> bytes, List<TopLogprob> topLogprobs) {}

    /** An alternative token at one position. */
    public record TopLogprob(String token, double logprob, List<Integer> bytes) {}
}
