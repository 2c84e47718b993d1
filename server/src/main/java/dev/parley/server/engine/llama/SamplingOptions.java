package dev.parley.server.engine.llama;

import java.util.Map;

/**
 * How the next token is picked: by the scheduler's {@link TokenSampler}, or a native {@link Sampler} chain;
 * checked by both.
 *
 * <p>Order: logit bias, presence/frequency penalties, then either greedy (temperature 0, or top-p 0) or a
 * seeded random draw at the temperature within the top-p nucleus. (The native chain also knows top-k and
 * min-p, which no OpenAI request asks for.)
 *
 * @param temperature 0 picks the most likely token (greedy); otherwise divides the logits, finite. Values
 *     below {@value #GREEDY_BELOW} count as 0: dividing by them would overflow the logits to infinity
 * @param topP nucleus sampling mass, in [0, 1]; 1 disables, 0 keeps only the most likely token (greedy), as
 *     OpenAI accepts it
 * @param topK keep the k most likely tokens, 0 disables
 * @param minP drop tokens below minP × the top probability, in [0, 1); 0 disables
 * @param seed random seed; the same seed over the same logits draws the same tokens (the native chain folds
 *     it to the 32 bits llama.cpp takes)
 * @param presencePenalty subtracted once from every token already generated (OpenAI's meaning), finite
 * @param frequencyPenalty subtracted per occurrence of a token already generated, finite
 * @param logitBias added to the logits of the given token ids before sampling; -100 or 100 effectively bans
 *     or forces a token; values finite
 */
public record SamplingOptions(
        double temperature,
        double topP,
        int topK,
        double minP,
        long seed,
        double presencePenalty,
        double frequencyPenalty,
        Map<Integer, Double> logitBias) {

    /** Temperatures below this sample greedily. */
    public static final double GREEDY_BELOW = 1e-4;

    public SamplingOptions {
        if (logitBias == null) {
            logitBias = Map.of();
        } else {
            logitBias.forEach((token, bias) ->
                    Checks.require(token != null && bias != null, "logit bias entries must not be null"));
            logitBias = Map.copyOf(logitBias);
        }
    }

    /**
     * Whether these options always pick the most likely token: a temperature that counts as 0, or {@code top_p}
     * 0 (a nucleus of the top token alone, as OpenAI accepts it).
     */
    public boolean picksMostLikely() {
        return temperature < GREEDY_BELOW || topP <= 0;
    }

    /** Always the most likely token. */
    public static SamplingOptions greedy() {
        return new SamplingOptions(0, 1, 0, 0, 0, 0, 0, Map.of());
    }

    /** Draws from the full distribution at temperature 1 with the given seed. */
    public static SamplingOptions seeded(long seed) {
        return new SamplingOptions(1, 1, 0, 0, seed, 0, 0, Map.of());
    }

    public SamplingOptions withTemperature(double temperature) {
        return new SamplingOptions(temperature, topP, topK, minP, seed, presencePenalty, frequencyPenalty, logitBias);
    }

    public SamplingOptions withTopP(double topP) {
        return new SamplingOptions(temperature, topP, topK, minP, seed, presencePenalty, frequencyPenalty, logitBias);
    }

    public SamplingOptions withTopK(int topK) {
        return new SamplingOptions(temperature, topP, topK, minP, seed, presencePenalty, frequencyPenalty, logitBias);
    }

    public SamplingOptions withMinP(double minP) {
        return new SamplingOptions(temperature, topP, topK, minP, seed, presencePenalty, frequencyPenalty, logitBias);
    }

    public SamplingOptions withSeed(long seed) {
        return new SamplingOptions(temperature, topP, topK, minP, seed, presencePenalty, frequencyPenalty, logitBias);
    }

    public SamplingOptions withPenalties(double presencePenalty, double frequencyPenalty) {
        return new SamplingOptions(temperature, topP, topK, minP, seed, presencePenalty, frequencyPenalty, logitBias);
    }

    public SamplingOptions withLogitBias(Map<Integer, Double> logitBias) {
        return new SamplingOptions(temperature, topP, topK, minP, seed, presencePenalty, frequencyPenalty, logitBias);
    }

    void check(int vocabSize) {
        Checks.require(
                Double.isFinite(temperature) && temperature >= 0,
                "temperature must be finite and >= 0, got %s",
                temperature);
        Checks.require(topP >= 0 && topP <= 1, "topP must be in [0, 1], got %s", topP);
        Checks.require(topK >= 0, "topK must be >= 0, got %d", topK);
        Checks.require(minP >= 0 && minP < 1, "minP must be in [0, 1), got %s", minP);
        Checks.require(Double.isFinite(presencePenalty), "presencePenalty must be finite, got %s", presencePenalty);
        Checks.require(Double.isFinite(frequencyPenalty), "frequencyPenalty must be finite, got %s", frequencyPenalty);
        logitBias.forEach((token, bias) -> {
            Checks.token(token, vocabSize);
            Checks.require(Double.isFinite(bias), "logit bias of token %d must be finite, got %s", token, bias);
        });
    }
}
