package dev.parley.server.engine.llama;

import dev.parley.api.Logprobs;
import dev.parley.api.TextCompletion;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Log-probabilities of a chosen token and its most likely alternatives, from raw logits (log-softmax). */
final class TokenProbabilities {
    private TokenProbabilities() {}

    /** {@code chosen} and the {@code top} most likely tokens (none when {@code top} is 0), most likely first. */
    static Logprobs.TokenLogprob of(LlamaModel model, float[] logits, int chosen, int top) {
        double max = Double.NEGATIVE_INFINITY;
        for (float logit : logits) max = Math.max(max, logit);
        double sum = 0;
        for (float logit : logits) sum += Math.exp(logit - max);
        double logSum = max + Math.log(sum);
        List<Logprobs.TopLogprob> alternatives = new ArrayList<>(top);
        for (int id : topIds(logits, top)) {
            byte[] bytes = model.tokenBytes(id);
            alternatives.add(new Logprobs.TopLogprob(text(bytes), logits[id] - logSum, unsigned(bytes)));
        }
        byte[] bytes = model.tokenBytes(chosen);
        return new Logprobs.TokenLogprob(text(bytes), logits[chosen] - logSum, unsigned(bytes), alternatives);
    }

    /**
     * The legacy arrays for an echoed prompt: one entry per prompt token; the first has no log-probability
     * and no alternatives, the others are {@code scores} in order. Offsets count from the start of
     * {@code echo}, the prompt's text: a SentencePiece vocabulary's tokens carry a space that the text drops
     * at its start, so the tokens' texts may run ahead of it by that much, and offsets never go below 0.
     */
    static TextCompletion.CompletionLogprobs echo(
            LlamaModel model, int[] prompt, String echo, List<Logprobs.TokenLogprob> scores) {
        var tokens = new ArrayList<String>(prompt.length);
        for (int token : prompt) tokens.add(text(model.tokenBytes(token)));
        var values = new ArrayList<Double>(prompt.length);
        var tops = new ArrayList<Map<String, Double>>(prompt.length);
        values.add(null);
        tops.add(null);
        for (Logprobs.TokenLogprob score : scores) {
            values.add(score.logprob());
            Map<String, Double> top = new LinkedHashMap<>();
            score.topLogprobs().forEach(t -> top.putIfAbsent(t.token(), t.logprob()));
            tops.add(top);
        }
        int offset = echo.length() - tokens.stream().mapToInt(String::length).sum();
        var offsets = new ArrayList<Integer>(prompt.length);
        for (String token : tokens) {
            offsets.add(Math.max(0, offset));
            offset += token.length();
        }
        return new TextCompletion.CompletionLogprobs(tokens, values, tops, offsets);
    }

    /** The ids of the {@code k} largest logits, largest first. */
    private static int[] topIds(float[] logits, int k) {
        k = Math.min(k, logits.length);
        if (k <= 0) return new int[0];
        int[] best = new int[k];
        int size = 0;
        for (int id = 0; id < logits.length; id++) {
            if (size < k) {
                best[size++] = id;
            } else if (logits[id] > logits[best[size - 1]]) {
                best[size - 1] = id;
            } else {
                continue;
            }
            for (int i = size - 1; i > 0 && logits[best[i]] > logits[best[i - 1]]; i--) {
                int t = best[i];
                best[i] = best[i - 1];
                best[i - 1] = t;
            }
        }
        return best;
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static List<Integer> unsigned(byte[] bytes) {
        List<Integer> values = new ArrayList<>(bytes.length);
        for (byte b : bytes) values.add(b & 0xff);
        return values;
    }
}
